package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// The mapping form's lists, as htmx fragments: companies matching what is typed, a
// company's agreements, an agreement's additions. Each reads the lookup service (the API's
// own, cached briefly per tenant), never the JSON API.

// suggestCompanies answers the company suggestions for what was typed so far.
func (c *Console) suggestCompanies(g *gin.Context) {
	v := &mappingView{Tenant: g.Param("tenant"), Query: g.Query("q")}
	page, _ := strconv.Atoi(g.Query("page"))
	if page < 1 {
		page = 1
	}
	if len([]rune(v.Query)) >= 2 {
		ctx, cancel := context.WithTimeout(g.Request.Context(), 10*time.Second)
		defer cancel()
		res, err := c.Lookup.Companies(ctx, v.Tenant, v.Query, page)
		if err != nil {
			v.Problem = c.lookupProblem(g, err, "company")
		} else {
			v.Companies = &res
		}
	}
	c.fragment(g, http.StatusOK, "companies-answer", v)
}

// listAgreements answers the chosen company's agreements (contracts) that can hold a mapping.
func (c *Console) listAgreements(g *gin.Context) {
	v := &mappingView{Tenant: g.Param("tenant")}
	v.CompanyID, _ = strconv.ParseInt(g.Query("company"), 10, 64)
	if v.CompanyID > 0 {
		ctx, cancel := context.WithTimeout(g.Request.Context(), 10*time.Second)
		defer cancel()
		res, err := c.Lookup.Agreements(ctx, v.Tenant, v.CompanyID)
		if err != nil {
			v.Problem = c.lookupProblem(g, err, "company")
		} else {
			v.Agreements = &res
		}
	}
	c.fragment(g, http.StatusOK, "agreements-answer", v)
}

// listAdditions answers the chosen agreement's additions (contract services).
func (c *Console) listAdditions(g *gin.Context) {
	v := &mappingView{Tenant: g.Param("tenant")}
	v.CompanyID, _ = strconv.ParseInt(g.Query("company"), 10, 64)
	v.AgreementID, _ = strconv.ParseInt(g.Query("agreement"), 10, 64)
	if v.AgreementID > 0 {
		ctx, cancel := context.WithTimeout(g.Request.Context(), 10*time.Second)
		defer cancel()
		res, err := c.Lookup.Additions(ctx, v.Tenant, v.AgreementID)
		if err != nil {
			v.Problem = c.lookupProblem(g, err, "agreement")
		} else {
			v.Additions = &res
		}
	}
	c.fragment(g, http.StatusOK, "additions", v)
}
