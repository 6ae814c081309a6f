package tenant

import (
	"testing"
	"time"
)

func TestRunsAtKeepsOnlyTheLastDayAndTheSkippedHourFallback(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	last := Schedule{Enabled: true, Cadence: Monthly, Day: LastDay, Hour: 2}
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"30 November is November's last day", time.Date(2026, 11, 30, 2, 0, 0, 0, berlin), true},
		{"29 November is not", time.Date(2026, 11, 29, 2, 0, 0, 0, berlin), false},
		{"the hour-later slot on an ordinary last day", time.Date(2026, 11, 30, 3, 0, 0, 0, berlin), false},
		// 29 March 2026: Berlin skips 02:00–03:00; 31 March is the last day, so use a day-29 schedule.
	}
	for _, c := range cases {
		if got := last.RunsAt(c.at, berlin); got != c.want {
			t.Errorf("%s: RunsAt = %v, want %v", c.name, got, c.want)
		}
	}
	day29 := Schedule{Enabled: true, Cadence: Monthly, Day: "29", Hour: 2}
	if !day29.RunsAt(time.Date(2026, 3, 29, 3, 0, 0, 0, berlin), berlin) {
		t.Error("the hour-later slot on the day the clocks skip 02:00 does not run")
	}
}
