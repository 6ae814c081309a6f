package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// NewMetric asks for a gauge-powered metric.
type NewMetric struct {
	TenantID string
	Name     string
	// OwnerEmail defaults to CreatedBy.
	OwnerEmail string
	// TimeZone, when empty, is the zone of the creator's token (CreatorTokenID), else the
	// tenant's.
	TimeZone       string
	GaugeID        string
	Schedule       scorecard.Schedule
	CreatedBy      string
	CreatorTokenID string
}

// LoopNotToldError means a metric change was stored, but its snapshot loop could not be
// started or told (Temporal did not answer). The change stands: the worker tells every loop
// its metric's schedule when it starts (ReconcileSnapshotLoops), and so does the metric's
// next change or sync now.
type LoopNotToldError struct {
	Metric store.Metric
	Err    error
}

func (e *LoopNotToldError) Error() string {
	return fmt.Sprintf("the snapshot loop of metric %s was not told: %v", e.Metric.ID, e.Err)
}

func (e *LoopNotToldError) Unwrap() error { return e.Err }

// CreateMetric records a metric (with its site-history row), and once that is committed
// starts its snapshot loop: signal-with-start on the metric's workflow ID, so a metric never
// has two loops, and a loop never runs for a metric that is not stored. The new loop reads
// the gauge at once (its first value), retrying while the gauge service is down. When the
// loop cannot be started the metric is kept and a *LoopNotToldError is returned with it (and
// written to the site history); the loop that the worker starts later takes the first
// snapshot then.
func (s *Starter) CreateMetric(ctx context.Context, req NewMetric) (store.Metric, error) {
	zone, from, err := s.metricZone(ctx, req)
	if err != nil {
		return store.Metric{}, err
	}
	if req.OwnerEmail == "" {
		req.OwnerEmail = req.CreatedBy
	}
	id := store.NewMetricID(req.TenantID)
	m, err := s.Store.CreateMetric(ctx, store.Metric{
		ID: id, TenantID: req.TenantID, Name: req.Name, OwnerEmail: req.OwnerEmail, TimeZone: zone, TimeZoneFrom: from,
		GaugeID: req.GaugeID, Schedule: req.Schedule, WorkflowID: workflows.MetricSnapshotID(id), CreatedBy: req.CreatedBy,
	})
	if err != nil {
		return m, err
	}
	return m, s.tellSchedule(ctx, m, req.CreatedBy, "started")
}

// metricZone picks a new metric's zone: the request's, else the one its creator's token
// carries, else the tenant's.
func (s *Starter) metricZone(ctx context.Context, req NewMetric) (string, string, error) {
	if req.TimeZone != "" {
		return req.TimeZone, scorecard.ZoneFromRequest, nil
	}
	if req.CreatorTokenID != "" {
		tok, err := s.Store.GetToken(ctx, req.CreatorTokenID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", "", fmt.Errorf("read the creator's token: %w", err)
		}
		if tok.TimeZone != "" {
			return tok.TimeZone, scorecard.ZoneFromCreator, nil
		}
	}
	t, err := s.Store.GetTenant(ctx, req.TenantID)
	if err != nil {
		return "", "", err
	}
	if err := tenant.ValidateTimeZone("time_zone", t.TimeZone); err != nil {
		return "", "", &tenant.FieldError{Field: "time_zone", Reason: "is required: neither your token nor the tenant has a time zone"}
	}
	return t.TimeZone, scorecard.ZoneFromTenant, nil
}

// MetricChange is a change to a metric; nil fields stay as they are.
type MetricChange struct {
	Name     *string
	TimeZone *string
	Schedule *scorecard.Schedule
	Actor    string
}

// ChangeMetric stores a change, and once it is committed tells the snapshot loop the
// schedule and zone, which re-arms its timer without a restart (a loop that is not running
// is started). It is safe to repeat: the loop keeps its timer when the next snapshot time
// does not move. When the loop cannot be told the change is kept and a *LoopNotToldError is
// returned with the metric.
func (s *Starter) ChangeMetric(ctx context.Context, tenantID, id string, ch MetricChange) (store.Metric, error) {
	m, err := s.Store.UpdateMetric(ctx, tenantID, id, ch.Actor, func(m *store.Metric) error {
		if ch.Name != nil {
			m.Name = *ch.Name
		}
		if ch.TimeZone != nil {
			m.TimeZone = *ch.TimeZone
		}
		if ch.Schedule != nil {
			m.Schedule = *ch.Schedule
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	return m, s.tellSchedule(ctx, m, ch.Actor, "told")
}

// tellSchedule tells a stored metric's loop its schedule, starting the loop when needed. A
// failure is written to the site history and returned as a *LoopNotToldError.
func (s *Starter) tellSchedule(ctx context.Context, m store.Metric, actor, what string) error {
	err := s.signalLoop(ctx, m, workflows.SignalSetSchedule, scheduleChange(m, actor))
	if err == nil {
		return nil
	}
	if herr := s.Store.AddNote(context.WithoutCancel(ctx), store.Note{TenantID: m.TenantID, Severity: store.SeverityWarning, Actor: store.ActorAutomatic,
		Action: "metric.loop_not_told", Message: fmt.Sprintf("the snapshot loop of %q was not %s (Temporal did not answer); the worker tells it the schedule when it next starts, as does the metric's next change", m.Name, what),
		Details: map[string]any{"metric_id": m.ID, "workflow_id": m.WorkflowID}}); herr != nil {
		slog.Default().Error("site history not written", "tenant", m.TenantID, "metric", m.ID, "err", herr)
	}
	return &LoopNotToldError{Metric: m, Err: err}
}

// EnsureSnapshotLoop starts a metric's loop when it is not running and tells it the
// metric's schedule.
func (s *Starter) EnsureSnapshotLoop(ctx context.Context, m store.Metric) error {
	return s.signalLoop(ctx, m, workflows.SignalSetSchedule, scheduleChange(m, store.ActorAutomatic))
}

// LoopsReconciled says what ReconcileSnapshotLoops did.
type LoopsReconciled struct {
	// Told counts the metrics whose loop was told its schedule (and started when missing);
	// Started lists the loops that were not running.
	Told    int
	Started []string
	// Stopped lists the loops cancelled because their metric no longer exists.
	Stopped []string
}

// ReconcileSnapshotLoops brings the metric snapshot loops on the starter's task queue in
// line with PostgreSQL, as the worker does when it starts: every stored metric's loop is told
// the metric's schedule (started when missing, so a metric stored while Temporal was down
// gets its loop, and a change the loop never heard of reaches it), and a running loop whose
// metric is gone is cancelled. It goes on past failures and returns them joined.
func (s *Starter) ReconcileSnapshotLoops(ctx context.Context) (LoopsReconciled, error) {
	var res LoopsReconciled
	// Loops first: a loop starts only after its metric is committed, so every loop listed
	// here has its metric in the read that follows, unless the metric is really gone.
	running, err := s.runningLoops(ctx)
	if err != nil {
		return res, err
	}
	metrics, err := s.Store.AllMetrics(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	stored := map[string]bool{}
	for _, m := range metrics {
		stored[m.WorkflowID] = true
		if err := s.EnsureSnapshotLoop(ctx, m); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Told++
		if !running[m.WorkflowID] {
			res.Started = append(res.Started, m.WorkflowID)
		}
	}
	for id := range running {
		if stored[id] {
			continue
		}
		if err := s.Temporal.CancelWorkflow(ctx, id, ""); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("stop %s: %w", id, err))
			continue
		}
		res.Stopped = append(res.Stopped, id)
	}
	return res, errors.Join(errs...)
}

// runningLoops lists the workflow IDs of the snapshot loops running on the task queue.
func (s *Starter) runningLoops(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	query := fmt.Sprintf("WorkflowType = %q AND ExecutionStatus = 'Running' AND TaskQueue = %q", workflows.WorkflowTypeMetricSnapshot, s.taskQueue())
	var token []byte
	for {
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list snapshot loops: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			out[e.GetExecution().GetWorkflowId()] = true
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// SyncStarted says what sync now did: the loop it asked, the week, and — when it finished
// in time — the week's check-in after the reading.
type SyncStarted struct {
	WorkflowID  string    `json:"workflow_id"`
	Week        string    `json:"week"`
	RequestedAt time.Time `json:"requested_at"`
	// Outcome is OutcomeDone (the loop read the gauge; Result holds the week's check-in) or
	// OutcomeAccepted (the loop took the request but the gauge had not answered when the
	// answer was due; the check-in follows).
	Outcome string `json:"outcome"`
	// Result is the week's check-in after the sync (OutcomeDone).
	Result *scorecard.SnapshotResult `json:"result,omitempty"`
}

// WeekFrozenError refuses a sync now: the metric's current week is frozen (its final
// snapshot was taken); nothing was read and the 5-minute window is not used up.
type WeekFrozenError struct {
	MetricID string
	Note     scorecard.FrozenWeekNote
}

func (e *WeekFrozenError) Error() string {
	return fmt.Sprintf("%s is frozen: its final snapshot was taken, so sync now reads nothing until the next week begins (%s); to change %s anyway, override it (PUT …/checkins/%s with \"override_frozen\": true)",
		e.Note.Week, e.Note.NextWeekStartsAt.UTC().Format(time.RFC3339), e.Note.Week, e.Note.Week)
}

// SnapshotFailedError means sync now ran but the gauge could not be read (the failure is in
// the site history).
type SnapshotFailedError struct{ Reason string }

func (e *SnapshotFailedError) Error() string { return e.Reason }

// SyncMetric asks the metric's loop to snapshot the current week now and answers what it
// did. PostgreSQL admits at most one request per scorecard.SyncWindow (a
// *store.SyncTooSoonError otherwise, with the time left); the request then goes to the loop
// as the sync-now update (update-with-start: a loop that is not running is started), whose
// validator refuses a frozen week (*WeekFrozenError) or a request inside the window the loop
// knows. A refused request gives its PostgreSQL window back.
func (s *Starter) SyncMetric(ctx context.Context, tenantID, id, actor string) (SyncStarted, error) {
	m, err := s.Store.GetMetric(ctx, tenantID, id)
	if err != nil {
		return SyncStarted{}, err
	}
	claim, err := s.Store.ClaimSync(ctx, tenantID, id, actor, scorecard.SyncWindow)
	if err != nil {
		return SyncStarted{}, err
	}
	var res scorecard.SnapshotResult
	accepted, err := s.updateLoopWithStart(ctx, m, workflows.UpdateSyncNow, scorecard.SyncRequest{RequestedBy: actor, RequestedAt: claim.At}, &res)
	if err != nil {
		// Nothing was read: give the window back so a retry is admitted.
		if rerr := s.Store.ReleaseSync(context.WithoutCancel(ctx), id, claim); rerr != nil {
			slog.Default().Error("sync-now claim not released", "tenant", tenantID, "metric", id, "err", rerr)
		}
		return SyncStarted{}, s.loopError(m, err)
	}
	week := scorecard.WeekOf(claim.At, zoneOrUTC(m.TimeZone))
	out := SyncStarted{WorkflowID: m.WorkflowID, Week: string(week), RequestedAt: claim.At, Outcome: OutcomeAccepted}
	if !accepted {
		out.Outcome, out.Result, out.Week = OutcomeDone, &res, string(res.Week)
	}
	if err := s.Store.AddHistory(ctx, tenantID, store.SeverityInfo, actor, "metric.sync_requested",
		fmt.Sprintf("sync now of %q requested for %s", m.Name, out.Week), map[string]any{"metric_id": id, "workflow_id": m.WorkflowID, "outcome": out.Outcome}); err != nil {
		slog.Default().Error("site history not written", "tenant", tenantID, "metric", id, "err", err)
	}
	return out, nil
}

// CurrentWeek is the metric's week now, in its owner's zone.
func (s *Starter) CurrentWeek(m store.Metric) scorecard.Week {
	return scorecard.WeekOf(s.now(), zoneOrUTC(m.TimeZone))
}

// OverrideCheckin stores a person's value for a week (see store.SetOverride for frozen
// weeks) and tells the loop. The check-in in PostgreSQL is the record the snapshots
// respect; a loop that could not be told only misses a note in its state, so that failure
// is logged and the override stands.
func (s *Starter) OverrideCheckin(ctx context.Context, o store.Override) (store.Checkin, error) {
	m, err := s.Store.GetMetric(ctx, o.TenantID, o.MetricID)
	if err != nil {
		return store.Checkin{}, err
	}
	if err := s.weekNotAhead(m, o.Week); err != nil {
		return store.Checkin{}, err
	}
	c, wasFrozen, err := s.Store.SetOverride(ctx, o)
	if err != nil {
		return c, err
	}
	s.tellLoop(ctx, m, scorecard.OverrideNote{Week: o.Week, Value: o.Value, Frozen: wasFrozen, By: o.Actor, At: c.CapturedAt})
	return c, nil
}

// ClearCheckinOverride removes a week's manual value (see store.ClearOverride) and tells the
// loop. The check-in is nil when the week had no gauge snapshot to fall back to.
func (s *Starter) ClearCheckinOverride(ctx context.Context, tenantID, id string, week scorecard.Week, actor string, allowFrozen bool) (*store.Checkin, error) {
	m, err := s.Store.GetMetric(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	c, wasFrozen, err := s.Store.ClearOverride(ctx, tenantID, id, week, actor, allowFrozen)
	if err != nil {
		return nil, err
	}
	s.tellLoop(ctx, m, scorecard.OverrideNote{Week: week, Cleared: true, Frozen: wasFrozen, By: actor, At: s.now().UTC()})
	return c, nil
}

func (s *Starter) tellLoop(ctx context.Context, m store.Metric, n scorecard.OverrideNote) {
	if err := s.signalLoop(ctx, m, workflows.SignalOverride, n); err != nil {
		slog.Default().Warn("snapshot loop not told of an override; the check-in stands", "tenant", m.TenantID, "metric", m.ID, "week", n.Week, "err", err)
	}
}

// weekNotAhead refuses weeks after the metric's current week.
func (s *Starter) weekNotAhead(m store.Metric, w scorecard.Week) error {
	if cur := s.CurrentWeek(m); w > cur {
		return &tenant.FieldError{Field: "week", Reason: fmt.Sprintf("%s has not started yet in %s (this week is %s)", w, m.TimeZone, cur)}
	}
	return nil
}

// signalLoop sends a signal to the metric's snapshot loop, starting the loop first when it
// is not running. Signal-with-start is atomic on the workflow ID: however many requests race,
// one loop runs per metric.
func (s *Starter) signalLoop(ctx context.Context, m store.Metric, signal string, arg any) error {
	in, err := s.loopInput(ctx, m, true)
	if err != nil {
		return err
	}
	if _, err := s.Temporal.SignalWithStartWorkflow(ctx, m.WorkflowID, signal, arg, s.loopOptions(m), workflows.MetricSnapshot, in); err != nil {
		return fmt.Errorf("signal %s to %s: %w", signal, m.WorkflowID, err)
	}
	return nil
}

// loopInput is the input a metric's loop starts with (used only when it is not running).
// With first set, a metric that has no gauge reading yet gets one at once: a new metric,
// one created while Temporal was down, or one deleted meanwhile (whose loop then finds it
// gone and ends at once).
func (s *Starter) loopInput(ctx context.Context, m store.Metric, first bool) (workflows.MetricSnapshotInput, error) {
	in := workflows.NewMetricSnapshotInput(m.ID, m.TenantID, m.GaugeID, m.TimeZone, m.Schedule)
	in.State.ScheduleRevision = m.Revision
	in.MaxEventsBeforeContinueAsNew = s.SnapshotMaxEvents
	in.FirstSnapshotRetryMax = s.FirstSnapshotRetryMax
	if first {
		has, err := s.Store.MetricHasReading(ctx, m.ID)
		if err != nil {
			return in, fmt.Errorf("read metric %s: %w", m.ID, err)
		}
		in.State.FirstSnapshotPending = !has
	}
	return in, nil
}

func (s *Starter) loopOptions(m store.Metric) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        m.WorkflowID,
		TaskQueue: s.taskQueue(),
		// A loop that ended (cancelled or terminated by ops) may be started again.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.TenantKey.ValueSet(m.TenantID)),
		StaticSummary:         fmt.Sprintf("weekly check-ins of %q from gauge %s (%s)", m.Name, m.GaugeID, m.TenantID),
	}
}

func scheduleChange(m store.Metric, actor string) scorecard.ScheduleChange {
	return scorecard.ScheduleChange{Schedule: m.Schedule, TimeZone: m.TimeZone, ChangedBy: actor, Revision: m.Revision}
}

func zoneOrUTC(name string) *time.Location {
	if loc, err := scorecard.LoadZone(name); err == nil {
		return loc
	}
	return time.UTC
}
