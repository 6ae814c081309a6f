package tenant

import (
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
	loc, _ := time.LoadLocation("Europe/Berlin")
	s := Schedule{Enabled: true, Cadence: Daily, Hour: 2}
	// 02:00 does not exist on 2026-03-29 in Berlin (01:59:59 CET → 03:00 CEST).
	got := s.Next(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), loc).In(loc)
	if got.Day() != 29 || got.Hour() != 3 {
		t.Fatalf("run = %v, want 2026-03-29 03:00 CEST", got)
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

func TestHourSkippedSomeDayFindsDSTGaps(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone string
		hour int
		want bool
	}{
		{"Europe/Berlin", 2, true},
		{"Europe/Berlin", 6, false},
		{"America/New_York", 2, true},
		{"Australia/Brisbane", 2, false},
		{"UTC", 2, false},
	} {
		loc, _ := time.LoadLocation(tc.zone)
		if got := HourSkippedSomeDay(tc.hour, loc, from); got != tc.want {
			t.Errorf("%s %02d:00 skipped some day = %v, want %v", tc.zone, tc.hour, got, tc.want)
		}
	}
}
