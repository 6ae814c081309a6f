package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/workflows"
)

// showLicences shows the licence sync: refresh and sync now, their schedules with the next
// times, the licence cycles and the sync history across cycles.
func (c *Console) showLicences(g *gin.Context) {
	c.licencesPage(g, c.newPage(g, "Licence sync", "licences"), http.StatusOK)
}

func (c *Console) licencesPage(g *gin.Context, p *page, status int) {
	ctx := g.Request.Context()
	id := g.Param("tenant")
	limit := historyLimit(g)
	cycles, more, err := c.Store.ListCyclesOfKind(ctx, id, billing.LicenceSync, limit)
	if err != nil {
		c.fail(g, err)
		return
	}
	synced, moreSynced, err := c.Store.SyncHistory(ctx, id, 50)
	if err != nil {
		c.fail(g, err)
		return
	}
	nextRefresh, errRefresh := c.nextRuns(ctx, p, workflows.ActionRefresh)
	nextSync, errSync := c.nextRuns(ctx, p, workflows.ActionSync)
	p.Data = map[string]any{
		"Cycles": cycles, "More": more, "MoreLimit": limit + historyStep,
		"Synced": synced, "MoreSynced": moreSynced,
		"NextRefresh": nextRefresh, "NextSync": nextSync, "NextError": firstNonEmpty(errRefresh, errSync),
		"RefreshID": starter.ScheduleID(id, workflows.ActionRefresh), "SyncID": starter.ScheduleID(id, workflows.ActionSync),
		"Days": days(), "Hours": hours(),
	}
	c.render(g, status, "licences", p)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
