package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/scorecard"
)

// MetricSnapshotInput starts a metric's snapshot loop, or continues it as new: the loop's
// whole state travels in it.
type MetricSnapshotInput struct {
	State SnapshotState
	// MaxEventsBeforeContinueAsNew continues as new once the run's history holds this many
	// events, besides whenever the server suggests it (4096 events or 4 MiB by default). 0
	// leaves it to the server; tests set it low.
	MaxEventsBeforeContinueAsNew int
	// FirstSnapshotRetryMax caps the wait between attempts of the first snapshot (2 minutes
	// when 0); tests set it low.
	FirstSnapshotRetryMax time.Duration `json:",omitempty"`
}

// NewMetricSnapshotInput is the input of a new loop.
func NewMetricSnapshotInput(metricID, tenantID, gaugeID, timeZone string, s scorecard.Schedule) MetricSnapshotInput {
	return MetricSnapshotInput{State: SnapshotState{MetricID: metricID, TenantID: tenantID, GaugeID: gaugeID, TimeZone: timeZone, Schedule: s}}
}

// SnapshotState is what the snapshot-state query returns and continue-as-new carries.
type SnapshotState struct {
	MetricID string
	TenantID string
	GaugeID  string
	TimeZone string
	Schedule scorecard.Schedule
	// ScheduleRevision is the metric revision Schedule and TimeZone came from (0: unknown).
	ScheduleRevision int64 `json:",omitempty"`
	// NextSnapshotAt is when the armed timer fires (UTC).
	NextSnapshotAt time.Time
	// LastScheduledAt is the scheduled time of the last timer snapshot taken.
	LastScheduledAt time.Time
	// Last is the outcome of the last snapshot that succeeded.
	Last *scorecard.SnapshotResult `json:",omitempty"`
	// Snapshots counts the snapshots taken, over every run.
	Snapshots int
	// LastSync is the last sync now that ran; its RequestedAt starts the 5-minute window.
	LastSync scorecard.SyncRequest
	// SyncsIgnored counts sync-now signals that came inside the window.
	SyncsIgnored int
	// Overrides are the weeks a person gave a value, as the loop was told (newest last,
	// at most maxOverrideNotes); PostgreSQL holds the record.
	Overrides []scorecard.OverrideNote
	// LastError is why the last snapshot failed; empty after a success.
	LastError string `json:",omitempty"`
	// Run counts this loop's runs: 1, then one more per continue-as-new.
	Run int
	// FirstSnapshotPending: the metric has no gauge reading yet. A run that starts with it
	// reads the gauge at once (retrying until the gauge answers or the schedule's own
	// snapshot is due) instead of waiting for the schedule; any snapshot that succeeds
	// clears it.
	FirstSnapshotPending bool `json:",omitempty"`
	// FrozenWeek is the latest week the loop saw frozen, and when: sync now of that week is
	// refused without reading the gauge.
	FrozenWeek scorecard.Week `json:",omitempty"`
	FrozenAt   time.Time      `json:",omitzero"`
}

// StopLoopRequest ends a metric's loop: its metric was deleted.
type StopLoopRequest struct {
	Actor string
}

// LoopStopped is what a stopped loop had done.
type LoopStopped struct {
	MetricID  string
	Snapshots int
	Runs      int
	// LastWeek is the week of the last snapshot that succeeded, if any.
	LastWeek scorecard.Week `json:",omitempty"`
}

const maxOverrideNotes = 20

// Change IDs of workflow.GetVersion: shapes a run recorded before them never takes.
const (
	// changeFirstSnapshot: a new loop reads the gauge at once.
	changeFirstSnapshot = "first-snapshot"
	// changeEndWhenGone: a snapshot that finds its metric deleted ends the loop.
	changeEndWhenGone = "end-when-metric-gone"
)

// MetricSnapshot is the snapshot loop of one gauge-powered metric (workflow ID
// MetricSnapshotID). It arms a timer for the next scheduled local time (daily 06:00 by
// default), reads the gauge into the current week's check-in when it fires, and serves
// sync-now (update or signal), set-schedule and override signals while it waits. A new
// metric's loop reads the gauge at once. It runs until its metric is deleted (the stop
// update, or a snapshot that finds the metric gone: the workflow completes) or it is
// cancelled, continuing as new before its history grows large.
func MetricSnapshot(ctx workflow.Context, in MetricSnapshotInput) error {
	l := &snapshotLoop{st: in.State, maxEvents: in.MaxEventsBeforeContinueAsNew, firstRetryMax: in.FirstSnapshotRetryMax}
	l.st.Run++
	if err := workflow.SetQueryHandler(ctx, QuerySnapshotState, func() (SnapshotState, error) { return l.st, nil }); err != nil {
		return err
	}
	loc, err := scorecard.LoadZone(l.st.TimeZone)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("metric "+l.st.MetricID+": "+err.Error(), ErrInvalid, err)
	}
	if err := l.st.Schedule.Validate("schedule"); err != nil {
		return temporal.NewNonRetryableApplicationError("metric "+l.st.MetricID+": "+err.Error(), ErrInvalid, err)
	}
	l.loc = loc
	if err := workflow.UpsertTypedSearchAttributes(ctx, TenantKey.ValueSet(l.st.TenantID)); err != nil {
		return err
	}
	l.syncNow = workflow.GetSignalChannel(ctx, SignalSyncNow)
	l.setSchedule = workflow.GetSignalChannel(ctx, SignalSetSchedule)
	l.override = workflow.GetSignalChannel(ctx, SignalOverride)
	l.wake = workflow.NewBufferedChannel(ctx, 1)
	if err := l.registerUpdates(ctx); err != nil {
		return err
	}
	if l.st.FirstSnapshotPending && workflow.GetVersion(ctx, changeFirstSnapshot, workflow.DefaultVersion, 1) == 1 {
		l.startFirstSnapshot(ctx)
	}
	for {
		err := l.waitAndSnapshot(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if l.ending() {
			return l.end(ctx)
		}
		if err != nil && !errors.Is(err, errContinueAsNew) {
			return err
		}
		if l.shouldContinueAsNew(ctx) {
			return l.continueAsNew(ctx)
		}
	}
}

type snapshotLoop struct {
	st            SnapshotState
	loc           *time.Location
	maxEvents     int
	firstRetryMax time.Duration

	syncNow, setSchedule, override workflow.ReceiveChannel
	// wake is poked by handlers and the first snapshot when the waiting loop must look again.
	wake workflow.Channel

	// inFlight cancels the snapshots being taken (in call order), so stopping the loop
	// stops them; workStopped refuses new ones.
	inFlight    []inFlight
	nextWork    int
	workStopped bool
	// cancelFirst stops the first snapshot's retries; firstRunning says they go on.
	cancelFirst  workflow.CancelFunc
	firstRunning bool

	// stopping is the stop request, once one came; gone is set when a snapshot found the
	// metric deleted; ended once the loop has stopped its work.
	stopping *StopLoopRequest
	gone     bool
	ended    bool
}

type inFlight struct {
	id     int
	cancel workflow.CancelFunc
}

// workCtx derives, in the calling coroutine, a context that stopping the loop cancels; done
// forgets it.
func (l *snapshotLoop) workCtx(ctx workflow.Context) (wctx workflow.Context, done func()) {
	wctx, cancel := workflow.WithCancel(ctx)
	if l.workStopped {
		cancel()
		return wctx, func() {}
	}
	l.nextWork++
	id := l.nextWork
	l.inFlight = append(l.inFlight, inFlight{id: id, cancel: cancel})
	return wctx, func() {
		l.inFlight = slices.DeleteFunc(l.inFlight, func(w inFlight) bool { return w.id == id })
	}
}

// stopWork cancels every snapshot in flight, oldest first, and refuses new ones.
func (l *snapshotLoop) stopWork() {
	l.workStopped = true
	for _, w := range l.inFlight {
		w.cancel()
	}
	l.inFlight = nil
}

// errContinueAsNew leaves waitAndSnapshot (cancelling its timer) so the run can continue as new.
var errContinueAsNew = errors.New("continue as new")

func (l *snapshotLoop) poke() { l.wake.SendAsync(struct{}{}) }

// ending reports whether the loop must stop: its metric was deleted.
func (l *snapshotLoop) ending() bool { return l.stopping != nil || l.gone }

// waitAndSnapshot arms one timer for the next scheduled snapshot and serves signals until it
// fires (then takes the snapshot), a schedule change moves the snapshot time (the timer is
// cancelled and the caller arms a new one), the loop must stop, or the history asks for a new
// run.
func (l *snapshotLoop) waitAndSnapshot(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if l.st.NextSnapshotAt.IsZero() {
		l.st.NextSnapshotAt = scorecard.NextSnapshot(now, l.loc, l.st.Schedule)
	}
	// A snapshot that came due while the previous run was continuing as new fires at once.
	at := l.st.NextSnapshotAt
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, max(at.Sub(now), 0),
		workflow.TimerOptions{Summary: "snapshot " + at.In(l.loc).Format("Mon 2006-01-02 15:04 MST")})
	for {
		if l.ending() {
			return nil
		}
		fired := false
		var sync *scorecard.SyncRequest
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(f workflow.Future) { fired = f.Get(ctx, nil) == nil })
		sel.AddReceive(l.syncNow, func(c workflow.ReceiveChannel, _ bool) {
			var r scorecard.SyncRequest
			c.Receive(ctx, &r)
			sync = &r
		})
		sel.AddReceive(l.setSchedule, func(c workflow.ReceiveChannel, _ bool) {
			var ch scorecard.ScheduleChange
			c.Receive(ctx, &ch)
			l.applySchedule(ctx, ch)
		})
		sel.AddReceive(l.override, func(c workflow.ReceiveChannel, _ bool) {
			var n scorecard.OverrideNote
			c.Receive(ctx, &n)
			l.noteOverride(n)
		})
		sel.AddReceive(l.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if sync != nil {
			l.sync(ctx, *sync)
		}
		if fired {
			l.scheduled(ctx, at)
			return nil
		}
		if !l.st.NextSnapshotAt.Equal(at) {
			return nil // re-armed by a schedule change; the deferred cancel stops the old timer
		}
		if l.shouldContinueAsNew(ctx) {
			return errContinueAsNew
		}
	}
}

// scheduled takes the timer's snapshot for the week of its scheduled time, freezing the
// week when it is the week's last, and plans the next one.
func (l *snapshotLoop) scheduled(ctx workflow.Context, at time.Time) {
	l.st.LastScheduledAt = at
	l.st.NextSnapshotAt = scorecard.NextSnapshot(workflow.Now(ctx), l.loc, l.st.Schedule)
	_, _ = l.take(ctx, scorecard.SnapshotInput{
		Week:  scorecard.WeekOf(at, l.loc),
		Kind:  scorecard.KindScheduled,
		At:    at,
		Final: scorecard.IsFinal(at, l.loc, l.st.Schedule),
	})
}

// sync serves a sync-now signal unless one ran inside the window. The window is measured
// between the times the API admitted the requests (the same instants PostgreSQL compared),
// so the workflow applies the API's rule exactly; a signal sent without a time, or dated in
// the future, counts from when it is handled. (The API sends the sync-now update, which says
// what happened; the signal serves callers that do not wait.)
func (l *snapshotLoop) sync(ctx workflow.Context, r scorecard.SyncRequest) {
	now := workflow.Now(ctx)
	r = l.admitted(ctx, r)
	if last := l.st.LastSync.RequestedAt; !last.IsZero() && r.RequestedAt.Sub(last) < scorecard.SyncWindow {
		l.st.SyncsIgnored++
		workflow.GetLogger(ctx).Info("sync now inside the window; ignored", "metric", l.st.MetricID,
			"requested_by", r.RequestedBy, "last_sync_at", last, "requested_at", r.RequestedAt)
		return
	}
	l.st.LastSync = r
	_, _ = l.take(ctx, scorecard.SnapshotInput{Week: scorecard.WeekOf(now, l.loc), Kind: scorecard.KindSync, At: now, RequestedBy: r.RequestedBy})
}

// admitted dates a sync request: when the API admitted it, or now when it carries no time or
// one in the future.
func (l *snapshotLoop) admitted(ctx workflow.Context, r scorecard.SyncRequest) scorecard.SyncRequest {
	if now := workflow.Now(ctx); r.RequestedAt.IsZero() || r.RequestedAt.After(now) {
		r.RequestedAt = now
	}
	return r
}

// take runs the SnapshotMetric activity; stopping the loop cancels it. A snapshot that fails
// after its retries is recorded in the site history and the loop goes on (the next one tries
// again); one that finds the metric deleted ends the loop.
func (l *snapshotLoop) take(ctx workflow.Context, in scorecard.SnapshotInput) (scorecard.SnapshotResult, error) {
	wctx, done := l.workCtx(ctx)
	defer done()
	return l.takeWith(ctx, snapshotOptions(wctx, in), in)
}

// takeWith is take with the activity options (and the context that cancels it) in actx.
func (l *snapshotLoop) takeWith(ctx, actx workflow.Context, in scorecard.SnapshotInput) (scorecard.SnapshotResult, error) {
	in.MetricID, in.TenantID, in.GaugeID = l.st.MetricID, l.st.TenantID, l.st.GaugeID
	var res scorecard.SnapshotResult
	err := workflow.ExecuteActivity(actx, ActivitySnapshotMetric, in).Get(actx, &res)
	if err == nil {
		l.succeeded(res)
		return res, nil
	}
	if actx.Err() != nil {
		return res, err // cancelled: the loop stops, or continues as new
	}
	if isType(err, ErrMetricGone) && workflow.GetVersion(ctx, changeEndWhenGone, workflow.DefaultVersion, 1) == 1 {
		workflow.GetLogger(ctx).Info("metric deleted; the snapshot loop ends", "metric", l.st.MetricID)
		l.gone = true
		l.poke()
		return res, err
	}
	l.st.LastError = reason(err)
	if in.Kind == scorecard.KindFirst && !refusedForGood(err) {
		// Attempts that could have gone on ended: the schedule's snapshot was due.
		l.st.LastError = "the gauge did not answer before the schedule's own snapshot was due, which takes over: " + l.st.LastError
	}
	workflow.GetLogger(ctx).Error("snapshot failed", "metric", l.st.MetricID, "week", in.Week, "kind", in.Kind, "error", err)
	note := scorecard.FailureNote{MetricID: in.MetricID, TenantID: in.TenantID, Week: in.Week, Kind: in.Kind, Error: l.st.LastError, At: in.At}
	nctx := workflow.WithActivityOptions(actx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 10 * time.Minute,
	})
	if err := workflow.ExecuteActivity(nctx, ActivityNoteSnapshotFailure, note).Get(nctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("snapshot failure not recorded", "metric", l.st.MetricID, "error", err)
	}
	return res, err
}

// succeeded keeps a snapshot's outcome in the loop's state.
func (l *snapshotLoop) succeeded(res scorecard.SnapshotResult) {
	l.st.Last, l.st.LastError = &res, ""
	l.st.Snapshots++
	l.st.FirstSnapshotPending = false
	if res.Frozen && res.Week >= l.st.FrozenWeek {
		l.st.FrozenWeek, l.st.FrozenAt = res.Week, res.At
		if res.FrozenAt != nil {
			l.st.FrozenAt = *res.FrozenAt
		}
	}
}

// refusedForGood reports a failure that retrying cannot fix (as opposed to attempts that
// ran out of time).
func refusedForGood(err error) bool {
	var appErr *temporal.ApplicationError
	if temporal.IsTimeoutError(err) || !errors.As(err, &appErr) {
		return false
	}
	return appErr.NonRetryable() || slices.Contains(nonRetryable, appErr.Type())
}

func isType(err error, errType string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == errType
}

// snapshotOptions bound a snapshot to 15 minutes of retries: the gauge client already
// retries quick 429/5xx, and a snapshot that cannot be taken in that time is recorded as
// failed rather than holding the loop (signals wait while it runs).
func snapshotOptions(ctx workflow.Context, in scorecard.SnapshotInput) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 15 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Minute,
			NonRetryableErrorTypes: nonRetryable,
		},
		Summary: fmt.Sprintf("%s snapshot of %s", in.Kind, in.Week),
	})
}

// startFirstSnapshot reads a new metric's gauge at once, beside the waiting loop: when the
// gauge service is down the attempts go on (backing off to FirstSnapshotRetryMax) until it
// answers or the schedule's own snapshot is due, and the loop keeps serving meanwhile.
func (l *snapshotLoop) startFirstSnapshot(ctx workflow.Context) {
	now := workflow.Now(ctx)
	if l.st.NextSnapshotAt.IsZero() {
		l.st.NextSnapshotAt = scorecard.NextSnapshot(now, l.loc, l.st.Schedule)
	}
	in := scorecard.SnapshotInput{Week: scorecard.WeekOf(now, l.loc), Kind: scorecard.KindFirst, At: now}
	retryMax := l.firstRetryMax
	if retryMax <= 0 {
		retryMax = 2 * time.Minute
	}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		// Until the schedule's snapshot is due, which takes over; at least a minute.
		ScheduleToCloseTimeout: max(l.st.NextSnapshotAt.Sub(now), time.Minute),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        min(5*time.Second, retryMax),
			BackoffCoefficient:     2,
			MaximumInterval:        retryMax,
			NonRetryableErrorTypes: nonRetryable,
		},
		Summary: "first snapshot of " + string(in.Week),
	}
	l.firstRunning = true
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() {
			l.firstRunning = false
			l.poke()
		}()
		wctx, done := l.workCtx(gctx)
		defer done()
		wctx, l.cancelFirst = workflow.WithCancel(wctx)
		_, _ = l.takeWith(gctx, workflow.WithActivityOptions(wctx, opts), in)
	})
}

// applySchedule takes a new schedule or time zone. The API validated both; a signal that
// does not validate is logged and ignored rather than breaking the loop. So is one older
// than the schedule the loop holds: signals can cross (two changes at once, a worker's
// reconciliation racing a change), and the newer one must win whichever comes last. A
// signal without a revision (sent before revisions existed) is taken as it comes.
func (l *snapshotLoop) applySchedule(ctx workflow.Context, ch scorecard.ScheduleChange) {
	if ch.Revision > 0 && ch.Revision < l.st.ScheduleRevision {
		workflow.GetLogger(ctx).Info("older schedule change ignored", "metric", l.st.MetricID,
			"revision", ch.Revision, "holding", l.st.ScheduleRevision)
		return
	}
	loc, err := scorecard.LoadZone(ch.TimeZone)
	if err == nil {
		err = ch.Schedule.Validate("schedule")
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("schedule change ignored", "metric", l.st.MetricID, "error", err)
		return
	}
	l.loc, l.st.TimeZone, l.st.Schedule = loc, ch.TimeZone, ch.Schedule
	l.st.ScheduleRevision = max(l.st.ScheduleRevision, ch.Revision)
	// The caller re-arms its timer when this moves the next snapshot.
	l.st.NextSnapshotAt = scorecard.NextSnapshot(workflow.Now(ctx), l.loc, l.st.Schedule)
}

func (l *snapshotLoop) noteOverride(n scorecard.OverrideNote) {
	l.st.Overrides = slices.DeleteFunc(l.st.Overrides, func(o scorecard.OverrideNote) bool { return o.Week == n.Week })
	if !n.Cleared {
		l.st.Overrides = append(l.st.Overrides, n)
	}
	if len(l.st.Overrides) > maxOverrideNotes {
		l.st.Overrides = l.st.Overrides[len(l.st.Overrides)-maxOverrideNotes:]
	}
}

func (l *snapshotLoop) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || (l.maxEvents > 0 && info.GetCurrentHistoryLength() >= l.maxEvents)
}

// continueAsNew serves every signal that already arrived, so none is lost with this run,
// waits for the updates in flight, stops the first snapshot's retries (the next run starts
// them again), then starts the next run with the loop's state. The timer was cancelled by
// the caller; the next run arms it again for the same time.
func (l *snapshotLoop) continueAsNew(ctx workflow.Context) error {
	for l.drainSignals(ctx) {
	}
	if l.cancelFirst != nil {
		l.cancelFirst()
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !l.firstRunning }); err != nil {
		return err
	}
	if l.ending() {
		return l.end(ctx)
	}
	return workflow.NewContinueAsNewError(ctx, MetricSnapshot, MetricSnapshotInput{State: l.st, MaxEventsBeforeContinueAsNew: l.maxEvents,
		FirstSnapshotRetryMax: l.firstRetryMax})
}

// end stops the loop because its metric was deleted: snapshots in flight are cancelled, the
// stop update is answered, and the workflow completes.
func (l *snapshotLoop) end(ctx workflow.Context) error {
	l.stopWork()
	l.ended = true
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	by := "a snapshot that found it gone"
	if l.stopping != nil {
		by = l.stopping.Actor
	}
	workflow.GetLogger(ctx).Info("metric deleted; snapshot loop ended", "metric", l.st.MetricID, "by", by, "snapshots", l.st.Snapshots)
	return nil
}

// drainSignals handles the signals waiting in the channels and reports whether there were any.
func (l *snapshotLoop) drainSignals(ctx workflow.Context) bool {
	got := false
	for {
		var ch scorecard.ScheduleChange
		if !l.setSchedule.ReceiveAsync(&ch) {
			break
		}
		l.applySchedule(ctx, ch)
		got = true
	}
	for {
		var n scorecard.OverrideNote
		if !l.override.ReceiveAsync(&n) {
			break
		}
		l.noteOverride(n)
		got = true
	}
	for {
		var r scorecard.SyncRequest
		if !l.syncNow.ReceiveAsync(&r) {
			break
		}
		l.sync(ctx, r)
		got = true
	}
	return got
}
