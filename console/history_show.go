package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/store"
)

var historyLimits = []int{100, 500, 1000, 10000}

// showHistory shows the site history, newest first, filtered by severity.
func (c *Console) showHistory(g *gin.Context) {
	f := historyFilter(g)
	entries, err := c.Store.FilterHistory(g.Request.Context(), g.Param("tenant"), f)
	if err != nil {
		c.fail(g, err)
		return
	}
	p := c.newPage(g, "Site history", "history")
	p.Data = map[string]any{"Entries": entries, "Severity": f.Severity, "Limit": f.Limit, "Limits": historyLimits}
	c.render(g, http.StatusOK, "history", p)
}

func historyFilter(g *gin.Context) store.HistoryFilter {
	f := store.HistoryFilter{Limit: 100}
	switch s := g.Query("severity"); s {
	case store.SeverityInfo, store.SeverityWarning, store.SeverityError:
		f.Severity = s
	}
	if n, err := strconv.Atoi(g.Query("limit")); err == nil {
		for _, l := range historyLimits {
			if n == l {
				f.Limit = n
			}
		}
	}
	return f
}

// downloadHistory is the site history as the API's CSV export, with the page's filter.
func (c *Console) downloadHistory(g *gin.Context) {
	f := historyFilter(g)
	if g.Query("limit") == "" {
		f.Limit = 10000
	}
	entries, err := c.Store.FilterHistory(g.Request.Context(), g.Param("tenant"), f)
	if err != nil {
		c.fail(g, err)
		return
	}
	t, err := c.Store.GetTenant(g.Request.Context(), g.Param("tenant"))
	if err != nil {
		c.fail(g, err)
		return
	}
	name := "meterbridge-history-" + t.ID + "-" + time.Now().UTC().Format("20060102T150405Z") + ".csv"
	g.Header("Content-Type", "text/csv; charset=utf-8")
	g.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	g.Header("Cache-Control", "no-store")
	g.Status(http.StatusOK)
	if err := api.WriteHistoryCSV(g.Writer, entries, t.Location()); err != nil {
		c.Logger.Error("console: history CSV not fully written", "err", err)
	}
}

// clearHistory clears the site history (store.ClearHistoryAs leaves one entry naming who).
func (c *Console) clearHistory(g *gin.Context) {
	back := "/tenants/" + g.Param("tenant") + "/history"
	if g.PostForm("confirm") != "clear" {
		c.done(g, "error", "Nothing was cleared: tick the confirmation first.", back)
		return
	}
	n, _, err := c.Store.ClearHistoryAs(g.Request.Context(), g.Param("tenant"), principal(g).Email,
		map[string]any{"request_id": g.Writer.Header().Get("X-Request-ID"), "via": "console"})
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	c.adminAudit(g, "history.cleared", g.Param("tenant"), "site history cleared", map[string]any{"deleted": n})
	c.done(g, "ok", "Site history cleared: "+strconv.FormatInt(n, 10)+" entries deleted. One entry now records who cleared it.", back)
}
