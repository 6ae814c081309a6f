package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/lookup"
	"github.com/meterbridge/meterbridge/store"
)

// mappingView is the mapping form: which account item it maps, and the PSA lists read so
// far (companies matching what was typed, the chosen company's agreements, the chosen
// agreement's additions). Every step also works without JavaScript, as a GET of this page.
type mappingView struct {
	MappingID string
	Source    string
	AccountID string
	Item      string
	Account   *store.AccountItem
	Existing  *store.Mapping

	Query       string
	Companies   *lookup.CompanyPage
	CompanyID   int64
	Agreements  *lookup.AgreementList
	AgreementID int64
	Additions   *lookup.AdditionList
	AdditionID  int64
	// Problem is a look-up's failure, shown where its list would be.
	Problem string
	Tenant  string
}

// editMapping shows the form that maps an account item (new) or changes a mapping (edit).
func (c *Console) editMapping(g *gin.Context) {
	p := c.newPage(g, "Map an account", "mappings")
	v, ok := c.mappingForm(g, p)
	if !ok {
		return
	}
	p.Data = v
	c.render(g, http.StatusOK, "mapping_edit", p)
}

// mappingForm reads the form's state from the path and query (or, for a refused save, the
// posted form) and reads the PSA lists it needs.
func (c *Console) mappingForm(g *gin.Context, p *page) (*mappingView, bool) {
	ctx := g.Request.Context()
	get := func(k string) string {
		if p.Posted {
			return p.Form.Get(k)
		}
		return g.Query(k)
	}
	v := &mappingView{Tenant: g.Param("tenant"), Source: get("source"), AccountID: get("account"), Item: get("item"), Query: get("q")}
	v.CompanyID, _ = strconv.ParseInt(get("company"), 10, 64)
	v.AgreementID, _ = strconv.ParseInt(get("agreement"), 10, 64)
	v.AdditionID, _ = strconv.ParseInt(get("addition"), 10, 64)
	if id := g.Param("mapping"); id != "" {
		m, err := c.Store.GetMapping(ctx, v.Tenant, id)
		if err != nil {
			c.fail(g, err)
			return nil, false
		}
		p.Title = "Change a mapping"
		v.Existing, v.MappingID = &m, m.ID
		v.Source, v.AccountID, v.Item = m.Source, m.AccountID, m.Item
		if v.CompanyID == 0 && v.Query == "" && !p.Posted {
			// Start from the current target, so remapping changes only what differs.
			v.Query, v.CompanyID, v.AgreementID, v.AdditionID = m.TargetInfo.CompanyName, m.Target.CompanyID, m.Target.AgreementID, m.Target.AdditionID
		}
	} else if p.Posted {
		v.MappingID = p.Form.Get("mapping_id")
	}
	accounts, err := c.Store.ListAccounts(ctx, v.Tenant, store.AccountFilter{Source: v.Source})
	if err != nil {
		c.fail(g, err)
		return nil, false
	}
	for i, a := range accounts.Items {
		if a.AccountID == v.AccountID && a.Item == v.Item {
			v.Account = &accounts.Items[i]
		}
	}
	if v.Account == nil && v.Existing == nil {
		c.showError(g, http.StatusNotFound, "Account not found",
			"This account item is not among the vendor's accounts. Go back to Mappings and pick it from the list.")
		return nil, false
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if len([]rune(v.Query)) >= lookup.MinQueryLength {
		res, err := c.Lookup.Companies(lctx, v.Tenant, v.Query, 1)
		if err != nil {
			v.Problem = c.lookupProblem(g, err, "company")
		} else {
			v.Companies = &res
		}
	}
	if v.CompanyID > 0 && v.Problem == "" {
		res, err := c.Lookup.Agreements(lctx, v.Tenant, v.CompanyID)
		if err != nil {
			v.Problem = c.lookupProblem(g, err, "company")
		} else {
			v.Agreements = &res
		}
	}
	if v.AgreementID > 0 && v.Problem == "" {
		res, err := c.Lookup.Additions(lctx, v.Tenant, v.AgreementID)
		if err != nil {
			v.Problem = c.lookupProblem(g, err, "agreement")
		} else {
			v.Additions = &res
		}
	}
	return v, true
}

// lookupProblem is what a failed look-up tells the person: the API's message, with when to
// try again for a busy PSA.
func (c *Console) lookupProblem(g *gin.Context, err error, what string) string {
	pr := api.ExplainLookup(err, what)
	if pr.Status >= 500 && pr.RetryAfter == 0 && pr.Code == "internal" {
		c.Logger.Error("console: PSA look-up failed", "tenant", g.Param("tenant"), "err", err)
		return "The PSA could not be asked just now; try again."
	}
	msg := sentence(pr.Message)
	if pr.RetryAfter > 0 {
		msg += " Try again in " + waitWords(pr.RetryAfter) + "."
	}
	return msg
}
