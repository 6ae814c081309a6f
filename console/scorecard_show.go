package console

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
)

// metricView is one metric with its weeks and when sync now may run again.
type metricView struct {
	Metric      store.Metric
	CurrentWeek scorecard.Week
	Checkins    []store.Checkin
	// SyncWait is how long until sync now may be used again (0: now).
	SyncWait time.Duration
	Loc      *time.Location
}

// SyncWaitWords says the wait as people do.
func (m metricView) SyncWaitWords() string { return waitWords(m.SyncWait) }

// At shows a time in the metric owner's zone, which its weeks follow.
func (m metricView) At(t any) string {
	p := &page{loc: m.Loc}
	return p.At(t)
}

// showScorecard shows the tenant's metrics: the current week, earlier weeks (frozen ones
// marked), overrides with who and when, sync now and the snapshot schedule.
func (c *Console) showScorecard(g *gin.Context) {
	c.scorecardPage(g, c.newPage(g, "Scorecard", "scorecard"), http.StatusOK)
}

func (c *Console) scorecardPage(g *gin.Context, p *page, status int) {
	ctx := g.Request.Context()
	metrics, err := c.Store.ListMetrics(ctx, g.Param("tenant"))
	if err != nil {
		c.fail(g, err)
		return
	}
	now := c.Now()
	var views []metricView
	for _, m := range metrics {
		cs, err := c.Store.ListCheckins(ctx, m.TenantID, m.ID, 12)
		if err != nil {
			c.fail(g, err)
			return
		}
		v := metricView{Metric: m, CurrentWeek: c.Starter.CurrentWeek(m), Checkins: cs, Loc: zoneOf(m.TimeZone)}
		if m.LastSyncAt != nil {
			if wait := m.LastSyncAt.Add(scorecard.SyncWindow).Sub(now); wait > 0 {
				v.SyncWait = wait
			}
		}
		views = append(views, v)
	}
	p.Data = map[string]any{"Metrics": views, "Weekdays": []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}}
	c.render(g, status, "scorecard", p)
}

func zoneOf(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}
