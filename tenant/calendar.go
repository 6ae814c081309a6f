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
// local hour that does not exist on a DST day (clocks jump over it) runs at the first
// instant after the gap, the way Go normalises such wall times; an hour that happens twice
// runs once, at its first occurrence. Zero means the schedule never runs.
func (s Schedule) Next(after time.Time, loc *time.Location) time.Time {
	local := after.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 430; i++ {
		d := day.AddDate(0, 0, i)
		if !s.Matches(d) {
			continue
		}
		run := time.Date(d.Year(), d.Month(), d.Day(), s.Hour, 0, 0, 0, loc)
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
