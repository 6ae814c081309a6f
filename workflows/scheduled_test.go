package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// runScheduled runs ScheduledCycle as the server would for a run scheduled at nominal and
// started late by lateness, and returns its result and the cycle it started (if any).
func runScheduled(t *testing.T, in ScheduledInput, nominal time.Time, lateness time.Duration) (ScheduledResult, *CycleInput) {
	t.Helper()
	return runScheduledNow(t, in, settingsAsBuilt(in), nominal, lateness)
}

// settingsAsBuilt is a tenant whose settings are still those the schedule was built from.
func settingsAsBuilt(in ScheduledInput) *tenant.Tenant {
	tn := &tenant.Tenant{ID: in.TenantID, TimeZone: in.TimeZone, Settings: tenant.Defaults()}
	switch in.Action {
	case ActionRefresh:
		tn.Settings.Licences.Refresh = in.Schedule
	case ActionSync:
		tn.Settings.Licences.Sync = in.Schedule
	default:
		tn.Settings.Publish.Schedule = in.Schedule
	}
	return tn
}

// registerCheck stands in for the CheckScheduledRun activity: the real verdict against the
// tenant as it is when the run starts (nil: gone).
func registerCheck(env *testsuite.TestWorkflowEnvironment, now *tenant.Tenant) {
	env.RegisterActivityWithOptions(func(_ context.Context, in RunCheckInput) (RunCheck, error) {
		return CheckScheduledRun(in, now), nil
	}, activity.RegisterOptions{Name: ActivityCheckScheduledRun})
}

// runScheduledNow is runScheduled with the tenant's settings as they are when the run starts.
func runScheduledNow(t *testing.T, in ScheduledInput, now *tenant.Tenant, nominal time.Time, lateness time.Duration) (ScheduledResult, *CycleInput) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ScheduledCycle)
	env.RegisterWorkflow(BillingCycle)
	registerCheck(env, now)
	var started *CycleInput
	env.OnWorkflow(BillingCycle, mock.Anything, mock.Anything).Return(func(_ workflow.Context, ci CycleInput) (CycleResult, error) {
		started = &ci
		return CycleResult{Status: billing.Completed}, nil
	})
	env.SetStartTime(nominal.Add(lateness))
	env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(ScheduledTimeKey.ValueSet(nominal)))
	env.ExecuteWorkflow(ScheduledCycle, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ScheduledResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, started
}

func publishInput(day string, hour int, zone string) ScheduledInput {
	return ScheduledInput{TenantID: "acme", Action: ActionPublish, TimeZone: zone,
		Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: day, Hour: hour}}
}

// calendarFires lists the times the server's calendar (starter.Spec) fires in a year: the
// given day numbers of every month that has them, at hour local.
func calendarFires(year int, days []int, hour int, loc *time.Location) []time.Time {
	var out []time.Time
	for m := time.January; m <= time.December; m++ {
		for _, d := range days {
			at := time.Date(year, m, d, hour, 0, 0, 0, loc)
			if at.Month() == m {
				out = append(out, at)
			}
		}
	}
	return out
}

func TestDay31PublishesOnlyInMonthsThatHaveIt(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	var periods []billing.Period
	// The calendar never fires on a day a month lacks; each time it does fire publishes.
	for _, at := range calendarFires(2026, []int{31}, 6, loc) {
		res, started := runScheduled(t, publishInput("31", 6, "Europe/London"), at, 0)
		require.Equal(t, OutcomeStarted, res.Outcome)
		periods = append(periods, started.Period)
	}
	require.Equal(t, []billing.Period{"2026-01", "2026-03", "2026-05", "2026-07", "2026-08", "2026-10", "2026-12"}, periods)
}

func TestLastDayPublishesOncePerMonthInCommonAndLeapYears(t *testing.T) {
	for _, year := range []int{2026, 2028} {
		loc, _ := time.LoadLocation("America/New_York")
		published := map[billing.Period]time.Time{}
		// Schedules synced before calendars were exact fire "last" on days 28–31; only the
		// month's last day publishes.
		for _, at := range calendarFires(year, []int{28, 29, 30, 31}, 9, loc) {
			res, started := runScheduled(t, publishInput(tenant.LastDay, 9, "America/New_York"), at, 0)
			if res.Skip == SkipNotRunDay {
				require.Nil(t, started)
				continue
			}
			require.Equal(t, OutcomeStarted, res.Outcome)
			require.NotContains(t, published, started.Period, "period published twice")
			published[started.Period] = at
		}
		require.Len(t, published, 12, "year %d", year)
		feb := published[billing.Period(time.Date(year, 2, 1, 0, 0, 0, 0, time.UTC).Format("2006-01"))]
		wantFeb := 28
		if year == 2028 {
			wantFeb = 29
		}
		require.Equal(t, wantFeb, feb.Day(), "February %d publishes on its last day", year)
	}
}

func TestFebruary29And30DoNotPublishInCommonFebruary(t *testing.T) {
	loc := time.UTC
	for _, day := range []string{"29", "30"} {
		n := 0
		for _, at := range calendarFires(2026, []int{28, 29, 30}, 6, loc) {
			if at.Month() != time.February {
				continue
			}
			res, _ := runScheduled(t, publishInput(day, 6, "UTC"), at, 0)
			if res.Outcome == OutcomeStarted {
				n++
			}
		}
		require.Zero(t, n, "day %s published in February 2026", day)
	}
	res, started := runScheduled(t, publishInput("29", 6, "UTC"), time.Date(2028, 2, 29, 6, 0, 0, 0, time.UTC), 0)
	require.Equal(t, OutcomeStarted, res.Outcome)
	require.Equal(t, billing.Period("2028-02"), started.Period)
}

func TestPeriodComesFromTheScheduledTimeNotTheWallClock(t *testing.T) {
	loc, _ := time.LoadLocation("Australia/Sydney")
	nominal := time.Date(2026, 11, 30, 23, 0, 0, 0, loc) // the last evening of November, local
	res, started := runScheduled(t, publishInput(tenant.LastDay, 23, "Australia/Sydney"), nominal, 50*time.Hour)
	require.Equal(t, OutcomeStarted, res.Outcome)
	require.Equal(t, billing.Period("2026-11"), started.Period, "a late run still publishes the month it was scheduled for")
	require.Equal(t, billing.Automatic, started.Trigger)
	require.Equal(t, BillingCycleID("acme", "2026-11"), res.WorkflowID)
}

func TestDailyRefreshLabelsTheLocalDayAcrossDSTWeeks(t *testing.T) {
	for _, tc := range []struct {
		zone  string
		start time.Time // a Monday of a week with a DST change
	}{
		{"Europe/Berlin", time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC)},     // clocks forward on Sunday 29 March
		{"America/New_York", time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)}, // clocks back on Sunday 1 November
		{"America/New_York", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},   // clocks forward on Sunday 8 March
	} {
		loc, _ := time.LoadLocation(tc.zone)
		in := ScheduledInput{TenantID: "acme", Action: ActionRefresh, TimeZone: tc.zone,
			Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 0}}
		for i := range 8 {
			day := tc.start.AddDate(0, 0, i)
			// Midnight local is the previous day in UTC for zones east of Greenwich and the
			// same day west of it; the period must be the local day either way.
			nominal := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
			res, started := runScheduled(t, in, nominal, 3*time.Hour)
			require.Equal(t, OutcomeStarted, res.Outcome)
			require.Equal(t, billing.LicenceSync, started.Kind)
			require.Equal(t, billing.Period(day.Format(time.DateOnly)), started.Period, "%s %s", tc.zone, nominal)
			require.Equal(t, LicenceSyncID("acme", started.Period), res.WorkflowID)
		}
	}
}

func TestMonthlyRefreshLabelsTheMonth(t *testing.T) {
	in := ScheduledInput{TenantID: "acme", Action: ActionRefresh, TimeZone: "UTC",
		Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: "3", Hour: 5}}
	res, started := runScheduled(t, in, time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC), 0)
	require.Equal(t, OutcomeStarted, res.Outcome)
	require.Equal(t, billing.Period("2026-12"), started.Period)
}

// Berlin skips 02:00 on 2026-03-29: the calendar fires at 03:00 that day, and it publishes.
// Schedules synced before calendars were exact also fire at 03:00 on other days; those
// slots do nothing.
func TestRunHourSkippedByDSTRunsOnceAnHourLater(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	in := publishInput("29", 2, "Europe/Berlin")
	// The DST day: 02:00 does not exist, the 03:00 slot publishes March.
	res, started := runScheduled(t, in, time.Date(2026, 3, 29, 3, 0, 0, 0, berlin), 0)
	require.Equal(t, OutcomeStarted, res.Outcome)
	require.Equal(t, billing.Period("2026-03"), started.Period)
	// An ordinary day: 02:00 publishes, the 03:00 slot does nothing.
	res, _ = runScheduled(t, in, time.Date(2026, 4, 29, 2, 0, 0, 0, berlin), 0)
	require.Equal(t, OutcomeStarted, res.Outcome)
	res, started = runScheduled(t, in, time.Date(2026, 4, 29, 3, 0, 0, 0, berlin), 0)
	require.Equal(t, OutcomeSkipped, res.Outcome)
	require.Equal(t, SkipNotRunTime, res.Skip)
	require.Nil(t, started)
}

// claimingCycles stands in for BillingCycle across many scheduled runs: like the real one,
// an automatic cycle of a period already claimed ends as already published.
type claimingCycles struct{ published map[billing.Period]int }

func (c *claimingCycles) run(t *testing.T, in ScheduledInput, nominal time.Time) (ScheduledResult, billing.Status) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ScheduledCycle)
	env.RegisterWorkflow(BillingCycle)
	registerCheck(env, settingsAsBuilt(in))
	var status billing.Status
	env.OnWorkflow(BillingCycle, mock.Anything, mock.Anything).Return(func(_ workflow.Context, ci CycleInput) (CycleResult, error) {
		status = billing.Completed
		if c.published[ci.Period] > 0 {
			status = billing.AlreadyPublished
		}
		c.published[ci.Period]++
		return CycleResult{Status: status}, nil
	})
	env.SetStartTime(nominal)
	env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(ScheduledTimeKey.ValueSet(nominal)))
	env.ExecuteWorkflow(ScheduledCycle, in)
	require.NoError(t, env.GetWorkflowError())
	var res ScheduledResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, status
}

// The change-day rules of DESIGN.md, run through the scheduled workflow with the times the
// changed schedule fires (computed from the moment of each change, as the server does):
// a new day still ahead this month runs this month; a day already past skips to next month;
// and a month already published automatically is never published again.
func TestChangingTheDayNeverPublishesAMonthTwice(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, loc) }
	cycles := &claimingCycles{published: map[billing.Period]int{}}
	fire := func(day string, changedAt time.Time) (time.Time, ScheduledResult, billing.Status) {
		in := publishInput(day, 6, "Europe/London")
		next := in.Schedule.Next(changedAt, loc)
		res, status := cycles.run(t, in, next)
		return next, res, status
	}

	// Day 5: November publishes on the 5th.
	when, res, status := fire("5", at(time.November, 1, 0))
	require.Equal(t, at(time.November, 5, 6), when)
	require.Equal(t, billing.Period("2026-11"), res.Period)
	require.Equal(t, billing.Completed, status)

	// On the 20th the day moves to the 28th, still ahead: it fires this month, but November
	// was already published automatically, so nothing is published twice.
	when, res, status = fire("28", at(time.November, 20, 12))
	require.Equal(t, at(time.November, 28, 6), when)
	require.Equal(t, billing.Period("2026-11"), res.Period)
	require.Equal(t, billing.AlreadyPublished, status)

	// On 29 November the day moves to the 10th, already past: the next run is 10 December.
	when, res, status = fire("10", at(time.November, 29, 12))
	require.Equal(t, at(time.December, 10, 6), when)
	require.Equal(t, billing.Period("2026-12"), res.Period)
	require.Equal(t, billing.Completed, status)
	require.Equal(t, map[billing.Period]int{"2026-11": 2, "2026-12": 1}, cycles.published)

	// A month whose day moved to one already past before it ran is skipped: day 25 changed
	// to the 10th on 20 January publishes nothing in January and 10 February next.
	when, res, _ = fire("10", at(time.January, 20, 12))
	require.Equal(t, at(time.February, 10, 6), when)
	require.Equal(t, billing.Period("2026-02"), res.Period)
	require.Zero(t, cycles.published["2026-01"])
}

// When summer time ends the clocks show the run's hour twice, and the server's calendar
// fires both times. The first is the run; the second starts no cycle (so no e-mail either),
// tells no licence cycle to sync, and says why.
func TestSecondRunOfTheRepeatedHourStartsNoCycle(t *testing.T) {
	for _, tc := range []struct {
		name          string
		in            ScheduledInput
		first, second time.Time // the same wall time: the run, then the repeat
	}{
		{"New York daily refresh at 01:00", ScheduledInput{TenantID: "acme", Action: ActionRefresh, TimeZone: "America/New_York",
			Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 1}},
			time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)},
		// In Berlin the calendar fires the repeated hour once, at its later instant: that is
		// the run (an earlier firing, which the calendar never makes, would be the repeat).
		{"Berlin daily refresh at 02:00", ScheduledInput{TenantID: "acme", Action: ActionRefresh, TimeZone: "Europe/Berlin",
			Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 2}},
			time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)},
		{"New York publish on the 1st at 01:00", publishInput("1", 1, "America/New_York"),
			time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, _ := time.LoadLocation(tc.in.TimeZone)
			require.Equal(t, tc.first.In(loc).Format("15:04"), tc.second.In(loc).Format("15:04"), "the same wall time")
			require.Equal(t, time.Hour, tc.first.Sub(tc.second).Abs())
			res, started := runScheduled(t, tc.in, tc.first, 0)
			require.Equal(t, OutcomeStarted, res.Outcome)
			require.NotNil(t, started)
			res, started = runScheduled(t, tc.in, tc.second, 0)
			require.Equal(t, OutcomeSkipped, res.Outcome)
			require.Equal(t, SkipRepeatedHour, res.Skip)
			require.Nil(t, started, "the repeated hour started a cycle")
			require.Contains(t, res.Reason, "came twice")
		})
	}
	// The sync schedule tells open licence cycles nothing the second time.
	in := ScheduledInput{TenantID: "acme", Action: ActionSync, TimeZone: "America/New_York",
		Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 1}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ScheduledCycle)
	registerCheck(env, settingsAsBuilt(in))
	listed := 0
	env.RegisterActivityWithOptions(func(context.Context, string, billing.Kind) ([]billing.CycleRef, error) {
		listed++
		return nil, nil
	}, activity.RegisterOptions{Name: ActivityOpenCycles})
	second := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	env.SetStartTime(second)
	env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(ScheduledTimeKey.ValueSet(second)))
	env.ExecuteWorkflow(ScheduledCycle, in)
	require.NoError(t, env.GetWorkflowError())
	var res ScheduledResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SkipRepeatedHour, res.Skip)
	require.Zero(t, listed, "the repeated hour looked for cycles to sync")
}

// A schedule turned off after the server planned a run (say the PATCH reached PostgreSQL but
// Temporal was unreachable, so the API answered 503 and the Temporal Schedule still runs):
// the run reads the settings when it starts, does nothing and says why.
func TestRunOfAScheduleTurnedOffSinceItWasPlannedIsSkipped(t *testing.T) {
	in := publishInput("25", 6, "Europe/London")
	now := settingsAsBuilt(in)
	now.Settings.Publish.Schedule.Enabled = false
	london, _ := time.LoadLocation("Europe/London")
	res, started := runScheduledNow(t, in, now, time.Date(2026, 11, 25, 6, 0, 0, 0, london), 0)
	require.Nil(t, started)
	require.Equal(t, OutcomeSkipped, res.Outcome)
	require.Equal(t, SkipDisabled, res.Skip)
	require.Equal(t, billing.Period("2026-11"), res.Period)
	require.Contains(t, res.Reason, "usage publish schedule was turned off")

	gone, started := runScheduledNow(t, in, nil, time.Date(2026, 11, 25, 6, 0, 0, 0, london), 0)
	require.Nil(t, started)
	require.Equal(t, SkipTenantGone, gone.Skip)
}

// A schedule changed after the server planned a run: the run goes ahead only if its time is
// one of the new schedule's, and then uses the new settings.
func TestRunOfAScheduleChangedSinceItWasPlannedIsSkipped(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	in := publishInput("25", 6, "Europe/London")
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, london)
	for _, tc := range []struct {
		name   string
		change func(*tenant.Tenant)
		skip   string
	}{
		{"day moved to the 10th", func(t *tenant.Tenant) { t.Settings.Publish.Schedule.Day = "10" }, SkipChanged},
		{"hour moved to 18:00", func(t *tenant.Tenant) { t.Settings.Publish.Schedule.Hour = 18 }, SkipChanged},
		{"zone moved to New York", func(t *tenant.Tenant) { t.TimeZone = "America/New_York" }, SkipChanged},
		{"day moved to the last, which the 25th is not", func(t *tenant.Tenant) { t.Settings.Publish.Schedule.Day = tenant.LastDay }, SkipChanged},
		{"approval rule changed, the schedule did not", func(t *tenant.Tenant) { t.Settings.Licences.Approval.Mode = tenant.ApproveAutomatic }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := settingsAsBuilt(in)
			tc.change(now)
			res, started := runScheduledNow(t, in, now, at, 0)
			if tc.skip == "" {
				require.Equal(t, OutcomeStarted, res.Outcome)
				require.NotNil(t, started)
				return
			}
			require.Equal(t, OutcomeSkipped, res.Outcome)
			require.Equal(t, tc.skip, res.Skip)
			require.Nil(t, started)
			require.Contains(t, res.Reason, "changed to")
		})
	}
	// Changed, but the scheduled time is still one of its runs: it runs, in the new zone.
	now := settingsAsBuilt(in)
	now.TimeZone = "Europe/Lisbon" // the same wall clock as London all year
	res, started := runScheduledNow(t, in, now, at, 0)
	require.Equal(t, OutcomeStarted, res.Outcome)
	require.Equal(t, billing.Period("2026-11"), started.Period)
}
