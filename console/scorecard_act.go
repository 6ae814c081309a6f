package console

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
)

func scorecardBack(g *gin.Context) string {
	return "/tenants/" + g.Param("tenant") + "/scorecard#metric-" + g.Param("metric")
}

// metricFailed shows a scorecard refusal (sync too soon says when to try again; a frozen
// week says how to override it) on the scorecard.
func (c *Console) metricFailed(g *gin.Context, err error) {
	pr := api.ExplainMetric(err)
	if pr.Status >= 500 && pr.RetryAfter == 0 {
		c.fail(g, err)
		return
	}
	msg := sentence(pr.Message)
	if pr.RetryAfter > 0 {
		g.Header("Retry-After", strconv.Itoa(seconds(pr.RetryAfter)))
	}
	if pr.Code == "sync_too_soon" {
		msg = "Sync now was used less than 5 minutes ago; it can be used again in " + waitWords(pr.RetryAfter) + "."
	}
	if pr.Code == "week_frozen" {
		msg = "That week is frozen. Tick \"the week is frozen: change it anyway\" to change it; the change is recorded in the site history."
	}
	c.done(g, "error", msg, scorecardBack(g))
}

// syncMetric is "sync now": the gauge is read into the current week at once, at most once
// per 5 minutes per metric.
func (c *Console) syncMetric(g *gin.Context) {
	started, err := c.Starter.SyncMetric(g.Request.Context(), g.Param("tenant"), g.Param("metric"), principal(g).Email)
	if err != nil {
		c.metricFailed(g, err)
		return
	}
	c.done(g, "ok", fmt.Sprintf("Sync now requested: the gauge is read into week %s now. It can be used again in 5 minutes.", started.Week), scorecardBack(g))
}

// overrideWeek stores a person's value for a week; later snapshots leave it.
func (c *Console) overrideWeek(g *gin.Context) {
	f, errs := form.ParseOverride(g.Request.PostForm, g.Param("week"))
	if !errs.OK() {
		for _, m := range errs {
			c.done(g, "error", sentence(m), scorecardBack(g))
			return
		}
	}
	_, err := c.Starter.OverrideCheckin(g.Request.Context(), store.Override{TenantID: g.Param("tenant"), MetricID: g.Param("metric"),
		Week: f.Week, Value: f.Value, Actor: principal(g).Email, AllowFrozen: f.AllowFrozen})
	if err != nil {
		c.metricFailed(g, err)
		return
	}
	c.done(g, "ok", fmt.Sprintf("Week %s is now %s, set by hand; snapshots leave it until the override is cleared.", f.Week, f.Value), scorecardBack(g))
}

// clearWeek removes a week's manual value; the week's latest gauge reading shows again.
func (c *Console) clearWeek(g *gin.Context) {
	w, err := scorecard.ParseWeek(g.Param("week"))
	if err != nil {
		c.NotFound(g)
		return
	}
	allow := checkedValue(g.PostForm("override_frozen"))
	if _, err := c.Starter.ClearCheckinOverride(g.Request.Context(), g.Param("tenant"), g.Param("metric"), w, principal(g).Email, allow); err != nil {
		c.metricFailed(g, err)
		return
	}
	c.done(g, "ok", fmt.Sprintf("The override of week %s is cleared; the gauge's reading shows again.", w), scorecardBack(g))
}

// saveMetricSchedule changes a metric's snapshot schedule; the loop re-arms at once.
func (c *Console) saveMetricSchedule(g *gin.Context) {
	p := c.newPage(g, "Scorecard", "scorecard")
	v := posted(g, p)
	sched, errs := form.ParseSnapshotSchedule(v)
	if !errs.OK() {
		p.Errors = errs
		p.Form.Set("metric", g.Param("metric"))
		c.scorecardPage(g, p, http.StatusUnprocessableEntity)
		return
	}
	_, err := c.Starter.ChangeMetric(g.Request.Context(), g.Param("tenant"), g.Param("metric"),
		starter.MetricChange{Schedule: &sched, Actor: principal(g).Email})
	if err != nil {
		c.metricFailed(g, err)
		return
	}
	c.done(g, "ok", "Snapshot schedule saved: "+sched.String()+".", scorecardBack(g))
}
