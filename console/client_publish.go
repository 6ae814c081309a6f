package console

import (
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/starter"
)

// publishClient publishes one backup client now (a client added mid-month), as the API's
// POST /publish with "client_id" does: the other clients and the month's own publish are
// left alone.
func (c *Console) publishClient(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/publish#clients"
	id := g.Param("client")
	started, err := c.Starter.StartCycle(g.Request.Context(), starter.StartRequest{
		TenantID: g.Param("tenant"), Kind: billing.UsagePublish, Trigger: billing.Manual, StartedBy: principal(g).Email, ClientID: id,
	})
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	c.audit(g, string(billing.UsagePublish)+".requested", fmt.Sprintf("%s of %s for client %s requested", billing.UsagePublish, started.Period, id),
		map[string]any{"workflow_id": started.WorkflowID, "run_id": started.RunID, "clients": started.Clients})
	c.done(g, "ok", fmt.Sprintf("Publish of client %s for %s started; the other clients are left as they are.", id, started.Period),
		"/tenants/"+g.Param("tenant")+"/cycles/"+started.RunID)
}
