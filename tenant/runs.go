package tenant

import "time"

// RunsAt reports whether a schedule's calendar firing at nominal starts a run: the local day
// must match (so "last" fires on days 28–31 but runs only on the month's last day), and the
// hour-later slot a calendar gets for an hour that DST can skip runs only on the day the
// clocks skip the run hour. ScheduledCycle applies the same two rules when it is started.
func (s Schedule) RunsAt(nominal time.Time, loc *time.Location) bool {
	local := nominal.In(loc)
	if !s.Matches(local) {
		return false
	}
	fallback := s.Hour < 23 && local.Hour() == s.Hour+1 && local.Minute() == 0 && local.Second() == 0
	return !fallback || s.RunAt(local).Equal(nominal)
}
