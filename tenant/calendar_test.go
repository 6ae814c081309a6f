package tenant

import (
	"archive/zip"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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

// runDates are the dates of [from, to) (both read as dates) the schedule runs on, by
// calendar arithmetic alone: every date for a daily schedule, the matching day of each month
// for a monthly one. It does not ask time.Date in the zone, so it does not share the blind
// spot of code that walks local midnights (which skips a date whose midnight the clocks skip).
func runDates(s Schedule, from, to time.Time) []time.Time {
	var out []time.Time
	for d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC); d.Before(to); d = d.AddDate(0, 0, 1) {
		last := d.AddDate(0, 0, 1).Day() == 1
		switch {
		case s.Cadence == Daily,
			s.Day == LastDay && last,
			s.Day != LastDay && fmt.Sprint(d.Day()) == s.Day:
			out = append(out, d)
		}
	}
	return out
}

// onePerDate checks that the run times fall one on each of the dates (in loc): a run right
// after a gap still lies on its date.
func onePerDate(t *testing.T, what string, runs, dates []time.Time, loc *time.Location) {
	t.Helper()
	got := map[string]int{}
	for _, at := range runs {
		got[at.In(loc).Format(time.DateOnly)]++
	}
	for _, d := range dates {
		if n := got[d.Format(time.DateOnly)]; n != 1 {
			t.Errorf("%s: %d runs on %s, want 1", what, n, d.Format(time.DateOnly))
		}
		delete(got, d.Format(time.DateOnly))
	}
	for d, n := range got {
		t.Errorf("%s: %d runs on %s, which is no run date", what, n, d)
	}
}

// The calendars built for a schedule fire exactly at its run times, in every year Temporal's
// calendars can name (from 2000, so backfills of past years fire too, to 2100): month lengths
// and leap years are calendar entries, and the hour after a DST gap is an entry only on the
// dates the zone skips the run hour. The one extra firing is the second showing of a repeated
// hour, which is a repeat. Both the calendars and Next are also held against the run dates
// counted without the zone, so a date neither of them reaches (a skipped midnight) fails.
func TestCalendarsFireExactlyAtTheRunTimesUntil2100(t *testing.T) {
	type span struct{ from, to time.Time }
	monthlySpans := []span{{time.Date(CalendarFirstYear, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(CalendarLastYear+1, 1, 1, 0, 0, 0, 0, time.UTC)}}
	// A dozen years of days is plenty: some past, some ahead, and the end of the zone tables.
	dailySpans := []span{
		{time.Date(CalendarFirstYear, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(CalendarFirstYear+3, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2039, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
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
		// Santiago and Havana spring forward at midnight: 00:00 does not exist that day.
		{"America/Santiago", Schedule{Enabled: true, Cadence: Daily, Hour: 0}},
		{"America/Santiago", Schedule{Enabled: true, Cadence: Daily, Hour: 5}},
		{"America/Santiago", monthly("6", 5)},
		{"America/Santiago", monthly("6", 0)},
		{"America/Havana", Schedule{Enabled: true, Cadence: Daily, Hour: 0}},
		{"America/Havana", monthly("8", 0)},
		{"Australia/Lord_Howe", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		// Nuuk skips 23:00 on the Saturday before the last Sunday of March.
		{"America/Nuuk", Schedule{Enabled: true, Cadence: Daily, Hour: 23}},
		// Morocco pauses its clocks for Ramadan: the dates move every year.
		{"Africa/Casablanca", Schedule{Enabled: true, Cadence: Daily, Hour: 2}},
		{"Africa/Casablanca", monthly(LastDay, 2)},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		spans := monthlySpans
		if tc.s.Cadence == Daily {
			spans = dailySpans
		}
		cals := tc.s.Calendars(loc)
		for _, sp := range spans {
			from, end := time.Date(sp.from.Year(), sp.from.Month(), sp.from.Day(), 0, 0, 0, 0, loc), time.Date(sp.to.Year(), sp.to.Month(), sp.to.Day(), 0, 0, 0, 0, loc)
			fires := literalFires(cals, loc, from, end)
			var runs []time.Time
			for at := tc.s.Next(from.Add(-time.Second), loc); !at.IsZero() && at.Before(end); at = tc.s.Next(at, loc) {
				runs = append(runs, at)
			}
			what := fmt.Sprintf("%s %s from %d", tc.zone, tc.s, sp.from.Year())
			onePerDate(t, what+" (Next)", runs, runDates(tc.s, sp.from, sp.to), loc)
			var extra []time.Time
			for _, at := range fires {
				if !slices.ContainsFunc(runs, at.Equal) {
					extra = append(extra, at)
				}
			}
			for _, at := range runs {
				if !slices.ContainsFunc(fires, at.Equal) {
					t.Errorf("%s: run %s is not fired by the calendars", what, at.In(loc))
				}
			}
			for _, at := range extra {
				if !tc.s.IsRepeatedRun(at, loc) {
					t.Errorf("%s: the calendars fire at %s, which is no run", what, at.In(loc))
				}
			}
		}
	}
}

// Where the clocks skip midnight (Santiago on 6 September 2026, Havana on 8 March 2026) the
// date still exists and still has its run: at 01:00, right after the gap, for a 00:00
// schedule, and at the written hour for any other. A monthly run on that day is this
// month's run, and still ahead before it.
func TestRunsOnADateWhoseMidnightIsSkipped(t *testing.T) {
	for _, tc := range []struct {
		zone        string
		s           Schedule
		after, want string
	}{
		{"America/Santiago", Schedule{Enabled: true, Cadence: Daily, Hour: 0}, "2026-09-05 12:00", "2026-09-06 01:00 -03"},
		{"America/Santiago", Schedule{Enabled: true, Cadence: Daily, Hour: 5}, "2026-09-05 12:00", "2026-09-06 05:00 -03"},
		{"America/Santiago", monthly("6", 5), "2026-09-01 00:00", "2026-09-06 05:00 -03"},
		{"America/Santiago", monthly("6", 0), "2026-09-01 00:00", "2026-09-06 01:00 -03"},
		{"America/Havana", Schedule{Enabled: true, Cadence: Daily, Hour: 0}, "2026-03-07 12:00", "2026-03-08 01:00 CDT"},
		{"America/Havana", monthly("8", 9), "2026-03-02 00:00", "2026-03-08 09:00 CDT"},
	} {
		loc, _ := time.LoadLocation(tc.zone)
		after, err := time.ParseInLocation("2006-01-02 15:04", tc.after, loc)
		if err != nil {
			t.Fatal(err)
		}
		const layout = "2006-01-02 15:04 MST"
		if got := tc.s.Next(after, loc).In(loc).Format(layout); got != tc.want {
			t.Errorf("%s %s: next after %s = %s, want %s", tc.zone, tc.s, tc.after, got, tc.want)
		}
		if tc.s.Cadence != Monthly {
			continue
		}
		if got := tc.s.NextInMonth(after.Add(48*time.Hour), loc).In(loc).Format(layout); got != tc.want {
			t.Errorf("%s %s: this month's next run two days later = %s, want %s", tc.zone, tc.s, got, tc.want)
		}
		if got := tc.s.RunInMonth(after, loc).In(loc).Format(layout); got != tc.want {
			t.Errorf("%s %s: the month's run = %s, want %s", tc.zone, tc.s, got, tc.want)
		}
	}
}

// zoneNames lists every zone of the tz database Go carries (the zip time/tzdata embeds).
func zoneNames(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	z, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, "/") {
			names = append(names, f.Name)
		}
	}
	if len(names) < 300 {
		t.Fatalf("only %d zones in the tz database", len(names))
	}
	return names
}

// A daily schedule runs exactly once on every local date, at every hour, in every zone of
// the tz database: a skipped hour (or midnight) runs right after the gap on the same date (or
// right before it, when the gap ends the day), a repeated hour runs once. The dates looked
// at are those around each of the zone's clock changes in three years around now, found
// with time.ZoneBounds, plus the days between; dates are counted by calendar arithmetic.
func TestDailyScheduleRunsOncePerLocalDateInEveryZone(t *testing.T) {
	first, last := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range zoneNames(t) {
		t.Run(zone, func(t *testing.T) {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Fatal(err)
			}
			// Each clock change, with the days either side, and an ordinary day.
			windows := [][2]time.Time{{first, first.AddDate(0, 0, 3)}}
			for at := first; at.Before(last); {
				_, end := at.In(loc).ZoneBounds()
				if end.IsZero() || !end.After(at) {
					break
				}
				if end.Before(last) {
					d := dateOf(end.In(loc))
					windows = append(windows, [2]time.Time{d.AddDate(0, 0, -2), d.AddDate(0, 0, 3)})
				}
				at = end
			}
			for hour := range 24 {
				s := Schedule{Enabled: true, Cadence: Daily, Hour: hour}
				for _, w := range windows {
					// Runs from before the first date begins anywhere (offsets reach +14 h)
					// to after the last ends (-12 h).
					var runs []time.Time
					for at := s.Next(w[0].Add(-15*time.Hour), loc); !at.IsZero() && at.Before(w[1].Add(12*time.Hour)); at = s.Next(at, loc) {
						if d := dateOf(at.In(loc)); !d.Before(w[0]) && d.Before(w[1]) {
							runs = append(runs, at)
						}
					}
					onePerDate(t, fmt.Sprintf("daily at %02d:00 from %s", hour, w[0].Format(time.DateOnly)), runs, runDates(s, w[0], w[1]), loc)
				}
			}
		})
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

// The schedule sync builds every tenant's calendars at each worker start, from 2000 to 2100.
func BenchmarkCalendars(b *testing.B) {
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
				n = len(tc.s.Calendars(loc))
			}
			b.ReportMetric(float64(n), "entries")
		})
	}
}
