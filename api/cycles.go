package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

type startRequest struct {
	// Kind is usage_publish (default) or licence_sync for POST /publish; POST /refresh always
	// refreshes licences.
	Kind string `json:"kind" binding:"omitempty,oneof=usage_publish licence_sync"`
	// Period is YYYY-MM (or YYYY-MM-DD for daily licence syncs); the current one when empty.
	Period string `json:"period" binding:"omitempty,max=10"`
	// ClientID publishes only this backup client (POST /publish of a usage publish): a
	// client added mid-month, without touching the others or the month's own publish.
	ClientID string `json:"client_id" binding:"omitempty,max=200"`
}

// publish is "publish (sync) now": a usage publish starts its cycle; a licence sync joins
// the current period's licence cycle, or starts one (update-with-start), and answers what it
// does now: 200 with how many approved updates it pushes and how many still wait, or 202
// when the cycle took the request but had not answered in time (it was still refreshing).
func (s *server) publish(c *gin.Context) {
	req, ok := s.bindStart(c, billing.UsagePublish)
	if !ok {
		return
	}
	if req.Kind == string(billing.LicenceSync) {
		if req.ClientID != "" {
			fail(c, errInvalid("client_id", "a licence sync has no backup clients; client_id is for usage publishes"))
			return
		}
		if req.Period != "" {
			// Sync now pushes what the open licence cycle holds; it has no period to choose.
			fail(c, errInvalid("period", "sync now takes no period; use POST /refresh with a period to refresh one"))
			return
		}
		res, err := s.starter.SyncNow(c.Request.Context(), c.Param("tenant"), caller(c).Email)
		if err != nil {
			fail(c, err)
			return
		}
		s.audit(c, c.Param("tenant"), "licence_sync.sync_requested",
			fmt.Sprintf("sync now for licence cycle %s: %d approved update(s) pushed now, %d pending", res.WorkflowID, res.Pushing, res.Pending),
			map[string]any{"cycle_id": res.CycleID, "workflow_id": res.WorkflowID, "outcome": res.Outcome, "started": res.Started,
				"pushing": res.Pushing, "pending": res.Pending})
		status := http.StatusOK
		if res.Outcome != starter.OutcomeDone {
			status = http.StatusAccepted
		}
		if res.CycleID != "" {
			c.Header("Location", "/api/v1/tenants/"+c.Param("tenant")+"/cycles/"+res.CycleID)
		}
		c.JSON(status, res)
		return
	}
	s.start(c, billing.UsagePublish, req)
}

// refresh is "refresh units now": a licence cycle that waits for approval and the next sync.
func (s *server) refresh(c *gin.Context) {
	req, ok := s.bindStart(c, billing.LicenceSync)
	if !ok {
		return
	}
	if req.Kind == string(billing.UsagePublish) {
		fail(c, errInvalid("kind", "refresh applies to licence_sync only; use POST /publish for usage"))
		return
	}
	if req.ClientID != "" {
		fail(c, errInvalid("client_id", "a licence refresh has no backup clients; client_id is for POST /publish"))
		return
	}
	s.start(c, billing.LicenceSync, req)
}

// bindStart reads a start request. A period must have the form the cycle uses — a month
// for usage publishes, and for licence refreshes a day when the tenant refreshes daily, else
// a month — so one period never runs under two workflow IDs; and it must not lie in the
// future in the tenant's time zone.
func (s *server) bindStart(c *gin.Context, kind billing.Kind) (startRequest, bool) {
	var req startRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			fail(c, err)
			return req, false
		}
	}
	if req.Kind != "" {
		kind = billing.Kind(req.Kind)
	}
	if req.Period == "" {
		return req, true
	}
	p, err := billing.ParsePeriod(req.Period)
	if err != nil {
		fail(c, errInvalid("period", "%v", err))
		return req, false
	}
	t, err := s.store.GetTenant(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		fail(c, err)
		return req, false
	}
	daily := kind == billing.LicenceSync && t.Settings.Licences.Refresh.Cadence == tenant.Daily
	switch {
	case daily && len(p) != len("2006-01-02"):
		fail(c, errInvalid("period", "this tenant refreshes licences daily: give a day, YYYY-MM-DD"))
		return req, false
	case !daily && len(p) != len("2006-01"):
		fail(c, errInvalid("period", "give a month, YYYY-MM"))
		return req, false
	}
	now := time.Now()
	current := billing.MonthOf(now, t.Location())
	if daily {
		current = billing.DayOf(now, t.Location())
	}
	if p > current {
		fail(c, errInvalid("period", "must not be in the future (the current period is %s)", current))
		return req, false
	}
	return req, true
}

func (s *server) start(c *gin.Context, kind billing.Kind, req startRequest) {
	started, err := s.starter.StartCycle(c.Request.Context(), starter.StartRequest{
		TenantID: c.Param("tenant"), Kind: kind, Trigger: billing.Manual, StartedBy: caller(c).Email,
		Period: billing.Period(req.Period), ClientID: req.ClientID,
	})
	if err != nil {
		fail(c, clientError(err))
		return
	}
	s.started(c, kind, started)
}

func (s *server) started(c *gin.Context, kind billing.Kind, started starter.Started) {
	what := string(kind) + " of " + string(started.Period)
	details := map[string]any{"workflow_id": started.WorkflowID, "run_id": started.RunID}
	if len(started.Clients) > 0 {
		what += " for client " + strings.Join(started.Clients, ", ")
		details["clients"] = started.Clients
	}
	s.audit(c, c.Param("tenant"), string(kind)+".requested", what+" requested", details)
	c.Header("Location", "/api/v1/tenants/"+c.Param("tenant")+"/cycles/"+started.RunID)
	answer := gin.H{"workflow_id": started.WorkflowID, "run_id": started.RunID, "cycle_id": started.RunID, "period": started.Period}
	if len(started.Clients) > 0 {
		answer["clients"] = started.Clients
	}
	c.JSON(http.StatusAccepted, answer)
}

func (s *server) listCycles(c *gin.Context) {
	if err := rejectUnknownQuery(c, "limit"); err != nil {
		fail(c, err)
		return
	}
	limit, err := queryInt(c, "limit", 10, 1, 1000)
	if err != nil {
		fail(c, err)
		return
	}
	// One more than asked says whether there are more.
	cycles, err := s.store.ListCycles(c.Request.Context(), c.Param("tenant"), limit+1)
	if err != nil {
		fail(c, err)
		return
	}
	more := len(cycles) > limit
	if more {
		cycles = cycles[:limit]
	}
	out := make([]cycleView, 0, len(cycles))
	for _, cy := range cycles {
		out = append(out, viewCycle(cy))
	}
	c.JSON(http.StatusOK, gin.H{"cycles": out, "has_more": more})
}

func (s *server) getCycle(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	cy, err := s.store.GetCycle(c.Request.Context(), c.Param("tenant"), c.Param("cycle"))
	if err != nil {
		fail(c, err)
		return
	}
	items, err := s.store.CycleItems(c.Request.Context(), cy.TenantID, cy.ID)
	if err != nil {
		fail(c, err)
		return
	}
	if items == nil {
		items = []store.Item{}
	}
	c.JSON(http.StatusOK, gin.H{"cycle": viewCycle(cy), "items": items})
}

// cycleView is a cycle as the history shows it: who started it reads as an e-mail or
// "automatic".
type cycleView struct {
	store.Cycle
	StartedBy string `json:"started_by"`
}

func viewCycle(c store.Cycle) cycleView { return cycleView{Cycle: c, StartedBy: c.StartedByLabel()} }

type cancelRequest struct {
	// Reason is recorded with the cancellation and sent to the managers.
	Reason string `json:"reason" binding:"max=500"`
}

// cancelCycle stops a cycle that waits (for approval, for the sync, or still refreshing) and
// answers once it is recorded: 200 {"outcome": "cancelled", "cycle": …}. A cycle that writes
// to the PSA right now, or has ended, is 409 cycle_not_cancellable (its status in details);
// 202 when the cycle took the request but had not finished in time, or is a run from before
// cycles answered requests (its run is cancelled in Temporal and records itself). A cycle
// whose workflow no longer runs is closed at once: 200 {"outcome": "closed"}.
func (s *server) cancelCycle(c *gin.Context) {
	var req cancelRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			fail(c, err)
			return
		}
	}
	res, err := s.starter.CancelCycle(c.Request.Context(), c.Param("tenant"), c.Param("cycle"), caller(c).Email, strings.TrimSpace(req.Reason))
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, c.Param("tenant"), "cycle.cancel_requested", "cancel of cycle "+res.Cycle.ID+": "+res.Outcome,
		map[string]any{"cycle_id": res.Cycle.ID, "workflow_id": res.Cycle.WorkflowID, "outcome": res.Outcome, "reason": req.Reason})
	status := http.StatusOK
	if res.Outcome == starter.OutcomeAccepted || res.Outcome == starter.OutcomeRequested {
		status = http.StatusAccepted
	}
	c.JSON(status, gin.H{"outcome": res.Outcome, "cycle": viewCycle(res.Cycle)})
}
