package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/scorecard"
)

// fakeCheckin is a week as the fake scorecard keeps it, with the rules the SQL enforces.
type fakeCheckin struct {
	value, gauge decimal.Decimal
	manual       bool
	frozen       bool
}

// fakeScorecard stands in for the activities: a gauge that counts up by one per read and
// in-memory check-ins.
type fakeScorecard struct {
	mu       sync.Mutex
	reads    int
	calls    []scorecard.SnapshotInput
	weeks    map[scorecard.Week]*fakeCheckin
	failures []scorecard.FailureNote
	failNext error
	// failFirst fails this many snapshots with a retryable error (the gauge service is down).
	failFirst int
	// gone answers every snapshot as the activity does for a deleted metric.
	gone bool
	// during runs inside a snapshot, while the workflow waits for it.
	during func(scorecard.SnapshotInput)
}

func newFakeScorecard() *fakeScorecard {
	return &fakeScorecard{weeks: map[scorecard.Week]*fakeCheckin{}}
}

func (f *fakeScorecard) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(f.snapshot, activity.RegisterOptions{Name: ActivitySnapshotMetric})
	env.RegisterActivityWithOptions(func(_ context.Context, n scorecard.FailureNote) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.failures = append(f.failures, n)
		return nil
	}, activity.RegisterOptions{Name: ActivityNoteSnapshotFailure})
}

func (f *fakeScorecard) snapshot(_ context.Context, in scorecard.SnapshotInput) (scorecard.SnapshotResult, error) {
	if f.during != nil {
		f.during(in)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if err := f.failNext; err != nil {
		f.failNext = nil
		return scorecard.SnapshotResult{}, err
	}
	if f.gone {
		return scorecard.SnapshotResult{}, temporal.NewNonRetryableApplicationError("metric acme-m1 is no longer stored", ErrMetricGone, nil)
	}
	if f.failFirst > 0 {
		f.failFirst--
		return scorecard.SnapshotResult{}, temporal.NewApplicationError("gauges GET /v1/gauges/g_open_tickets: 503 Service Unavailable", "Unavailable")
	}
	c := f.weeks[in.Week]
	if c != nil && c.frozen {
		return scorecard.SnapshotResult{Week: in.Week, Kind: in.Kind, Value: c.value, Frozen: true, Skipped: scorecard.SkippedFrozen}, nil
	}
	f.reads++
	v := decimal.NewFromInt(int64(f.reads))
	if c == nil {
		c = &fakeCheckin{}
		f.weeks[in.Week] = c
	}
	c.gauge = v
	if !c.manual {
		c.value = v
	}
	c.frozen = in.Final
	var frozenAt *time.Time
	if c.frozen {
		at := in.At
		frozenAt = &at
	}
	src := scorecard.SourceGauge
	if c.manual {
		src = scorecard.SourceManual
	}
	return scorecard.SnapshotResult{Week: in.Week, Kind: in.Kind, Value: c.value, GaugeValue: v, Source: src, Frozen: c.frozen, FrozenAt: frozenAt, At: in.At}, nil
}

// freeze is what a person's frozen-week override or a late final snapshot leaves behind the
// loop's back.
func (f *fakeScorecard) freeze(week scorecard.Week, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.weeks[week] = &fakeCheckin{value: decimal.RequireFromString(v), gauge: decimal.RequireFromString(v), frozen: true}
}

// setManual is what the API's store write does before it signals the loop.
func (f *fakeScorecard) setManual(week scorecard.Week, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.weeks[week]
	if c == nil {
		c = &fakeCheckin{}
		f.weeks[week] = c
	}
	c.value, c.manual = decimal.RequireFromString(v), true
}

func (f *fakeScorecard) clearManual(week scorecard.Week) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.weeks[week]
	c.value, c.manual = c.gauge, false
}

func (f *fakeScorecard) week(w scorecard.Week) fakeCheckin {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.weeks[w]; c != nil {
		return *c
	}
	return fakeCheckin{}
}

func (f *fakeScorecard) callsOf(kind string) []scorecard.SnapshotInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []scorecard.SnapshotInput
	for _, c := range f.calls {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// snapshotEnv is a time-skipping test environment running one metric's loop from start.
type snapshotEnv struct {
	*testsuite.TestWorkflowEnvironment
	t        *testing.T
	fake     *fakeScorecard
	start    time.Time
	loc      *time.Location
	timers   []time.Duration
	canceled int
	// rearmed is how many timers were cancelled before the test cancelled the loop (which
	// cancels the armed one too).
	rearmed int
}

func newSnapshotEnv(t *testing.T, zoneName string, start time.Time) *snapshotEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &snapshotEnv{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment(), t: t, fake: newFakeScorecard(), start: start}
	loc, err := time.LoadLocation(zoneName)
	require.NoError(t, err)
	e.loc = loc
	e.RegisterWorkflow(MetricSnapshot)
	e.fake.register(e.TestWorkflowEnvironment)
	e.SetStartTime(start)
	e.SetOnTimerScheduledListener(func(_ string, d time.Duration) { e.timers = append(e.timers, d) })
	e.SetOnTimerCanceledListener(func(string) { e.canceled++ })
	return e
}

// at runs f when the mock clock reaches t.
func (e *snapshotEnv) at(t time.Time, f func()) {
	e.t.Helper()
	require.True(e.t, t.After(e.start), "callback at %s is before the start %s", t, e.start)
	e.RegisterDelayedCallback(f, t.Sub(e.start))
}

func (e *snapshotEnv) run(s scorecard.Schedule, until time.Time) {
	e.t.Helper()
	e.at(until, func() {
		e.rearmed = e.canceled
		e.CancelWorkflow()
	})
	e.ExecuteWorkflow(MetricSnapshot, NewMetricSnapshotInput("acme-m1", "acme", "g_open_tickets", e.loc.String(), s))
	require.True(e.t, e.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	require.True(e.t, errors.As(e.GetWorkflowError(), &canceled), "the loop ends only when cancelled: %v", e.GetWorkflowError())
}

func (e *snapshotEnv) state() SnapshotState {
	e.t.Helper()
	v, err := e.QueryWorkflow(QuerySnapshotState)
	require.NoError(e.t, err)
	var st SnapshotState
	require.NoError(e.t, v.Get(&st))
	return st
}

func (e *snapshotEnv) local(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, e.loc)
}

// A full week, Monday 05:00 to the next Monday 07:00 local, in zones on both sides of UTC
// and in weeks where clocks change: one snapshot at 06:00 local every day, the timer gap
// 23 or 25 hours across the change, the Sunday snapshot freezing the week and Monday's
// starting the next.
func TestSnapshotLoopSnapshotsAtSixLocalEveryDayOfTheWeek(t *testing.T) {
	cases := []struct {
		name   string
		zone   string
		monday time.Time // a Monday, as a date
		week   scorecard.Week
		satSun time.Duration // the gap from Saturday's snapshot to Sunday's
	}{
		{"UTC+10 Brisbane", "Australia/Brisbane", day(2026, 11, 23), "2026-W48", 24 * time.Hour},
		{"UTC-5 Bogota", "America/Bogota", day(2026, 11, 23), "2026-W48", 24 * time.Hour},
		{"New York springs forward on Sunday 8 March", "America/New_York", day(2026, 3, 2), "2026-W10", 23 * time.Hour},
		{"Berlin springs forward on Sunday 29 March", "Europe/Berlin", day(2026, 3, 23), "2026-W13", 23 * time.Hour},
		{"New York falls back on Sunday 1 November", "America/New_York", day(2026, 10, 26), "2026-W44", 25 * time.Hour},
		{"Berlin falls back on Sunday 25 October", "Europe/Berlin", day(2026, 10, 19), "2026-W43", 25 * time.Hour},
		{"week 53 rolls over into 2027-W01", "Australia/Brisbane", day(2026, 12, 28), "2026-W53", 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e *snapshotEnv
			loc, err := time.LoadLocation(tc.zone)
			require.NoError(t, err)
			start := time.Date(tc.monday.Year(), tc.monday.Month(), tc.monday.Day(), 5, 0, 0, 0, loc)
			e = newSnapshotEnv(t, tc.zone, start)
			e.run(scorecard.DefaultSchedule(), time.Date(tc.monday.Year(), tc.monday.Month(), tc.monday.Day()+7, 7, 0, 0, 0, loc))

			snaps := e.fake.callsOf(scorecard.KindScheduled)
			require.Len(t, snaps, 8, "Monday to Sunday, then the next Monday")
			wantDays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday, time.Monday}
			for i, s := range snaps {
				local := s.At.In(loc)
				require.Equal(t, "06:00:00", local.Format(time.TimeOnly), "snapshot %d at %s", i, local)
				require.Equal(t, wantDays[i], local.Weekday())
				require.Equal(t, i == 6, s.Final, "only Sunday's snapshot is final (%s)", local.Weekday())
				if i < 7 {
					require.Equal(t, tc.week, s.Week)
				} else {
					require.Equal(t, tc.week.Next(), s.Week)
				}
			}
			want := []time.Duration{time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, tc.satSun, 24 * time.Hour}
			require.Equal(t, want, e.timers[:8], "timer gaps between 06:00 snapshots")
			require.Zero(t, e.rearmed, "no timer is re-armed without a reason")

			this, next := e.fake.week(tc.week), e.fake.week(tc.week.Next())
			require.True(t, this.frozen, "Sunday 06:00 froze the week")
			require.True(t, this.value.Equal(decimal.NewFromInt(7)), "the week holds Sunday's reading")
			require.False(t, next.frozen)
			require.True(t, next.value.Equal(decimal.NewFromInt(8)), "Monday's reading starts the next week")
		})
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestFrozenWeekIsNotChangedBySyncNowOnSunday(t *testing.T) {
	e := newSnapshotEnv(t, "America/Bogota", time.Date(2026, 11, 28, 12, 0, 0, 0, mustZone(t, "America/Bogota")))
	e.at(e.local(2026, 11, 29, 10, 0), func() { e.SignalWorkflow(SignalSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"}) })
	e.at(e.local(2026, 11, 29, 10, 1), func() {
		st := e.state()
		require.Equal(t, scorecard.SkippedFrozen, st.Last.Skipped)
		require.Equal(t, scorecard.Week("2026-W48"), st.Last.Week)
	})
	e.run(scorecard.DefaultSchedule(), e.local(2026, 11, 30, 7, 0))
	require.Equal(t, 2, e.fake.reads, "Sunday 06:00 and Monday 06:00; the sync of the frozen week reads nothing")
	require.True(t, e.fake.week("2026-W48").value.Equal(decimal.NewFromInt(1)))
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestOverrideSurvivesLaterSnapshotsUntilCleared(t *testing.T) {
	e := newSnapshotEnv(t, "Australia/Brisbane", time.Date(2026, 11, 23, 5, 0, 0, 0, mustZone(t, "Australia/Brisbane")))
	note := scorecard.OverrideNote{Week: "2026-W48", Value: decimal.RequireFromString("99.5"), By: "ann@acme.example"}
	e.at(e.local(2026, 11, 24, 12, 0), func() {
		e.fake.setManual("2026-W48", "99.5") // the API's store write
		e.SignalWorkflow(SignalOverride, note)
	})
	e.at(e.local(2026, 11, 26, 12, 0), func() {
		st := e.state()
		require.Len(t, st.Overrides, 1)
		require.Equal(t, note.Week, st.Overrides[0].Week)
		require.Equal(t, scorecard.SourceManual, st.Last.Source, "Wednesday's and Thursday's snapshots kept the manual value")
		require.True(t, st.Last.Value.Equal(decimal.RequireFromString("99.5")))
		require.True(t, e.fake.week("2026-W48").value.Equal(decimal.RequireFromString("99.5")))
	})
	e.at(e.local(2026, 11, 27, 12, 0), func() {
		e.fake.clearManual("2026-W48")
		e.SignalWorkflow(SignalOverride, scorecard.OverrideNote{Week: "2026-W48", Cleared: true, By: "ann@acme.example"})
	})
	e.run(scorecard.DefaultSchedule(), e.local(2026, 11, 28, 7, 0))

	w := e.fake.week("2026-W48")
	require.False(t, w.manual)
	require.True(t, w.value.Equal(decimal.NewFromInt(6)), "Saturday's reading shows once the override is cleared")
	require.Len(t, e.fake.callsOf(scorecard.KindScheduled), 6, "the override never stopped a snapshot")
}

func TestSyncNowRunsAtMostOncePerWindow(t *testing.T) {
	utc := time.UTC
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 23, 7, 0, 0, 0, utc))
	sync := func(at time.Time, requestedAt time.Time) {
		e.at(at, func() {
			e.SignalWorkflow(SignalSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example", RequestedAt: requestedAt})
		})
	}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, utc)
	sync(t0, time.Time{})                                            // runs
	sync(t0.Add(time.Second), time.Time{})                           // a racing duplicate: ignored
	sync(t0.Add(2*time.Minute), time.Time{})                         // inside the window: ignored
	sync(t0.Add(5*time.Minute), t0.Add(5*time.Minute))               // the API admitted it exactly 5 minutes later: runs
	sync(t0.Add(6*time.Minute), t0.Add(5*time.Minute))               // the same request delivered twice: ignored
	sync(t0.Add(7*time.Minute), t0.Add(time.Hour))                   // dated in the future: counts from now, inside: ignored
	sync(t0.Add(20*time.Minute), t0.Add(20*time.Minute+time.Second)) // dated a second ahead: counts from now, runs
	e.at(t0.Add(30*time.Minute), func() {
		st := e.state()
		require.Equal(t, 4, st.SyncsIgnored)
		require.Equal(t, t0.Add(20*time.Minute), st.LastSync.RequestedAt.UTC())
	})
	e.run(scorecard.DefaultSchedule(), time.Date(2026, 11, 23, 10, 0, 0, 0, utc))

	syncs := e.fake.callsOf(scorecard.KindSync)
	require.Len(t, syncs, 3)
	require.Equal(t, 3, e.fake.reads, "one gauge read per sync that ran, none for the ignored ones")
	for _, s := range syncs {
		require.Equal(t, scorecard.Week("2026-W48"), s.Week)
		require.False(t, s.Final, "sync now never freezes a week")
		require.Equal(t, "ann@acme.example", s.RequestedBy)
	}
	require.Zero(t, e.rearmed, "sync now does not disturb the snapshot timer")
}

func TestScheduleChangeMidWeekReArmsTheTimer(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	e := newSnapshotEnv(t, "Europe/Berlin", time.Date(2026, 11, 23, 5, 0, 0, 0, berlin))
	e.at(e.local(2026, 11, 24, 12, 0), func() {
		// The same schedule again (a restarted dev stack re-sends it): the timer stays.
		e.SignalWorkflow(SignalSetSchedule, scorecard.ScheduleChange{Schedule: scorecard.DefaultSchedule(), TimeZone: "Europe/Berlin"})
	})
	e.at(e.local(2026, 11, 25, 12, 0), func() {
		e.SignalWorkflow(SignalSetSchedule, scorecard.ScheduleChange{
			Schedule: scorecard.Schedule{Cadence: scorecard.Weekly, Weekday: "friday", Time: "17:30"}, TimeZone: "Europe/Berlin", ChangedBy: "ann@acme.example"})
	})
	e.at(e.local(2026, 11, 25, 12, 1), func() {
		st := e.state()
		require.Equal(t, "17:30", st.Schedule.Time)
		require.Equal(t, e.local(2026, 11, 27, 17, 30), st.NextSnapshotAt.In(berlin))
	})
	e.run(scorecard.DefaultSchedule(), e.local(2026, 12, 5, 0, 0))

	var at []string
	for _, s := range e.fake.callsOf(scorecard.KindScheduled) {
		at = append(at, s.At.In(berlin).Format("Mon 15:04")+map[bool]string{true: " final"}[s.Final])
	}
	require.Equal(t, []string{"Mon 06:00", "Tue 06:00", "Wed 06:00", "Fri 17:30 final", "Fri 17:30 final"}, at,
		"daily until Wednesday, then weekly on Friday; Thursday 06:00 never runs")
	require.Equal(t, 1, e.rearmed, "the Thursday 06:00 timer was cancelled, and only it")
	require.Contains(t, e.timers, 53*time.Hour+30*time.Minute, "Wednesday 12:00 → Friday 17:30")
	require.True(t, e.fake.week("2026-W48").frozen, "a weekly snapshot is its week's last")
}

// Two schedule changes cross on their way to the loop (two PATCHes at once, or the worker's
// reconciliation racing one): the newer schedule must hold, whichever signal comes last.
func TestAnOlderScheduleChangeArrivingLastIsIgnored(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	e := newSnapshotEnv(t, "Europe/Berlin", time.Date(2026, 11, 23, 5, 0, 0, 0, berlin))
	newer := scorecard.ScheduleChange{Schedule: scorecard.Schedule{Cadence: scorecard.Daily, Time: "09:00"}, TimeZone: "Europe/Berlin", Revision: 3}
	older := scorecard.ScheduleChange{Schedule: scorecard.Schedule{Cadence: scorecard.Daily, Time: "07:00"}, TimeZone: "Europe/Berlin", Revision: 2}
	e.at(e.local(2026, 11, 23, 12, 0), func() {
		e.SignalWorkflow(SignalSetSchedule, newer)
		e.SignalWorkflow(SignalSetSchedule, older)
	})
	e.at(e.local(2026, 11, 23, 12, 1), func() {
		st := e.state()
		require.Equal(t, "09:00", st.Schedule.Time, "the older change came last")
		require.Equal(t, int64(3), st.ScheduleRevision)
		require.Equal(t, e.local(2026, 11, 24, 9, 0), st.NextSnapshotAt.In(berlin))
		// A signal without a revision (an older sender) is taken as before.
		e.SignalWorkflow(SignalSetSchedule, scorecard.ScheduleChange{Schedule: scorecard.Schedule{Cadence: scorecard.Daily, Time: "10:00"}, TimeZone: "Europe/Berlin"})
	})
	e.at(e.local(2026, 11, 23, 12, 2), func() {
		require.Equal(t, "10:00", e.state().Schedule.Time)
	})
	e.run(scorecard.DefaultSchedule(), e.local(2026, 11, 23, 13, 0))
}

func TestSnapshotFailureIsRecordedAndTheLoopGoesOn(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC))
	e.fake.failNext = temporal.NewNonRetryableApplicationError("gauges GET /v1/gauges/{id}: not found", ErrInvalid, nil)
	e.at(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), func() {
		require.Contains(t, e.state().LastError, "not found")
	})
	e.run(scorecard.DefaultSchedule(), time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC))
	require.Len(t, e.fake.failures, 1)
	require.Equal(t, scorecard.Week("2026-W48"), e.fake.failures[0].Week)
	require.Len(t, e.fake.callsOf(scorecard.KindScheduled), 2, "Tuesday's snapshot ran after Monday's failed")
	require.Equal(t, 1, e.fake.reads)
}

// The loop continues as new when the history asks for it: it cancels its timer, serves the
// signals already waiting (none is lost), and carries its whole state into the next run,
// which arms its timer for the same snapshot time.
func TestSnapshotLoopContinuesAsNewKeepingItsState(t *testing.T) {
	e := newSnapshotEnv(t, "Australia/Brisbane", time.Date(2026, 11, 23, 5, 0, 0, 0, mustZone(t, "Australia/Brisbane")))
	e.at(e.local(2026, 11, 24, 9, 0), func() {
		e.fake.setManual("2026-W48", "12")
		e.SignalWorkflow(SignalOverride, scorecard.OverrideNote{Week: "2026-W48", Value: decimal.NewFromInt(12), By: "ann@acme.example"})
	})
	e.at(e.local(2026, 11, 24, 9, 1), func() {
		e.SetContinueAsNewSuggested(true)
		e.SignalWorkflow(SignalSyncNow, scorecard.SyncRequest{RequestedBy: "ann@acme.example"})
	})
	// While ann's sync runs, three more signals arrive and wait in their channels: the run
	// must serve them before it continues as new.
	e.fake.during = func(in scorecard.SnapshotInput) {
		if in.RequestedBy != "ann@acme.example" {
			return
		}
		e.SignalWorkflow(SignalOverride, scorecard.OverrideNote{Week: "2026-W47", Value: decimal.NewFromInt(3), By: "bob@acme.example"})
		e.SignalWorkflow(SignalSetSchedule, scorecard.ScheduleChange{Schedule: scorecard.Schedule{Cadence: scorecard.Daily, Time: "07:15"}, TimeZone: "Australia/Brisbane"})
		e.SignalWorkflow(SignalSyncNow, scorecard.SyncRequest{RequestedBy: "bob@acme.example"}) // inside ann's window: ignored, but judged
	}
	e.ExecuteWorkflow(MetricSnapshot, NewMetricSnapshotInput("acme-m1", "acme", "g_open_tickets", "Australia/Brisbane", scorecard.DefaultSchedule()))

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "want continue-as-new, got %v", e.GetWorkflowError())
	var next MetricSnapshotInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	st := next.State
	require.Equal(t, "acme-m1", st.MetricID)
	require.Equal(t, 1, st.Run)
	require.Equal(t, 3, st.Snapshots, "Monday's and Tuesday's 06:00 snapshots and ann's sync")
	require.Equal(t, "ann@acme.example", st.LastSync.RequestedBy)
	require.Equal(t, 1, st.SyncsIgnored, "bob's sync was drained and judged, not dropped")
	require.Len(t, st.Overrides, 2)
	require.Equal(t, "07:15", st.Schedule.Time, "the drained schedule change was applied")
	require.Equal(t, e.local(2026, 11, 25, 7, 15), st.NextSnapshotAt.In(e.loc))
	// That the armed timer is cancelled before the run ends is checked on a real server's
	// history (integration TestMetricSnapshotLoopContinuesAsNewOnTheServer): the test
	// environment reports a cancelled timer only after the workflow task, which here ends the run.

	// The next run picks up where this one stopped, window included.
	e2 := newSnapshotEnv(t, "Australia/Brisbane", e.local(2026, 11, 24, 9, 2))
	e.fake.during = nil
	e2.fake = e.fake
	e2.fake.register(e2.TestWorkflowEnvironment)
	e2.at(e2.local(2026, 11, 24, 9, 3), func() {
		st := e2.state()
		require.Equal(t, 2, st.Run)
		require.Equal(t, e2.local(2026, 11, 25, 7, 15), st.NextSnapshotAt.In(e2.loc))
		e2.SignalWorkflow(SignalSyncNow, scorecard.SyncRequest{RequestedBy: "cy@acme.example"}) // 2 minutes after ann's: ignored
	})
	e2.at(e2.local(2026, 11, 24, 9, 6), func() {
		e2.SignalWorkflow(SignalSyncNow, scorecard.SyncRequest{RequestedBy: "cy@acme.example"}) // 5 minutes after: runs
	})
	e2.at(e2.local(2026, 11, 25, 8, 0), e2.CancelWorkflow)
	e2.ExecuteWorkflow(MetricSnapshot, next)
	require.Equal(t, 22*time.Hour+13*time.Minute, e2.timers[0], "09:02 → 07:15 the next day")
	syncs := e.fake.callsOf(scorecard.KindSync)
	require.Len(t, syncs, 2)
	require.Equal(t, "cy@acme.example", syncs[1].RequestedBy)
	last := e.fake.callsOf(scorecard.KindScheduled)
	require.Equal(t, e.local(2026, 11, 25, 7, 15), last[len(last)-1].At.In(e.loc))
}

// The loop can also be told to continue as new by a history length, for tests on a real
// server; it keeps serving while under it.
func TestSnapshotLoopContinuesAsNewAtItsEventCap(t *testing.T) {
	e := newSnapshotEnv(t, "UTC", time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC))
	e.at(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), func() { e.SetCurrentHistoryLength(200) })
	in := NewMetricSnapshotInput("acme-m1", "acme", "g", "UTC", scorecard.DefaultSchedule())
	in.MaxEventsBeforeContinueAsNew = 100
	e.ExecuteWorkflow(MetricSnapshot, in)
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "%v", e.GetWorkflowError())
	require.Len(t, e.fake.callsOf(scorecard.KindScheduled), 2, "Monday 06:00, then Tuesday's fired with the cap reached")
}

// The snapshot loop's recorded histories (testdata/metric_snapshot_*.json, written by the
// integration tests TestMetricSyncNowReadsTheGaugeOnceAndRefusesInsideTheWindow and
// TestMetricSnapshotLoopContinuesAsNewOnTheServer with METERBRIDGE_RECORD_HISTORIES=1) are
// replayed by TestRecordedHistoriesReplay.
func init() { replayExtras = append(replayExtras, MetricSnapshot) }
