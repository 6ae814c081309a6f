package console

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/tenant"
)

// refreshLicences is "refresh units now": a licence cycle reads the counts and waits for
// approval and the next sync (the API's POST /refresh).
func (c *Console) refreshLicences(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/licences"
	started, err := c.Starter.StartCycle(g.Request.Context(), starter.StartRequest{
		TenantID: g.Param("tenant"), Kind: billing.LicenceSync, Trigger: billing.Manual, StartedBy: principal(g).Email,
	})
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	c.audit(g, string(billing.LicenceSync)+".requested", string(billing.LicenceSync)+" of "+string(started.Period)+" requested",
		map[string]any{"workflow_id": started.WorkflowID, "run_id": started.RunID})
	c.done(g, "ok", fmt.Sprintf("Refresh of %s started: the licence counts are read, and changes then wait under Pending updates.", started.Period),
		"/tenants/"+g.Param("tenant")+"/cycles/"+started.RunID)
}

// syncLicences is "sync now": the approved updates of the open licence cycles are written
// now, or a cycle is started that refreshes and writes as soon as its updates are decided
// (the API's POST /publish with kind licence_sync).
func (c *Console) syncLicences(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/licences"
	res, err := c.Starter.SyncNow(g.Request.Context(), g.Param("tenant"), principal(g).Email)
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	if len(res.Signalled) > 0 {
		c.audit(g, "licence_sync.sync_requested", "sync now requested for open licence cycles", map[string]any{"cycles": res.Signalled})
		c.done(g, "ok", fmt.Sprintf("Sync now sent to %d open licence %s: approved updates are written to the PSA now.",
			len(res.Signalled), pluralWord(len(res.Signalled), "cycle", "cycles")), back)
		return
	}
	c.audit(g, string(billing.LicenceSync)+".requested", string(billing.LicenceSync)+" of "+string(res.Started.Period)+" requested",
		map[string]any{"workflow_id": res.Started.WorkflowID, "run_id": res.Started.RunID})
	c.done(g, "ok", "No licence cycle was open, so a refresh started; its updates are written as soon as they are decided.",
		"/tenants/"+g.Param("tenant")+"/cycles/"+res.Started.RunID)
}

// saveLicenceSettings saves the refresh and sync schedules and the rounding.
func (c *Console) saveLicenceSettings(g *gin.Context) {
	p := c.newPage(g, "Licence sync", "licences")
	v := posted(g, p)
	show := func(p *page, status int) { c.licencesPage(g, p, status) }
	var errs form.Errors
	_, err := c.updateTenant(g, "licences", func(t *tenant.Tenant) error {
		var s tenant.Settings
		s, errs = form.Licences(v, t.Settings)
		if !errs.OK() {
			return errFormRefused
		}
		t.Settings = s
		return nil
	})
	if err == errFormRefused {
		p.Errors = errs
		show(p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		c.settingsRefused(g, err, show, p)
		return
	}
	c.done(g, "ok", "Licence schedules saved.", "/tenants/"+g.Param("tenant")+"/licences")
}
