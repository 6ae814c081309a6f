package tenant

import (
	"slices"
	"testing"
	"time"
)

func runsIn(t *testing.T, s Schedule, zone string, from, to time.Time) []string {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for at := s.Next(from, loc); !at.IsZero() && at.Before(to); at = s.Next(at, loc) {
		out = append(out, at.In(loc).Format("2006-01-02 15:04 MST"))
	}
	return out
}

func monthly(day string, hour int) Schedule {
	return Schedule{Enabled: true, Cadence: Monthly, Day: day, Hour: hour}
}

func TestPublishSkipsMonthsWithoutDay31(t *testing.T) {
	got := runsIn(t, monthly("31", 6), "UTC", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	want := []string{"2026-01-31 06:00 UTC", "2026-03-31 06:00 UTC", "2026-05-31 06:00 UTC", "2026-07-31 06:00 UTC",
		"2026-08-31 06:00 UTC", "2026-10-31 06:00 UTC", "2026-12-31 06:00 UTC"}
	assertRuns(t, got, want)
}

func TestFebruaryInCommonAndLeapYears(t *testing.T) {
	for _, tc := range []struct {
		day  string
		year int
		want []string
	}{
		{"29", 2026, nil},
		{"29", 2028, []string{"2028-02-29 06:00 UTC"}},
		{"30", 2028, nil},
		{"28", 2026, []string{"2026-02-28 06:00 UTC"}},
		{LastDay, 2026, []string{"2026-02-28 06:00 UTC"}},
		{LastDay, 2028, []string{"2028-02-29 06:00 UTC"}},
	} {
		from := time.Date(tc.year, 2, 1, 0, 0, 0, 0, time.UTC)
		got := runsIn(t, monthly(tc.day, 6), "UTC", from, from.AddDate(0, 1, 0))
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("day %s in February %d: runs %v, want %v", tc.day, tc.year, got, tc.want)
		}
	}
}

func TestLastDayRunsOnEveryMonthEnd(t *testing.T) {
	got := runsIn(t, monthly(LastDay, 18), "Europe/Berlin", time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2028, 7, 1, 0, 0, 0, 0, time.UTC))
	want := []string{"2027-12-31 18:00 CET", "2028-01-31 18:00 CET", "2028-02-29 18:00 CET", "2028-03-31 18:00 CEST",
		"2028-04-30 18:00 CEST", "2028-05-31 18:00 CEST", "2028-06-30 18:00 CEST"}
	assertRuns(t, got, want)
}

func TestDailyRunsKeepLocalHourAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		zone string
		from time.Time
		gaps []time.Duration
	}{
		// Clocks go forward on 2026-03-08 in New York: one gap is 23 hours.
		{"America/New_York", time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC), []time.Duration{24 * time.Hour, 23 * time.Hour, 24 * time.Hour}},
		// Clocks go back on 2026-10-25 in Berlin: one gap is 25 hours.
		{"Europe/Berlin", time.Date(2026, 10, 22, 12, 0, 0, 0, time.UTC), []time.Duration{24 * time.Hour, 25 * time.Hour, 24 * time.Hour}},
	} {
		loc, _ := time.LoadLocation(tc.zone)
		s := Schedule{Enabled: true, Cadence: Daily, Hour: 6}
		prev := s.Next(tc.from, loc)
		for i, want := range tc.gaps {
			next := s.Next(prev, loc)
			if got := next.Sub(prev); got != want {
				t.Errorf("%s gap %d: %v, want %v", tc.zone, i, got, want)
			}
			if h := next.In(loc).Hour(); h != 6 {
				t.Errorf("%s run at local hour %d", tc.zone, h)
			}
			prev = next
		}
	}
}

func TestRunInsideASkippedHourMovesPastTheGap(t *testing.T) {
	for _, tc := range []struct {
		zone string
		day  time.Time
		want string
	}{
		// 02:00 does not exist on 2026-03-29 in Berlin (01:59:59 CET → 03:00 CEST), nor on
		// 2027-03-14 in New York (01:59:59 EST → 03:00 EDT); time.Date moves the first
		// forward and the second back.
		{"Europe/Berlin", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), "2026-03-29 03:00 CEST"},
		{"America/New_York", time.Date(2027, 3, 13, 12, 0, 0, 0, time.UTC), "2027-03-14 03:00 EDT"},
		// Lord Howe Island moves its clocks by half an hour.
		{"Australia/Lord_Howe", time.Date(2026, 10, 3, 12, 0, 0, 0, time.UTC), "2026-10-04 02:30 +11"},
	} {
		loc, _ := time.LoadLocation(tc.zone)
		s := Schedule{Enabled: true, Cadence: Daily, Hour: 2}
		got := s.Next(tc.day, loc).In(loc).Format("2006-01-02 15:04 MST")
		if got != tc.want {
			t.Errorf("%s: run = %s, want %s", tc.zone, got, tc.want)
		}
	}
}

func assertRuns(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("run %d = %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
}

// literalFires lists the times a scheduler that matches wall clocks literally, as
// Temporal's calendars do, fires for the entries in [from, to): every wall time that exists
// and matches an entry, at the instant time.Date gives; where that is the earlier of two
// instants showing the wall time (the clocks go back later), the later one too.
func literalFires(entries []CalendarEntry, loc *time.Location, from, to time.Time) []time.Time {
	in := func(v int, set []int) bool { return len(set) == 0 || slices.Contains(set, v) }
	inYears := func(y int, spans []YearSpan) bool {
		if len(spans) == 0 {
			return true
		}
		for _, s := range spans {
			for v := s.From; v <= s.To; v += max(s.Step, 1) {
				if v == y {
					return true
				}
			}
		}
		return false
	}
	seen := map[time.Time]bool{}
	var out []time.Time
	add := func(at time.Time) {
		if !at.Before(from) && at.Before(to) && !seen[at] {
			seen[at] = true
			out = append(out, at)
		}
	}
	start := from.In(loc)
	for d := time.Date(start.Year(), start.Month(), start.Day(), 12, 0, 0, 0, loc); d.Before(to.Add(24 * time.Hour)); d = d.AddDate(0, 0, 1) {
		for _, e := range entries {
			if !inYears(d.Year(), e.Years) || !in(int(d.Month()), e.Months) || !in(d.Day(), e.Days) {
				continue
			}
			at := time.Date(d.Year(), d.Month(), d.Day(), e.Hour, e.Minute, 0, 0, loc)
			if l := at.In(loc); l.Day() != d.Day() || l.Hour() != e.Hour || l.Minute() != e.Minute {
				continue // a wall time the clocks skip
			}
			add(at)
			for _, later := range []time.Duration{30 * time.Minute, time.Hour} {
				if l := at.Add(later).In(loc); l.Day() == d.Day() && l.Hour() == e.Hour && l.Minute() == e.Minute {
					add(at.Add(later))
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// The calendars built for a schedule fire exactly at its run times, every year up to the
// last year Temporal's calendars know: month lengths and leap years are calendar entries,
// and the hour after a DST gap is an entry only on the dates the zone skips the run hour.
// The one extra firing is the second showing of a repeated hour, which is a repeat.
func TestCalendarsFireExactlyAtTheRunTimesUntil2100(t *testing.T) {
	from := time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)
	to := time.Date(CalendarLastYear+1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone string
		s    Schedule
	}{
		{"Europe/London", monthly(LastDay, 18)},
		{"Europe/Berlin", monthly(LastDay, 2)},
		{"UTC", monthly("31", 6)},
		{"Europe/Berlin", monthly("29", 2)},
		{"Europe/Berlin", monthly("28", 2)},
		{"America/New_York", monthly("14", 2)},
		{"America/New_York", monthly("1", 1)},
		{"Australia/Lord_Howe", monthly("5", 2)},
		{"Europe/Berlin", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		{"America/New_York", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		{"America/Santiago", Schedule{Enabled: true, Cadence: Daily, Hour: 0}},
		{"Australia/Lord_Howe", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		// Morocco pauses its clocks for Ramadan: the dates move every year.
		{"Africa/Casablanca", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		{"Africa/Casablanca", monthly(LastDay, 2)},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		end := to
		if tc.s.Cadence == Daily {
			end = from.AddDate(12, 0, 0) // a dozen years of days is plenty
		}
		fires := literalFires(tc.s.Calendars(loc, from), loc, from, end)
		var runs []time.Time
		for at := tc.s.Next(from, loc); !at.IsZero() && at.Before(end); at = tc.s.Next(at, loc) {
			runs = append(runs, at)
		}
		var extra []time.Time
		for _, at := range fires {
			if !slices.ContainsFunc(runs, at.Equal) {
				extra = append(extra, at)
			}
		}
		for _, at := range runs {
			if !slices.ContainsFunc(fires, at.Equal) {
				t.Errorf("%s %s: run %s is not fired by the calendars", tc.zone, tc.s, at.In(loc))
			}
		}
		for _, at := range extra {
			if !tc.s.IsRepeatedRun(at, loc) {
				t.Errorf("%s %s: the calendars fire at %s, which is no run", tc.zone, tc.s, at.In(loc))
			}
		}
		if len(runs) == 0 {
			t.Errorf("%s %s: no runs", tc.zone, tc.s)
		}
	}
}

func TestLeapYearsAndCommonYearsUpTo2100(t *testing.T) {
	got := commonYears(2026)
	want := []YearSpan{{2029, 2097, 4}, {2026, 2098, 4}, {2027, 2099, 4}, {2100, 2100, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("common years %v, want %v", got, want)
	}
	for y := 2026; y <= 2100; y++ {
		leap := time.Date(y, 2, 29, 0, 0, 0, 0, time.UTC).Month() == time.February
		listed := false
		for _, s := range got {
			for v := s.From; v <= s.To; v += s.Step {
				listed = listed || v == y
			}
		}
		if listed == leap {
			t.Errorf("%d: leap %v, listed as common %v", y, leap, listed)
		}
	}
}

// When summer time ends the clocks show the run's hour twice. The run is the instant
// Temporal's calendar fires first, where time.Date puts the wall time: the later instant in
// Berlin (the calendar fires only that one), the earlier in New York (the calendar then
// fires the later one too, which is a repeat).
func TestRepeatedHourRunsWhenTheCalendarFiresItFirst(t *testing.T) {
	for _, tc := range []struct {
		zone          string
		s             Schedule
		day           time.Time
		run, repeated time.Time
	}{
		{"Europe/Berlin", Schedule{Enabled: true, Cadence: Daily, Hour: 2}, time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)},
		{"America/New_York", monthly("1", 1), time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)},
	} {
		loc, _ := time.LoadLocation(tc.zone)
		if got := tc.s.RunAt(tc.day.In(loc)); !got.Equal(tc.run) {
			t.Errorf("%s: run at %s, want %s", tc.zone, got.UTC(), tc.run)
		}
		if !tc.s.IsRunTime(tc.run, loc) || tc.s.IsRunTime(tc.repeated, loc) {
			t.Errorf("%s: %s is the run time, %s is not", tc.zone, tc.run, tc.repeated)
		}
		if tc.s.IsRepeatedRun(tc.run, loc) || !tc.s.IsRepeatedRun(tc.repeated, loc) {
			t.Errorf("%s: only %s is a repeat", tc.zone, tc.repeated)
		}
	}
}

// The schedule sync builds every tenant's calendars at each worker start: a daily schedule
// walks every day up to 2100.
func BenchmarkCalendars(b *testing.B) {
	from := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		zone string
		s    Schedule
	}{
		{"daily 02:00 Berlin", "Europe/Berlin", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		{"daily 02:00 Casablanca", "Africa/Casablanca", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		{"monthly last 18:00 London", "Europe/London", monthly(LastDay, 18)},
	} {
		loc, _ := time.LoadLocation(tc.zone)
		b.Run(tc.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = len(tc.s.Calendars(loc, from))
			}
			b.ReportMetric(float64(n), "entries")
		})
	}
}
