package console

import (
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/tenant"
)

// publishNow starts a usage publish of the current month, as the API's POST /publish does.
func (c *Console) publishNow(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/publish"
	started, err := c.Starter.StartCycle(g.Request.Context(), starter.StartRequest{
		TenantID: g.Param("tenant"), Kind: billing.UsagePublish, Trigger: billing.Manual, StartedBy: principal(g).Email,
	})
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	c.audit(g, string(billing.UsagePublish)+".requested", string(billing.UsagePublish)+" of "+string(started.Period)+" requested",
		map[string]any{"workflow_id": started.WorkflowID, "run_id": started.RunID})
	then := "changes then wait under Pending updates."
	if t, err := c.Store.GetTenant(g.Request.Context(), g.Param("tenant")); err == nil {
		switch t.Settings.Publish.Approval.Mode {
		case tenant.ApproveAutomatic:
			then = "changes are written without waiting for approval."
		case tenant.ApproveRule:
			then = "small changes are written at once, the rest wait under Pending updates."
		}
	}
	c.done(g, "ok", fmt.Sprintf("Publish of %s started. It reads the usage and the PSA's quantities; %s", started.Period, then),
		"/tenants/"+g.Param("tenant")+"/cycles/"+started.RunID)
}
