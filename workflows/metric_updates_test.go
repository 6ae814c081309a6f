package workflows

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meterbridge/meterbridge/scorecard"
)

// updateOutcome is what one update came back with.
type updateOutcome struct {
	rejected error
	result   any
	err      error
	done     bool
}

// update sends an update at the mock time t and records its outcome.
func (e *snapshotEnv) update(t time.Time, name string, arg any) *updateOutcome {
	e.t.Helper()
	out := &updateOutcome{}
	e.at(t, func() {
		e.UpdateWorkflow(name, name+"-"+t.Format(time.RFC3339), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.rejected, out.done = err, true },
			OnComplete: func(r any, err error) {
				out.result, out.err, out.done = r, err, true
			},
		}, arg)
	})
	return out
}

func newLoopInput(e *snapshotEnv, s scorecard.Schedule) MetricSnapshotInput {
	return NewMetricSnapshotInput("acme-m1", "acme", "g_open_tickets", e.loc.String(), s)
}

func appType(t *testing.T, err error) (string, *temporal.ApplicationError) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	return appErr.Type(), appErr
}

// A new metric's loop reads the gauge as soon as it starts — Tuesday 10:00, not Wednesday
// 06:00 — into the current week, without freezing it; the schedule then goes on as usual.
func TestNewMetricLoopReadsTheGaugeAtOnce(t *testing.T) {
	e := newSnapshotEnv(t, "Europe/Berlin", time.Date(2026, 11, 24, 10, 0, 0, 0, mustZone(t, "Europe/Berlin")))
	e.at(e.local(2026, 11, 24, 10, 1), func() {
		st := e.state()
		require.False(t, st.FirstSnapshotPending, "the first value arrived")
		require.Equal(t, scorecard.KindFirst, st.Last.Kind)
		require.Equal(t, e.local(2026, 11, 25, 6, 0), st.NextSnapshotAt.In(e.loc), "the schedule is unchanged")
	})
	e.at(e.local(2026, 11, 25, 7, 0), e.CancelWorkflow)
	in := newLoopInput(e, scorecard.DefaultSchedule())
	in.State.FirstSnapshotPending = true
	e.ExecuteWorkflow(MetricSnapshot, in)
	var canceled *temporal.CanceledError
	require.True(t, errors.As(e.GetWorkflowError(), &canceled), "%v", e.GetWorkflowError())

	first := e.fake.callsOf(scorecard.KindFirst)
	require.Len(t, first, 1)
	require.Equal(t, e.start, first[0].At.In(e.loc), "read when the loop started")
	require.Equal(t, scorecard.Week("2026-W48"), first[0].Week)
	require.False(t, first[0].Final, "a first reading never freezes its week")
	require.Len(t, e.fake.callsOf(scorecard.KindScheduled), 1, "then Wednesday 06:00 as scheduled")
	require.True(t, e.fake.week("2026-W48").value.Equal(decimal.NewFromInt(2)))
}

// The gauge service is down when the metric is created: the loop keeps trying (backing
// off), keeps serving people meanwhile, and the first value arrives as soon as the gauge
// answers — long before the next 06:00.
func TestFirstSnapshotArrivesWhenTheGaugeComesBack(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	e.fake.failFirst = 6 // about three minutes of attempts
	e.at(time.Date(2026, 11, 24, 10, 0, 30, 0, time.UTC), func() {
		require.True(t, e.state().FirstSnapshotPending, "still trying")
		// The loop answers people while it tries.
		e.SignalWorkflow(SignalSetSchedule, scorecard.ScheduleChange{Schedule: scorecard.Schedule{Cadence: scorecard.Daily, Time: "07:30"}, TimeZone: "UTC"})
	})
	e.at(time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC), func() {
		st := e.state()
		require.False(t, st.FirstSnapshotPending)
		require.Equal(t, "07:30", st.Schedule.Time)
		require.Equal(t, scorecard.KindFirst, st.Last.Kind)
	})
	e.at(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), e.CancelWorkflow)
	in := newLoopInput(e, scorecard.DefaultSchedule())
	in.State.FirstSnapshotPending = true
	e.ExecuteWorkflow(MetricSnapshot, in)

	require.Len(t, e.fake.callsOf(scorecard.KindFirst), 7, "six refused attempts, then the reading")
	require.Equal(t, 1, e.fake.reads)
	require.Empty(t, e.fake.failures, "retried attempts are not failures")
	require.Equal(t, 2, e.canceled, "the schedule change re-armed the timer once; the end cancelled the last")
}

// The gauge stays down past the schedule's own time: the first snapshot's attempts end
// there (recorded once as failed), and the scheduled snapshot takes over and brings the
// first value.
func TestFirstSnapshotGivesWayToTheScheduleWhenTheGaugeStaysDown(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 24, 5, 50, 0, 0, time.UTC))
	e.fake.failFirst = 1000
	e.at(time.Date(2026, 11, 24, 6, 5, 0, 0, time.UTC), func() { e.fake.failFirst = 0 })
	e.at(time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC), func() {
		require.False(t, e.state().FirstSnapshotPending, "the scheduled snapshot brought the first value")
	})
	e.at(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), e.CancelWorkflow)
	in := newLoopInput(e, scorecard.DefaultSchedule())
	in.State.FirstSnapshotPending = true
	e.ExecuteWorkflow(MetricSnapshot, in)

	require.Len(t, e.fake.failures, 1, "the first snapshot's end is recorded once")
	require.Equal(t, scorecard.KindFirst, e.fake.failures[0].Kind)
	require.Contains(t, e.fake.failures[0].Error, "the schedule's own snapshot was due")
	require.Contains(t, e.fake.failures[0].Error, "503 Service Unavailable", "with the gauge's last answer")
	require.Equal(t, 1, e.fake.reads, "06:00's snapshot read the gauge once it answered (after its own retries)")
	scheduled := e.fake.callsOf(scorecard.KindScheduled)
	require.Equal(t, time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), scheduled[len(scheduled)-1].At)
}

// Sync now as an update answers what the loop did: the week's value after the reading.
// Within 5 minutes of it a second is refused by the validator, and a sync on Sunday after
// the week's final snapshot is refused as frozen — the gauge is not read for either.
func TestSyncNowUpdateAnswersTheValueAndRefusesAFrozenSunday(t *testing.T) {
	bogota := mustZone(t, "America/Bogota")
	e := newSnapshotEnv(t, "America/Bogota", time.Date(2026, 11, 28, 12, 0, 0, 0, bogota))
	done := e.update(e.local(2026, 11, 28, 12, 30), UpdateSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"})
	soon := e.update(e.local(2026, 11, 28, 12, 33), UpdateSyncNow, scorecard.SyncRequest{RequestedBy: "bob@acme.example"})
	sunday := e.update(e.local(2026, 11, 29, 10, 0), UpdateSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"})
	monday := e.update(e.local(2026, 11, 30, 10, 0), UpdateSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"})
	e.run(scorecard.DefaultSchedule(), e.local(2026, 11, 30, 11, 0))

	require.True(t, done.done)
	require.NoError(t, done.err)
	res := done.result.(scorecard.SnapshotResult)
	require.Equal(t, scorecard.Week("2026-W48"), res.Week)
	require.True(t, res.Value.Equal(decimal.NewFromInt(1)), "the gauge's first reading")

	typ, _ := appType(t, soon.rejected)
	require.Equal(t, ErrSyncTooSoon, typ)

	typ, appErr := appType(t, sunday.rejected)
	require.Equal(t, ErrWeekFrozen, typ)
	var note scorecard.FrozenWeekNote
	require.NoError(t, appErr.Details(&note))
	require.Equal(t, scorecard.Week("2026-W48"), note.Week)
	require.Equal(t, e.local(2026, 11, 29, 6, 0), note.FrozenAt.In(bogota), "frozen by Sunday 06:00")
	require.Equal(t, e.local(2026, 11, 30, 0, 0), note.NextWeekStartsAt.In(bogota))
	require.Contains(t, appErr.Message(), "2026-W48 is frozen")

	require.NoError(t, monday.err, "Monday's week is open")
	require.Equal(t, scorecard.Week("2026-W49"), monday.result.(scorecard.SnapshotResult).Week)
	require.Equal(t, 4, e.fake.reads, "ann's Saturday sync, Sunday 06:00, Monday 06:00, Monday's sync")
	require.True(t, e.fake.week("2026-W48").value.Equal(decimal.NewFromInt(2)), "the frozen week kept Sunday's reading")
}

// A week frozen behind the loop's back (the loop did not take the final snapshot itself):
// the handler runs, the activity finds it frozen and reads nothing, the update fails as
// frozen, and the request gives its window back.
func TestSyncNowUpdateFindsAWeekFrozenElsewhere(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	e.fake.freeze("2026-W48", "5")
	frozen := e.update(time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC), UpdateSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"})
	e.at(time.Date(2026, 11, 25, 12, 2, 0, 0, time.UTC), func() {
		st := e.state()
		require.True(t, st.LastSync.RequestedAt.IsZero(), "the window was given back")
		require.Equal(t, scorecard.Week("2026-W48"), st.FrozenWeek, "the loop knows now")
	})
	e.run(scorecard.DefaultSchedule(), time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC))
	require.Nil(t, frozen.rejected)
	typ, _ := appType(t, frozen.err)
	require.Equal(t, ErrWeekFrozen, typ)
	require.Zero(t, e.fake.reads)
}

// The stop update (the metric was deleted) ends the loop cleanly: the workflow completes
// without error, the armed timer never fires, and the answer says what the loop had done.
func TestStopUpdateEndsTheLoopCleanly(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC))
	stop := e.update(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), UpdateStopLoop, StopLoopRequest{Actor: "admin@acme.example"})
	after := e.update(time.Date(2026, 11, 24, 12, 0, 0, 1, time.UTC), UpdateSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"})
	e.ExecuteWorkflow(MetricSnapshot, newLoopInput(e, scorecard.DefaultSchedule()))

	require.True(t, e.IsWorkflowCompleted())
	require.NoError(t, e.GetWorkflowError(), "a stopped loop completes; it is not cancelled or failed")
	require.NoError(t, stop.err)
	got := stop.result.(LoopStopped)
	require.Equal(t, LoopStopped{MetricID: "acme-m1", Snapshots: 2, Runs: 1, LastWeek: "2026-W48"}, got)
	require.Len(t, e.fake.callsOf(scorecard.KindScheduled), 2, "Monday and Tuesday; nothing after the stop")
	if after.done {
		require.Error(t, after.rejected, "a sync after the stop is refused")
	}
}

// A snapshot that finds its metric deleted (the stop never reached the loop: Temporal was
// down when the metric was deleted) ends the loop cleanly, without a failure row.
func TestLoopEndsWhenASnapshotFindsItsMetricGone(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC))
	e.at(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), func() { e.fake.gone = true })
	e.ExecuteWorkflow(MetricSnapshot, newLoopInput(e, scorecard.DefaultSchedule()))
	require.True(t, e.IsWorkflowCompleted())
	require.NoError(t, e.GetWorkflowError())
	require.Len(t, e.fake.callsOf(scorecard.KindScheduled), 2, "Monday's snapshot, then Tuesday's found it gone")
	require.Empty(t, e.fake.failures)
}

// A run that continues as new while the first snapshot is still being retried stops those
// attempts and hands the pending first snapshot to the next run, which starts them again.
func TestFirstSnapshotStillPendingIsCarriedIntoTheNextRun(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	e.fake.failFirst = 1000
	// (The test environment gives up after ten attempts; the server does not.)
	e.at(time.Date(2026, 11, 24, 10, 1, 0, 0, time.UTC), func() {
		e.SetContinueAsNewSuggested(true)
		e.SignalWorkflow(SignalOverride, scorecard.OverrideNote{Week: "2026-W48", Value: decimal.NewFromInt(1), By: "ann@acme.example"})
	})
	in := newLoopInput(e, scorecard.DefaultSchedule())
	in.State.FirstSnapshotPending = true
	in.FirstSnapshotRetryMax = 30 * time.Second
	e.ExecuteWorkflow(MetricSnapshot, in)
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "%v", e.GetWorkflowError())
	var next MetricSnapshotInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.True(t, next.State.FirstSnapshotPending)
	require.Equal(t, 30*time.Second, next.FirstSnapshotRetryMax)
	require.Empty(t, e.fake.failures, "stopped attempts are not a failure")
}

// The first snapshot is guarded with workflow.GetVersion: a loop that a newer API started
// with a pending first snapshot, but that an older worker ran (and so never took it), still
// replays on today's code. Without the guard its history — a timer where the code now
// schedules an activity — would fail as non-deterministic.
func TestLoopStartedWithAPendingFirstSnapshotByAnOlderWorkerReplays(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "metric_snapshot_sync_v0.json"))
	require.NoError(t, err)
	var h historypb.History
	require.NoError(t, protojson.Unmarshal(raw, &h))
	started := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	var in MetricSnapshotInput
	dc := converter.GetDefaultDataConverter()
	require.NoError(t, dc.FromPayloads(started.GetInput(), &in))
	require.False(t, in.State.FirstSnapshotPending)
	in.State.FirstSnapshotPending = true
	payloads, err := dc.ToPayloads(in)
	require.NoError(t, err)
	started.Input = payloads

	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(MetricSnapshot)
	require.NoError(t, r.ReplayWorkflowHistory(nil, &h))
}

// A stop that arrives while a snapshot is being taken cancels it: the loop does not wait for
// the gauge (which may take minutes when it is slow) before it ends.
func TestStopUpdateCancelsTheSnapshotInFlight(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC))
	var stop updateOutcome
	e.fake.during = func(in scorecard.SnapshotInput) {
		e.UpdateWorkflow(UpdateStopLoop, "stop-1", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { stop.rejected = err },
			OnComplete: func(r any, err error) { stop.result, stop.err, stop.done = r, err, true },
		}, StopLoopRequest{Actor: "admin@acme.example"})
	}
	e.ExecuteWorkflow(MetricSnapshot, newLoopInput(e, scorecard.DefaultSchedule()))
	require.True(t, e.IsWorkflowCompleted())
	require.NoError(t, e.GetWorkflowError())
	require.NoError(t, stop.rejected)
	require.True(t, stop.done)
	require.NoError(t, stop.err)
	require.Equal(t, 0, stop.result.(LoopStopped).Snapshots, "the snapshot in flight was cancelled, not counted")
}
