package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// nextRuns is what our calendar says the schedule does next.
func nextRuns(s tenant.Schedule, loc *time.Location, n int) []time.Time {
	var out []time.Time
	at := time.Now()
	for range n {
		at = s.Next(at, loc)
		out = append(out, at)
	}
	return out
}

func (s *stack) serverRuns(action string) []time.Time {
	s.t.Helper()
	runs, err := s.starter.NextRuns(context.Background(), s.tenantID, action)
	require.NoError(s.t, err)
	return runs
}

func sameTimes(t *testing.T, want, got []time.Time, what string) {
	t.Helper()
	require.GreaterOrEqual(t, len(got), len(want), "%s: the server lists %d next runs", what, len(got))
	for i := range want {
		require.True(t, want[i].Equal(got[i]), "%s run %d: server %s, calendar %s", what, i, got[i], want[i])
	}
}

// The Temporal Schedule built from the settings fires exactly when our calendar says: day 31
// skips short months, "last" follows month ends, hours stay local in the tenant's zone, and a
// changed day applies this month only if it is still ahead.
func TestSchedulesFollowTenantSettings(t *testing.T) {
	s := newStack(t)
	london, _ := time.LoadLocation("Europe/London")

	s.patchSettings(`{"settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "31", "hour": 6}}}}`)
	sch := tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: "31", Hour: 6}
	sameTimes(t, nextRuns(sch, london, 6), s.serverRuns(workflows.ActionPublish), "day 31")
	for _, at := range s.serverRuns(workflows.ActionPublish) {
		require.Equal(t, 31, at.In(london).Day())
		require.Equal(t, 6, at.In(london).Hour())
	}

	s.patchSettings(`{"settings": {"publish": {"schedule": {"day": "last", "hour": 18}}}}`)
	last := tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: tenant.LastDay, Hour: 18}
	// The calendar fires on days 28–31; ScheduledCycle keeps the month's last day.
	var kept []time.Time
	for _, at := range s.serverRuns(workflows.ActionPublish) {
		if last.Matches(at.In(london)) {
			kept = append(kept, at)
		}
	}
	sameTimes(t, nextRuns(last, london, 2), kept, "last day")

	// Change-day rules, relative to today in the tenant's zone.
	today := time.Now().In(london)
	if today.Day() > 1 {
		past := today.Day() - 1
		s.patchSettings(fmt.Sprintf(`{"settings": {"publish": {"schedule": {"day": "%d", "hour": 6}}}}`, past))
		first := s.serverRuns(workflows.ActionPublish)[0].In(london)
		require.NotEqual(t, today.Month(), first.Month(), "a day already past this month applies from next month (first run %s)", first)
	}
	if today.Day() < 28 {
		ahead := today.Day() + 1
		s.patchSettings(fmt.Sprintf(`{"settings": {"publish": {"schedule": {"day": "%d", "hour": 6}}}}`, ahead))
		first := s.serverRuns(workflows.ActionPublish)[0].In(london)
		require.Equal(t, today.Month(), first.Month(), "a day still ahead runs this month (first run %s)", first)
		require.Equal(t, ahead, first.Day())
	}

	// A daily licence refresh keeps its local hour in another zone.
	s.patchSettings(`{"time_zone": "America/New_York", "settings": {"licences": {"refresh": {"enabled": true, "cadence": "daily", "hour": 5}}}}`)
	ny, _ := time.LoadLocation("America/New_York")
	sameTimes(t, nextRuns(tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 5}, ny, 5), s.serverRuns(workflows.ActionRefresh), "daily refresh")

	// An hour the clocks skip on some day (02:00 in Berlin) also fires an hour later, so the
	// spring-forward day still runs (ScheduledCycle keeps that slot only on that day).
	s.patchSettings(`{"time_zone": "Europe/Berlin", "settings": {"licences": {"refresh": {"hour": 2}}}}`)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	hours := map[int]bool{}
	for _, at := range s.serverRuns(workflows.ActionRefresh) {
		hours[at.In(berlin).Hour()] = true
	}
	require.Equal(t, map[int]bool{2: true, 3: true}, hours)

	s.patchSettings(`{"settings": {"publish": {"schedule": {"enabled": false}}}}`)
	require.Empty(t, s.serverRuns(workflows.ActionPublish), "a disabled schedule is paused")
}

// A scheduled run that fires while no worker runs is not lost: it publishes when a worker
// returns, once; a second run of the same period ends as already published.
func TestScheduledRunPublishesOnceWhenTheWorkerReturns(t *testing.T) {
	s := newStack(t)
	london, _ := time.LoadLocation("Europe/London")
	today := time.Now().In(london)
	s.patchSettings(fmt.Sprintf(`{"settings": {"approval": {"mode": "automatic"}, "publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "%d", "hour": 3}}}}`, today.Day()))
	ctx := context.Background()
	h := s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, workflows.ActionPublish))

	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}))
	time.Sleep(2 * time.Second)
	cycles, err := s.store.ListCycles(ctx, s.tenantID, 0)
	require.NoError(t, err)
	require.Empty(t, cycles, "no worker: nothing ran yet")

	s.startWorker()
	var first string
	eventually(t, 60*time.Second, "the scheduled cycle", func() bool {
		cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
		return len(cycles) == 1 && cycles[0].Status.Final()
	})
	first = cycles[0].ID
	s.waitCycle(first, 30*time.Second)
	require.Equal(t, billing.Completed, cycles[0].Status, cycles[0].Error)
	require.Equal(t, billing.Automatic, cycles[0].Trigger)
	require.Equal(t, billing.MonthOf(time.Now(), london), cycles[0].Period)
	require.Equal(t, "automatic", cycles[0].StartedByLabel())

	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}))
	eventually(t, 60*time.Second, "the second scheduled run", func() bool {
		cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
		return len(cycles) == 2 && cycles[0].Status.Final()
	})
	require.Equal(t, billing.AlreadyPublished, cycles[0].Status)
	require.Contains(t, cycles[0].Error, first)
	s.assertPublishedOnce()
}

// Backfilling a past range runs the schedule for each past scheduled time; periods come
// from those times, and a second backfill of the same range publishes nothing again.
func TestBackfillLabelsPastPeriodsAndPublishesThemOnce(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"approval": {"mode": "automatic"}, "publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "1", "hour": 6}}}}`)
	london, _ := time.LoadLocation("Europe/London")
	now := time.Now().In(london)
	from := time.Date(now.Year(), now.Month()-3, 15, 0, 0, 0, 0, london)
	to := time.Date(now.Year(), now.Month()-1, 15, 0, 0, 0, 0, london)
	want := []billing.Period{billing.MonthOf(from.AddDate(0, 1, 0), london), billing.MonthOf(to, london)}
	ctx := context.Background()

	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, from, to))
	eventually(t, 90*time.Second, "two backfilled cycles", func() bool {
		cycles, _ := s.store.ListCycles(ctx, s.tenantID, 0)
		return len(cycles) == 2 && cycles[0].Status.Final() && cycles[1].Status.Final()
	})
	cycles, _ := s.store.ListCycles(ctx, s.tenantID, 0)
	got := map[billing.Period]billing.Status{}
	for _, c := range cycles {
		s.waitCycle(c.ID, 30*time.Second)
		got[c.Period] = c.Status
	}
	require.Equal(t, map[billing.Period]billing.Status{want[0]: billing.Completed, want[1]: billing.Completed}, got)

	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, from, to))
	eventually(t, 90*time.Second, "the repeated backfill", func() bool {
		cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
		return len(cycles) == 4 && cycles[0].Status.Final() && cycles[1].Status.Final()
	})
	for _, c := range cycles[:2] {
		require.Equal(t, billing.AlreadyPublished, c.Status, "%s", c.Period)
	}
	s.assertPublishedOnce()
}
