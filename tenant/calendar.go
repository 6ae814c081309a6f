package tenant

import "time"

// Matches reports whether the schedule runs on the local day of t (t already in the
// tenant's zone). A monthly day the month lacks (31 in a 30-day month, 29–31 in a common
// February) matches no day of that month; "last" matches the month's last day.
func (s Schedule) Matches(local time.Time) bool {
	switch s.Cadence {
	case Daily:
		return true
	case Monthly:
		if s.Day == LastDay {
			return local.AddDate(0, 0, 1).Month() != local.Month()
		}
		return local.Day() == s.DayOfMonth()
	}
	return false
}

// Next returns the first run time strictly after t, in loc, scanning at most 14 months. A
// local hour the clocks skip on a DST day (02:00 when they jump from 02:00 to 03:00) runs at
// the same wall time after the jump (03:00): RunAt's rule. Zero means the schedule never
// runs.
func (s Schedule) Next(after time.Time, loc *time.Location) time.Time {
	local := after.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 430; i++ {
		d := day.AddDate(0, 0, i)
		if !s.Matches(d) {
			continue
		}
		run := s.RunAt(d)
		if run.After(after) {
			return run
		}
	}
	return time.Time{}
}

// LastDayOfMonth returns the last day of the month of local.
func LastDayOfMonth(local time.Time) int {
	return time.Date(local.Year(), local.Month()+1, 0, 0, 0, 0, 0, local.Location()).Day()
}

// RunAt is the run time on the local day of d. Go's time.Date moves a wall time the clocks
// skip forward by the length of the gap (02:00 → 03:00 on a spring-forward day in Berlin),
// so a run that falls in the gap happens right after it instead of not at all.
func (s Schedule) RunAt(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), s.Hour, 0, 0, 0, d.Location())
}

// HourSkippedSomeDay reports whether the local hour falls into a DST gap in loc on some day
// of the two years from from: then a calendar at that hour alone would skip that day.
func HourSkippedSomeDay(hour int, loc *time.Location, from time.Time) bool {
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 2*366; i++ {
		d := day.AddDate(0, 0, i)
		if t := time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, loc); t.Hour() != hour {
			return true
		}
	}
	return false
}
