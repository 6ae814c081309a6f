package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// credentials reads a provider's fields from the form as the flat JSON object
// connect.Prepare takes (empty optional fields left out).
func credentials(g *gin.Context, provider string) json.RawMessage {
	m := map[string]string{}
	for _, f := range credentialFields[provider] {
		if v := strings.TrimSpace(g.PostForm(f.Name)); v != "" {
			m[f.Name] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// prepare validates a connection's fields with the connector's own rules; a refused field
// is shown next to its input ("<provider>.<field>"), a URL the outbound policy refuses
// included.
func (c *Console) prepare(p *page, role, provider string, creds json.RawMessage) (connect.Prepared, bool) {
	prep, err := c.Connector.Prepare(role, provider, creds)
	if err == nil {
		return prep, true
	}
	var fe *tenant.FieldError
	if errors.As(err, &fe) && fe.Field != "" && fe.Field != "kind" {
		p.Errors[provider+"."+fe.Field] = fe.Reason
	} else {
		p.FormError = sentence(err.Error())
	}
	return prep, false
}

// savePSA stores the PSA connection (store.SetPSA, as the API's PUT /psa). Switching the
// kind of PSA needs the tenant's ID typed as confirmation, after the page has said what the
// switch deletes and resets.
func (c *Console) savePSA(g *gin.Context) {
	p := c.newPage(g, "Settings", "settings")
	posted(g, p)
	show := func(p *page, status int) { c.settingsPage(g, p, status) }
	kind := g.PostForm("kind")
	if kind != "connectwise" && kind != "autotask" {
		c.NotFound(g)
		return
	}
	prep, ok := c.prepare(p, store.RolePSA, kind, credentials(g, kind))
	if !ok {
		p.Form.Set("open", kind)
		show(p, http.StatusUnprocessableEntity)
		return
	}
	tenantID := g.Param("tenant")
	confirmed := strings.TrimSpace(g.PostForm("confirm")) == tenantID
	res, err := c.Store.SetPSA(g.Request.Context(), store.PSAChange{TenantID: tenantID, Kind: kind, Config: prep.Config, Secret: prep.Secret,
		Actor: principal(g).Email, ConfirmReset: confirmed, Details: map[string]any{"request_id": g.Writer.Header().Get("X-Request-ID"), "via": "console"}})
	var reset *store.ResetRequiredError
	var open *store.OpenCyclesError
	switch {
	case errors.As(err, &reset):
		p.Errors[kind+".confirm"] = fmt.Sprintf("Type the tenant ID, %s, to confirm the switch: it deletes all %d %s and resets %s.",
			tenantID, reset.Mappings, pluralWord(int(reset.Mappings), "mapping", "mappings"), orNothing(resetWords(reset.Settings)))
		p.Form.Set("open", kind)
		show(p, http.StatusConflict)
		return
	case errors.As(err, &open):
		p.Errors[kind+".confirm"] = sentence(open.Error())
		p.Form.Set("open", kind)
		show(p, http.StatusConflict)
		return
	case err != nil:
		c.settingsRefused(g, err, show, p)
		return
	}
	details := map[string]any{"kind": kind, "switched": res.Switched, "mappings_deleted": res.MappingsDeleted}
	c.audit(g, "psa.saved", "PSA connection saved ("+kind+")", details)
	c.adminAudit(g, "psa.saved", tenantID, "PSA connection saved ("+kind+")", details)
	msg := providerTitles[kind] + " connection saved. Test it to be sure it works."
	if res.Switched {
		msg = fmt.Sprintf("Switched the PSA from %s to %s: %d %s deleted, and %s reset. Map the accounts again under Mappings.",
			providerTitles[res.From], providerTitles[kind], res.MappingsDeleted, pluralWord(int(res.MappingsDeleted), "mapping", "mappings"),
			orNothing(resetWords(res.SettingsReset)))
		sctx, cancel := context.WithTimeout(g.Request.Context(), 10*time.Second)
		defer cancel()
		if err := c.Starter.SyncSchedules(sctx, res.Tenant); err != nil {
			c.Logger.Error("console: schedules not updated after PSA switch", "err", err)
			msg += " The schedules could not be paused in Temporal just now; save the publish settings again to retry."
		}
	}
	c.done(g, "ok", msg, "/tenants/"+tenantID+"/settings#psa")
}

func orNothing(list []string) string {
	if len(list) == 0 {
		return "no automation setting (none was on)"
	}
	return strings.Join(list, ", ")
}

// saveSource stores a vendor connection (the API's PUT /sources/{kind}).
func (c *Console) saveSource(g *gin.Context) {
	kind := g.Param("kind")
	if _, ok := credentialFields[kind]; !ok || kind == "connectwise" || kind == "autotask" {
		c.NotFound(g)
		return
	}
	p := c.newPage(g, "Settings", "settings")
	posted(g, p)
	prep, ok := c.prepare(p, kind, kind, credentials(g, kind))
	if !ok {
		p.Form.Set("open", kind)
		c.settingsPage(g, p, http.StatusUnprocessableEntity)
		return
	}
	tenantID := g.Param("tenant")
	if err := c.Store.PutConnection(g.Request.Context(), store.Connection{TenantID: tenantID, Role: kind, Provider: kind,
		Config: prep.Config, Secret: prep.Secret, UpdatedBy: principal(g).Email}); err != nil {
		c.settingsRefused(g, err, func(p *page, s int) { c.settingsPage(g, p, s) }, p)
		return
	}
	c.audit(g, "source.saved", kind+" connection saved ("+kind+")", map[string]any{"kind": kind, "provider": kind})
	c.adminAudit(g, "source.saved", tenantID, kind+" connection saved ("+kind+")", map[string]any{"kind": kind, "provider": kind})
	c.done(g, "ok", providerTitles[kind]+" connection saved. Test it to be sure it works.", "/tenants/"+tenantID+"/settings#"+kind)
}

// testPSA and testSource are "test connection" of the stored credentials: cheap reads, no
// change in the outside service; the outcome is kept for the dashboard.
func (c *Console) testPSA(g *gin.Context)    { c.testConnection(g, store.RolePSA, "psa") }
func (c *Console) testSource(g *gin.Context) { c.testConnection(g, g.Param("kind"), g.Param("kind")) }

func (c *Console) testConnection(g *gin.Context, role, anchor string) {
	back := "/tenants/" + g.Param("tenant") + "/settings#" + anchor
	switch role {
	case store.RolePSA, store.RoleBackup, store.RoleLicenses, store.RoleGauges:
	default:
		c.NotFound(g)
		return
	}
	ctx, cancel := context.WithTimeout(g.Request.Context(), 10*time.Second)
	defer cancel()
	res, st, err := c.Connector.TestAndRecord(ctx, g.Param("tenant"), role, principal(g).Email,
		map[string]any{"request_id": g.Writer.Header().Get("X-Request-ID"), "via": "console"})
	if errors.Is(err, store.ErrNotFound) {
		c.done(g, "error", "Nothing to test yet: save the "+role+" credentials first.", back)
		return
	}
	if err != nil && res.Message == "" {
		c.actionFailed(g, err, back)
		return
	}
	name := providerTitles[st.Provider]
	if name == "" {
		name = st.Provider
	}
	if res.OK {
		c.done(g, "ok", name+" connection works: "+res.Message+".", back)
		return
	}
	c.done(g, "error", name+" connection test failed: "+sentence(res.Message), back)
}
