package scorecard

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/tenant"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	require.NoError(t, err)
	return loc
}

func TestWeekOfFollowsISOAcrossYearBoundaries(t *testing.T) {
	cases := []struct {
		date string
		zone string
		want Week
	}{
		{"2026-11-23T12:00:00Z", "UTC", "2026-W48"},
		{"2026-11-29T23:59:59Z", "UTC", "2026-W48"}, // Sunday ends the week
		{"2026-11-30T00:00:00Z", "UTC", "2026-W49"}, // Monday starts the next
		{"2026-12-31T12:00:00Z", "UTC", "2026-W53"}, // 2026 starts on a Thursday: 53 weeks
		{"2027-01-03T12:00:00Z", "UTC", "2026-W53"}, // …which run into January 2027
		{"2027-01-04T00:00:00Z", "UTC", "2027-W01"}, // 2027-W01 starts Monday 4 January
		{"2025-12-29T12:00:00Z", "UTC", "2026-W01"}, // 2026-W01 starts in December 2025
		{"2020-12-31T12:00:00Z", "UTC", "2020-W53"}, // a leap year ending on Thursday
		{"2021-01-01T12:00:00Z", "UTC", "2020-W53"},
		// The owner's local date decides, not UTC's.
		{"2026-11-29T20:00:00Z", "Australia/Brisbane", "2026-W49"}, // Monday 06:00 in Brisbane
		{"2026-11-30T03:00:00Z", "America/Bogota", "2026-W48"},     // still Sunday 22:00 in Bogotá
	}
	for _, tc := range cases {
		at, err := time.Parse(time.RFC3339, tc.date)
		require.NoError(t, err)
		require.Equal(t, tc.want, WeekOf(at, zone(t, tc.zone)), "%s in %s", tc.date, tc.zone)
	}
}

func TestParseWeekKnowsWhichYearsHaveWeek53(t *testing.T) {
	good := map[string]string{"2026-W53": "2026-12-28", "2027-W01": "2027-01-04", "2026-W01": "2025-12-29",
		"2026-W48": "2026-11-23", "2020-W53": "2020-12-28", "2024-W01": "2024-01-01"}
	for s, monday := range good {
		w, err := ParseWeek(s)
		require.NoError(t, err, s)
		require.Equal(t, monday, w.Monday().Format(time.DateOnly), s)
		require.Equal(t, w, WeekOf(w.Monday(), time.UTC), "%s round-trips through its Monday", s)
		require.Equal(t, w, WeekOf(w.Sunday(), time.UTC), "%s holds its Sunday", s)
	}
	for _, s := range []string{"2027-W53", "2025-W53", "2026-W00", "2026-W54", "2026-W1", "2026W48", "26-W48", "2026-w48", "", "2026-W48 ", "1969-W10"} {
		_, err := ParseWeek(s)
		require.Error(t, err, s)
	}
	require.Equal(t, 53, ISOWeeks(2026))
	require.Equal(t, 52, ISOWeeks(2027))
	require.Equal(t, Week("2027-W01"), Week("2026-W53").Next())
	require.Equal(t, Week("2026-W53"), Week("2026-W52").Next())
	require.Equal(t, Week("2028-W01"), Week("2027-W52").Next())
}

func TestWeekBoundsAreLocalMidnights(t *testing.T) {
	ny := zone(t, "America/New_York")
	w := Week("2026-W10") // 2–8 March 2026; clocks spring forward on Sunday 8 March
	require.Equal(t, "2026-03-02T00:00:00-05:00", w.Start(ny).Format(time.RFC3339))
	require.Equal(t, "2026-03-09T00:00:00-04:00", w.End(ny).Format(time.RFC3339))
	require.Equal(t, 167*time.Hour, w.End(ny).Sub(w.Start(ny)), "a spring-forward week is an hour short")
	fall := Week("2026-W44") // clocks fall back on Sunday 1 November
	require.Equal(t, 169*time.Hour, fall.End(ny).Sub(fall.Start(ny)))
}

func TestNextSnapshotIsTheNextLocalWallClockTime(t *testing.T) {
	daily := DefaultSchedule()
	cases := []struct {
		name, zone, after string
		s                 Schedule
		want              string // RFC 3339 in the zone
	}{
		{"before today's time", "Europe/Berlin", "2026-11-23T04:59:00Z", daily, "2026-11-23T06:00:00+01:00"},
		{"exactly at the time goes to tomorrow", "Europe/Berlin", "2026-11-23T05:00:00Z", daily, "2026-11-24T06:00:00+01:00"},
		{"a nanosecond before", "Europe/Berlin", "2026-11-23T04:59:59.999999999Z", daily, "2026-11-23T06:00:00+01:00"},
		{"Brisbane, UTC+10", "Australia/Brisbane", "2026-11-22T19:00:00Z", daily, "2026-11-23T06:00:00+10:00"},
		{"Bogotá, UTC−5", "America/Bogota", "2026-11-23T12:00:00Z", daily, "2026-11-24T06:00:00-05:00"},
		{"spring forward: 06:00 EDT after 06:00 EST", "America/New_York", "2026-03-07T11:00:00Z", daily, "2026-03-08T06:00:00-04:00"},
		{"fall back: 06:00 EST after 06:00 EDT", "America/New_York", "2026-10-31T10:00:00Z", daily, "2026-11-01T06:00:00-05:00"},
		{"Berlin spring forward", "Europe/Berlin", "2026-03-28T05:00:00Z", daily, "2026-03-29T06:00:00+02:00"},
		{"a skipped wall time runs after the gap", "America/New_York", "2026-03-08T06:00:00Z", Schedule{Cadence: Daily, Time: "02:30"}, "2026-03-08T03:30:00-04:00"},
		{"year end into week 53's January", "UTC", "2026-12-31T23:00:00Z", daily, "2027-01-01T06:00:00Z"},
		{"weekly later this week", "Europe/Berlin", "2026-11-23T12:00:00Z", Schedule{Cadence: Weekly, Weekday: "friday", Time: "17:30"}, "2026-11-27T17:30:00+01:00"},
		{"weekly today, not yet", "Europe/Berlin", "2026-11-27T16:29:00Z", Schedule{Cadence: Weekly, Weekday: "friday", Time: "17:30"}, "2026-11-27T17:30:00+01:00"},
		{"weekly today, passed", "Europe/Berlin", "2026-11-27T16:30:00Z", Schedule{Cadence: Weekly, Weekday: "friday", Time: "17:30"}, "2026-12-04T17:30:00+01:00"},
		{"weekly on Sunday across a year", "UTC", "2026-12-28T00:00:00Z", Schedule{Cadence: Weekly, Weekday: "sunday", Time: "06:00"}, "2027-01-03T06:00:00Z"},
		{"late evening", "Asia/Kolkata", "2026-11-23T18:00:00Z", Schedule{Cadence: Daily, Time: "23:45"}, "2026-11-23T23:45:00+05:30"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := zone(t, tc.zone)
			after, err := time.Parse(time.RFC3339Nano, tc.after)
			require.NoError(t, err)
			got := NextSnapshot(after, loc, tc.s)
			require.Equal(t, tc.want, got.In(loc).Format(time.RFC3339))
			require.True(t, got.After(after))
		})
	}
}

// On the fall-back night 01:30 happens twice; the snapshot must run once that night,
// whichever instant the zone rules give, and never loop on an instant already past.
func TestNextSnapshotRunsARepeatedWallTimeOnce(t *testing.T) {
	ny := zone(t, "America/New_York")
	s := Schedule{Cadence: Daily, Time: "01:30"}
	at := NextSnapshot(time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), ny, s)
	require.Equal(t, "2026-11-01", at.In(ny).Format(time.DateOnly))
	require.Equal(t, "01:30", at.In(ny).Format("15:04"))
	next := NextSnapshot(at, ny, s)
	require.Equal(t, "2026-11-02T01:30:00-05:00", next.In(ny).Format(time.RFC3339))
	// From inside the repeated hour (01:10 EST, after the first 01:30 EDT) the next run is
	// tomorrow's or tonight's second 01:30 — never an instant in the past.
	inside := time.Date(2026, 11, 1, 6, 10, 0, 0, time.UTC) // 01:10 EST
	require.True(t, NextSnapshot(inside, ny, s).After(inside))
}

func TestIsFinalFreezesTheLastSnapshotOfTheWeek(t *testing.T) {
	bris := zone(t, "Australia/Brisbane")
	daily := DefaultSchedule()
	for d := 23; d <= 29; d++ { // Monday 23 … Sunday 29 November 2026
		at := time.Date(2026, 11, d, 6, 0, 0, 0, bris)
		require.Equal(t, d == 29, IsFinal(at, bris, daily), "daily 06:00 on %s", at.Weekday())
	}
	late := Schedule{Cadence: Daily, Time: "23:30"}
	require.False(t, IsFinal(time.Date(2026, 11, 28, 23, 30, 0, 0, bris), bris, late))
	require.True(t, IsFinal(time.Date(2026, 11, 29, 23, 30, 0, 0, bris), bris, late))
	weekly := Schedule{Cadence: Weekly, Weekday: "wednesday", Time: "09:00"}
	require.True(t, IsFinal(time.Date(2026, 11, 25, 9, 0, 0, 0, bris), bris, weekly), "a weekly snapshot is its week's only one")
}

func TestScheduleValidationNamesTheField(t *testing.T) {
	cases := []struct {
		s     Schedule
		field string
	}{
		{DefaultSchedule(), ""},
		{Schedule{Cadence: "weekly", Weekday: "Friday", Time: "17:30"}.Normalize(), ""},
		{Schedule{Cadence: "hourly", Time: "06:00"}, "schedule.cadence"},
		{Schedule{Cadence: "weekly", Time: "06:00"}, "schedule.weekday"},
		{Schedule{Cadence: "weekly", Weekday: "funday", Time: "06:00"}, "schedule.weekday"},
		{Schedule{Cadence: "daily", Weekday: "monday", Time: "06:00"}, "schedule.weekday"},
		{Schedule{Cadence: "daily", Time: "24:00"}, "schedule.time"},
		{Schedule{Cadence: "daily", Time: "6:00"}, "schedule.time"},
		{Schedule{Cadence: "daily", Time: "06:60"}, "schedule.time"},
		{Schedule{Cadence: "daily"}, "schedule.time"},
	}
	for _, tc := range cases {
		err := tc.s.Validate("schedule")
		if tc.field == "" {
			require.NoError(t, err, "%+v", tc.s)
			continue
		}
		var fe *tenant.FieldError
		require.True(t, errors.As(err, &fe), "%+v: %v", tc.s, err)
		require.Equal(t, tc.field, fe.Field, "%+v", tc.s)
	}
	_, err := LoadZone("Local")
	require.Error(t, err)
	_, err = LoadZone("Mars/Olympus")
	require.Error(t, err)
}

// The scorecard's week selector: current and previous read against a clock in a zone (any
// case), an ISO week by name; anything else names what is wrong.
func TestWeekSelectorsResolveInTheirZone(t *testing.T) {
	// Sunday 22:00 in New York is Monday 03:00 in London.
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		in, zone string
		want     Week
	}{
		{"", "Europe/London", "2026-W49"},
		{"current", "Europe/London", "2026-W49"},
		{"CURRENT", "America/New_York", "2026-W48"},
		{"previous", "Europe/London", "2026-W48"},
		{" Previous ", "America/New_York", "2026-W47"},
		{"2026-W53", "Europe/London", "2026-W53"},
	}
	for _, tc := range cases {
		sel, err := ParseWeekSelector(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, sel.Resolve(now, zone(t, tc.zone)), "%q in %s", tc.in, tc.zone)
	}
	for _, bad := range []string{"banana", "next", "2026-48", "2027-W53", "2026-W00", "1969-W10"} {
		_, err := ParseWeekSelector(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "current, previous or an ISO week", bad)
	}
	require.Equal(t, Week("2026-W53"), Week("2027-W01").Prev(), "across a 53-week year")
	require.Equal(t, Week("2025-W52"), Week("2026-W01").Prev())
}
