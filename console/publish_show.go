package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// historyStep is how many more cycles "show more" adds to a history list.
const historyStep = 10

// showPublish shows the usage publish: publish now, the clients (which are published, their
// Managed IDs, publish one now), the mode and schedule with the next three publishing times
// as Temporal computes them, and the publish history.
func (c *Console) showPublish(g *gin.Context) {
	c.publishPage(g, c.newPage(g, "Publish", "publish"), http.StatusOK)
}

func (c *Console) publishPage(g *gin.Context, p *page, status int) {
	limit := historyLimit(g)
	cycles, more, err := c.Store.ListCyclesOfKind(g.Request.Context(), g.Param("tenant"), billing.UsagePublish, limit)
	if err != nil {
		c.fail(g, err)
		return
	}
	next, nextErr := c.nextRuns(g.Request.Context(), p, workflows.ActionPublish)
	clients, clientsErr := c.backupClients(g, p)
	p.Data = map[string]any{
		"Cycles": cycles, "More": more, "MoreLimit": limit + historyStep, "Next": next, "NextError": nextErr,
		"ScheduleID": starter.ScheduleID(g.Param("tenant"), workflows.ActionPublish),
		"Days":       days(), "Hours": hours(),
		"Clients": clients, "ClientsError": clientsErr,
	}
	c.render(g, status, "publish", p)
}

// backupClients reads the tenant's backup clients as the API's GET …/clients does; a backup
// service that does not answer makes a note on the page instead of failing it.
func (c *Console) backupClients(g *gin.Context, p *page) (*connect.ClientList, string) {
	if p.Tenant == nil {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(g.Request.Context(), 10*time.Second)
	defer cancel()
	list, err := c.Connector.BackupClients(ctx, p.Tenant.ID, time.Now())
	if err != nil {
		c.Logger.Warn("console: backup clients not read", "tenant", p.Tenant.ID, "err", err)
		pr := api.ExplainClient(err)
		if pr.Status >= 500 && pr.Code == "internal" {
			return nil, "The backup clients could not be read just now; reload the page to try again."
		}
		return nil, sentence(pr.Message)
	}
	return &list, ""
}

// nextRuns reads a schedule's next three run times; a Temporal that does not answer makes a
// note on the page instead of failing it.
func (c *Console) nextRuns(ctx context.Context, p *page, action string) ([]time.Time, string) {
	if p.Tenant == nil {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := c.Starter.DescribeSchedule(ctx, p.Tenant.ID, action, 3)
	next := info.NextActionTimes
	if err != nil {
		c.Logger.Warn("console: next run times not read", "tenant", p.Tenant.ID, "action", action, "err", err)
		return nil, "The next times could not be read from Temporal just now; reload the page to try again."
	}
	return next, ""
}

func historyLimit(g *gin.Context) int {
	n, err := strconv.Atoi(g.Query("limit"))
	if err != nil || n < historyStep {
		return historyStep
	}
	if n > 1000 {
		return 1000
	}
	return n
}

func days() []string {
	out := make([]string, 0, 32)
	for d := 1; d <= 31; d++ {
		out = append(out, strconv.Itoa(d))
	}
	return append(out, "last")
}

func hours() []int {
	out := make([]int, 24)
	for i := range out {
		out[i] = i
	}
	return out
}

// cycleWords names a cycle as people read it: "usage publish 2026-11".
func cycleWords(c store.Cycle) string { return words(string(c.Kind)) + " " + string(c.Period) }
