package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
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

	// These changes move runs still due this month around; this test is about the calendar,
	// so each says to publish nothing it drops (see TestMovingThePublishDayIntoThePastPublishesTheMonth).
	s.patchSettings(`{"settings": {"publish": {"schedule": {"day": "last", "hour": 18}}}, "missed_period": "skip"}`)
	last := tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: tenant.LastDay, Hour: 18}
	sameTimes(t, nextRuns(last, london, 10), s.serverRuns(workflows.ActionPublish), "last day")

	// Change-day rules, relative to today in the tenant's zone.
	today := time.Now().In(london)
	if today.Day() > 1 {
		past := today.Day() - 1
		s.patchSettings(fmt.Sprintf(`{"settings": {"publish": {"schedule": {"day": "%d", "hour": 6}}}, "missed_period": "skip"}`, past))
		first := s.serverRuns(workflows.ActionPublish)[0].In(london)
		require.NotEqual(t, today.Month(), first.Month(), "a day already past this month applies from next month (first run %s)", first)
	}
	if today.Day() < 28 {
		ahead := today.Day() + 1
		s.patchSettings(fmt.Sprintf(`{"settings": {"publish": {"schedule": {"day": "%d", "hour": 6}}}, "missed_period": "skip"}`, ahead))
		first := s.serverRuns(workflows.ActionPublish)[0].In(london)
		require.Equal(t, today.Month(), first.Month(), "a day still ahead runs this month (first run %s)", first)
		require.Equal(t, ahead, first.Day())
	}

	// A daily licence refresh keeps its local hour in another zone.
	s.patchSettings(`{"time_zone": "America/New_York", "settings": {"licences": {"refresh": {"enabled": true, "cadence": "daily", "hour": 5}}}}`)
	ny, _ := time.LoadLocation("America/New_York")
	sameTimes(t, nextRuns(tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 5}, ny, 5), s.serverRuns(workflows.ActionRefresh), "daily refresh")

	// An hour the clocks skip on some day (02:00 in Berlin) runs at 02:00 on every other day:
	// the calendar's 03:00 is only for the days that lack 02:00.
	s.patchSettings(`{"time_zone": "Europe/Berlin", "settings": {"licences": {"refresh": {"hour": 2}}}}`)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sameTimes(t, nextRuns(tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 2}, berlin, 10), s.serverRuns(workflows.ActionRefresh), "daily refresh at 02:00 Berlin")

	s.patchSettings(`{"settings": {"publish": {"schedule": {"enabled": false}}}, "missed_period": "skip"}`)
	require.Empty(t, s.serverRuns(workflows.ActionPublish), "a disabled schedule is paused")
}

// A scheduled run that fires while no worker runs is not lost: it publishes when a worker
// returns, once; a second run of the same period ends as already published.
func TestScheduledRunPublishesOnceWhenTheWorkerReturns(t *testing.T) {
	s := newStack(t)
	london, _ := time.LoadLocation("Europe/London")
	today := time.Now().In(london)
	s.patchSettings(fmt.Sprintf(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "%d", "hour": 3}}}}`, today.Day()))
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
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "1", "hour": 6}}}}`)
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

// matchingTimes asks the server when a tenant's schedule fires in [from, to): the calendar
// matching Temporal itself does, for any window, paused or not.
func (s *stack) matchingTimes(action string, from, to time.Time) []time.Time {
	s.t.Helper()
	resp, err := s.temporal.WorkflowService().ListScheduleMatchingTimes(context.Background(), &workflowservice.ListScheduleMatchingTimesRequest{
		Namespace: temporalenv.Server(s.t).Namespace(), ScheduleId: starter.ScheduleID(s.tenantID, action),
		StartTime: timestamppb.New(from), EndTime: timestamppb.New(to),
	})
	require.NoError(s.t, err)
	var out []time.Time
	for _, ts := range resp.GetStartTime() {
		out = append(out, ts.AsTime())
	}
	return out
}

// runsBetween is what our calendar says the schedule does in [from, to).
func runsBetween(s tenant.Schedule, loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for at := s.Next(from.Add(-time.Second), loc); !at.IsZero() && at.Before(to); at = s.Next(at, loc) {
		out = append(out, at)
	}
	return out
}

func equalTimes(t *testing.T, want, got []time.Time, what string) {
	t.Helper()
	format := func(ts []time.Time) []string {
		var out []string
		for _, at := range ts {
			out = append(out, at.UTC().Format(time.RFC3339))
		}
		return out
	}
	require.Equal(t, format(want), format(got), "%s: the server's times (right) are our calendar's (left)", what)
}

// nextFebruary returns 1 February of the first year from now on that is (or is not) a leap year.
func nextFebruary(leap bool, loc *time.Location) time.Time {
	for y := time.Now().In(loc).Year() + 1; ; y++ {
		if (time.Date(y, 2, 29, 0, 0, 0, 0, loc).Month() == time.February) == leap {
			return time.Date(y, 2, 1, 0, 0, 0, 0, loc)
		}
	}
}

// nextSkippedHour returns the first local date after now on which the zone's clocks skip
// the hour.
func nextSkippedHour(loc *time.Location, hour int) time.Time {
	now := time.Now().In(loc)
	for d := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc); ; d = d.AddDate(0, 0, 1) {
		if time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, loc).Hour() != hour {
			return d
		}
	}
}

// Ops read the Schedules page to know when money moves: the schedule's next action times
// (Describe → NextActionTimes) are exactly the publishing times of our calendar, with no
// slot that publishes nothing: "last", day 31, day 29 in leap and common Februaries, and
// an hour DST skips in Berlin and New York. Windows further ahead are checked with the
// server's own calendar matching (ListScheduleMatchingTimes), up to 2100, where Temporal's
// calendars end, so the schedules stay right for years without being synced again.
func TestScheduleNextActionTimesAreExactlyThePublishingTimes(t *testing.T) {
	s := newStack(t)
	now := time.Now()
	type window struct{ from, to time.Time }
	for _, tc := range []struct {
		name    string
		zone    string
		day     string
		hour    int
		windows func(loc *time.Location) []window
	}{
		{"last day", "Europe/London", "last", 18, func(loc *time.Location) []window {
			leap, common := nextFebruary(true, loc), nextFebruary(false, loc)
			return []window{{leap, leap.AddDate(0, 1, 0)}, {common, common.AddDate(0, 1, 0)},
				{time.Date(2099, 1, 1, 0, 0, 0, 0, loc), time.Date(2101, 1, 1, 0, 0, 0, 0, loc)}}
		}},
		{"day 31", "America/Chicago", "31", 6, func(loc *time.Location) []window {
			return []window{{now, now.AddDate(3, 0, 0)}}
		}},
		{"day 29", "UTC", "29", 9, func(loc *time.Location) []window {
			leap, common := nextFebruary(true, loc), nextFebruary(false, loc)
			return []window{{leap, leap.AddDate(0, 1, 0)}, {common, common.AddDate(0, 1, 0)}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			loc, _ := time.LoadLocation(tc.zone)
			s.patchSettings(fmt.Sprintf(`{"time_zone": %q, "settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": %q, "hour": %d}}}, "missed_period": "skip"}`, tc.zone, tc.day, tc.hour))
			sch := tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: tc.day, Hour: tc.hour}
			server := s.serverRuns(workflows.ActionPublish)
			require.NotEmpty(t, server)
			equalTimes(t, nextRuns(sch, loc, len(server)), server, "next action times")
			for _, w := range tc.windows(loc) {
				equalTimes(t, runsBetween(sch, loc, w.from, w.to), s.matchingTimes(workflows.ActionPublish, w.from, w.to),
					fmt.Sprintf("%s to %s", w.from.Format(time.DateOnly), w.to.Format(time.DateOnly)))
			}
			if tc.day == "29" {
				leap := nextFebruary(true, loc)
				require.Len(t, s.matchingTimes(workflows.ActionPublish, leap, leap.AddDate(0, 1, 0)), 1, "a leap February publishes on the 29th")
				common := nextFebruary(false, loc)
				require.Empty(t, s.matchingTimes(workflows.ActionPublish, common, common.AddDate(0, 1, 0)), "a common February has no 29th")
			}
		})
	}
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Africa/Casablanca"} {
		t.Run("02:00 skipped in "+zone, func(t *testing.T) {
			s.t = t
			loc, _ := time.LoadLocation(zone)
			gap := nextSkippedHour(loc, 2)
			// Publish on the day of the month the clocks next skip 02:00.
			s.patchSettings(fmt.Sprintf(`{"time_zone": %q, "settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "%d", "hour": 2}}}, "missed_period": "skip"}`, zone, gap.Day()))
			sch := tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: strconv.Itoa(gap.Day()), Hour: 2}
			server := s.serverRuns(workflows.ActionPublish)
			equalTimes(t, nextRuns(sch, loc, len(server)), server, "next action times")
			for _, at := range server {
				if l := at.In(loc); l.YearDay() != gap.YearDay() {
					require.Equal(t, 2, l.Hour(), "no hour-later slot on ordinary days: %s", l)
				}
			}
			w := window{now, gap.AddDate(0, 2, 0)}
			got := s.matchingTimes(workflows.ActionPublish, w.from, w.to)
			equalTimes(t, runsBetween(sch, loc, w.from, w.to), got, "up to the skipped hour")
			require.Contains(t, got, time.Date(gap.Year(), gap.Month(), gap.Day(), 3, 0, 0, 0, loc).UTC(), "the day without 02:00 publishes at 03:00")
			// Years ahead, the dates without 02:00 come from the zone's rules.
			far := window{time.Date(2040, 1, 1, 0, 0, 0, 0, loc), time.Date(2046, 1, 1, 0, 0, 0, 0, loc)}
			equalTimes(t, runsBetween(sch, loc, far.from, far.to), s.matchingTimes(workflows.ActionPublish, far.from, far.to), "2040–2045")

			// A daily refresh at 02:00 over the whole next DST year.
			s.patchSettings(`{"settings": {"licences": {"refresh": {"enabled": true, "cadence": "daily", "hour": 2}}}}`)
			daily := tenant.Schedule{Enabled: true, Cadence: tenant.Daily, Hour: 2}
			y := window{gap.AddDate(0, 0, -3), gap.AddDate(0, 0, 3)}
			equalTimes(t, runsBetween(daily, loc, y.from, y.to), s.matchingTimes(workflows.ActionRefresh, y.from, y.to), "daily around the skipped hour")
		})
	}
}

// Backfilling a past year runs the schedule as it would have run then, whenever the schedule
// was synced: 28 February of a common year for "last", and, in Berlin, the hour after the
// DST gap for a day-29 02:00 run when the clocks skipped 02:00 on the 29th (2020-03-29).
// The server's own matching and a real backfill both show it.
func TestBackfillOfAPastYearFiresOnItsCommonFebruaryAndItsDSTGap(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"time_zone": "Europe/Berlin", "settings": {
		"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "last", "hour": 18}},
		"licences": {"refresh": {"enabled": true, "cadence": "monthly", "day": "29", "hour": 2}}}}`)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	feb := time.Date(2025, 2, 1, 0, 0, 0, 0, berlin)
	mar := time.Date(2020, 3, 1, 0, 0, 0, 0, berlin)
	lastOfFeb := time.Date(2025, 2, 28, 18, 0, 0, 0, berlin)
	afterGap := time.Date(2020, 3, 29, 3, 0, 0, 0, berlin)
	equalTimes(t, []time.Time{lastOfFeb}, s.matchingTimes(workflows.ActionPublish, feb, feb.AddDate(0, 1, 0)), "February 2025")
	equalTimes(t, []time.Time{afterGap}, s.matchingTimes(workflows.ActionRefresh, mar, mar.AddDate(0, 1, 0)), "March 2020")

	ctx := context.Background()
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, feb, feb.AddDate(0, 1, 0)))
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionRefresh, mar, mar.AddDate(0, 1, 0)))
	got := map[billing.Period]string{}
	for _, r := range s.scheduledRuns(2) {
		require.Equal(t, workflows.OutcomeStarted, r.Result.Outcome, "%s: %+v", r.WorkflowID, r.Result)
		got[r.Result.Period] = r.WorkflowID
	}
	require.Contains(t, got, billing.Period("2025-02"))
	require.Contains(t, got, billing.Period("2020-03"))
	require.True(t, strings.HasSuffix(got["2025-02"], lastOfFeb.UTC().Format(time.RFC3339)), got["2025-02"])
	require.True(t, strings.HasSuffix(got["2020-03"], afterGap.UTC().Format(time.RFC3339)), got["2020-03"])
}

// Where the clocks skip midnight (Santiago, 6 September 2026) a schedule at 00:00 fires on
// that date right after the gap, at 01:00, on the server too: daily, and monthly on the 6th.
func TestAMidnightScheduleFiresOnTheDateWhoseMidnightIsSkipped(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"time_zone": "America/Santiago", "settings": {
		"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "6", "hour": 0}},
		"licences": {"refresh": {"enabled": true, "cadence": "daily", "hour": 0}}}, "missed_period": "skip"}`)
	santiago, _ := time.LoadLocation("America/Santiago")
	// The server's window leaves out its start and takes in its end.
	from, to := time.Date(2026, 9, 4, 12, 0, 0, 0, santiago), time.Date(2026, 9, 7, 12, 0, 0, 0, santiago)
	skipped := time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC) // 01:00 -03, right after the gap
	want := []time.Time{time.Date(2026, 9, 5, 0, 0, 0, 0, santiago), skipped, time.Date(2026, 9, 7, 0, 0, 0, 0, santiago)}
	equalTimes(t, want, s.matchingTimes(workflows.ActionRefresh, from, to), "daily at 00:00")
	sept := time.Date(2026, 9, 1, 12, 0, 0, 0, santiago)
	equalTimes(t, []time.Time{skipped}, s.matchingTimes(workflows.ActionPublish, sept, sept.AddDate(0, 1, 0)), "monthly on the 6th at 00:00")
}
