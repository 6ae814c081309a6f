package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// saveMapping creates or replaces a mapping after the PSA confirms its target can bill
// (connect.Connector.SaveMapping, as the API's PUT /mappings/{id}).
func (c *Console) saveMapping(g *gin.Context) {
	p := c.newPage(g, "Map an account", "mappings")
	v := posted(g, p)
	tenantID := g.Param("tenant")
	source, account, item := v.Get("source"), v.Get("account"), v.Get("item")
	id := v.Get("mapping_id")
	if id == "" {
		id = store.MappingIDFor(source, account, item)
	}
	refuse := func(field, msg string, status int) {
		p.Errors[field] = msg
		if form, ok := c.mappingForm(g, p); ok {
			p.Data = form
			c.render(g, status, "mapping_edit", p)
		}
	}
	if source != store.RoleBackup && source != store.RoleLicenses {
		c.NotFound(g)
		return
	}
	if err := store.CheckMappingKey(source, account, item); err != nil {
		var fe *tenant.FieldError
		errors.As(err, &fe)
		refuse("", fe.Reason, http.StatusUnprocessableEntity)
		return
	}
	var target psa.Target
	var bad bool
	for _, f := range []struct {
		name string
		dst  *int64
		msg  string
	}{
		{"company", &target.CompanyID, "Choose the company"},
		{"agreement", &target.AgreementID, "Choose the agreement or contract"},
		{"addition", &target.AdditionID, "Choose the addition or service"},
	} {
		n, err := strconv.ParseInt(v.Get(f.name), 10, 64)
		if err != nil || n <= 0 {
			p.Errors[f.name] = f.msg
			bad = true
			continue
		}
		*f.dst = n
	}
	if bad {
		refuse("", "The mapping needs a company, an agreement and an addition", http.StatusUnprocessableEntity)
		return
	}
	res, err := c.Connector.SaveMapping(g.Request.Context(), store.Mapping{TenantID: tenantID, ID: id, Source: source, AccountID: account,
		Item: item, Target: target}, principal(g).Email, map[string]any{"request_id": g.Writer.Header().Get("X-Request-ID"), "via": "console"})
	switch {
	case errors.Is(err, store.ErrConflict):
		refuse("", "Another mapping already sends this account's "+itemWords(item)+" somewhere; change or delete that one", http.StatusConflict)
		return
	case errors.Is(err, store.ErrPSAChanged):
		refuse("", sentence(err.Error()), http.StatusConflict)
		return
	case err != nil:
		pr := api.ExplainPSA(err)
		if pr.Status >= 500 && pr.RetryAfter == 0 && pr.Code == "internal" {
			c.fail(g, err)
			return
		}
		msg := sentence(pr.Message)
		if pr.RetryAfter > 0 {
			msg += " Try again in " + waitWords(pr.RetryAfter) + "."
		}
		field := strings.TrimSuffix(strings.TrimPrefix(pr.Field, "target."), "_id")
		if field == "target" {
			field = ""
		}
		refuse(field, msg, pr.Status)
		return
	}
	verb := "changed"
	if res.Created {
		verb = "created"
	}
	c.adminAudit(g, "mapping."+map[bool]string{true: "created", false: "edited"}[res.Created], tenantID,
		"mapping "+id+" "+verb, map[string]any{"mapping_id": id, "target": res.Mapping.Target})
	i := res.Mapping.TargetInfo
	c.done(g, "ok", "Mapping "+verb+": "+res.Mapping.AccountID+" ("+itemWords(item)+") now goes to "+i.CompanyName+" / "+i.AgreementName+" / "+i.Product+".",
		"/tenants/"+tenantID+"/mappings")
}

// deleteMapping deletes a mapping after its confirmation (store.RemoveMapping).
func (c *Console) deleteMapping(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/mappings"
	m, err := c.Store.RemoveMapping(g.Request.Context(), g.Param("tenant"), g.Param("mapping"), principal(g).Email,
		map[string]any{"request_id": g.Writer.Header().Get("X-Request-ID"), "via": "console"})
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	c.adminAudit(g, "mapping.deleted", g.Param("tenant"), "mapping "+m.ID+" deleted", map[string]any{"mapping_id": m.ID})
	c.done(g, "ok", "Mapping deleted: "+m.AccountID+" ("+itemWords(m.Item)+") is unmapped now.", back)
}
