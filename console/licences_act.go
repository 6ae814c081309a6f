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

// syncLicences is "sync now": the open licence cycle writes its approved updates now, or —
// none being open — a cycle is started that refreshes and writes as soon as its updates are
// decided (the API's POST /publish with kind licence_sync). The message is what the cycle
// answered.
func (c *Console) syncLicences(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/licences"
	res, err := c.Starter.SyncNow(g.Request.Context(), g.Param("tenant"), principal(g).Email)
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	c.audit(g, "licence_sync.sync_requested",
		fmt.Sprintf("sync now for licence cycle %s: %d approved update(s) pushed now, %d pending", res.WorkflowID, res.Pushing, res.Pending),
		map[string]any{"cycle_id": res.CycleID, "workflow_id": res.WorkflowID, "outcome": res.Outcome, "started": res.Started,
			"pushing": res.Pushing, "pending": res.Pending})
	next := back
	if res.CycleID != "" {
		next = "/tenants/" + g.Param("tenant") + "/cycles/" + res.CycleID
	}
	c.done(g, "ok", syncedWords(res), next)
}

// syncedWords says what sync now made the licence cycle do.
func syncedWords(res starter.Synced) string {
	switch {
	case res.Outcome == starter.OutcomeSignalled:
		return "Sync now sent to the open licence cycle: its approved updates are written to the PSA now."
	case res.Outcome == starter.OutcomeAccepted:
		return "The licence cycle of " + string(res.Period) + " took the request; it writes its approved updates once its refresh ends."
	case res.Started != nil && *res.Started:
		return "No licence cycle was open, so a refresh of " + string(res.Period) + " started; its updates are written as soon as they are decided."
	}
	msg := fmt.Sprintf("%d approved %s written to the PSA now.", res.Pushing, pluralWord(res.Pushing, "update is being", "updates are being"))
	if res.Pushing == 0 {
		msg = "Nothing approved is waiting to be written."
	}
	if res.Pending > 0 {
		msg += fmt.Sprintf(" %d %s for a decision.", res.Pending, pluralWord(res.Pending, "update still waits", "updates still wait"))
	}
	return msg
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
