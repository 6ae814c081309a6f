package tenant

import (
	"fmt"
	"slices"
	"time"
)

// Dates. A run date is a calendar date (year, month, day) in the tenant's zone; it is
// carried as a time.Time at UTC midnight and stepped in UTC. Local midnights are not
// dates: where the clocks skip midnight (Santiago, Havana, Beirut spring forward at 00:00)
// time.Date moves it to 23:00 of the day before, and a walk over local midnights never
// reaches that date.

// dateOf is the calendar date of t in t's own location.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysIn is the number of days of a month.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Matches reports whether the schedule runs on the date of t (read in t's own location: a
// local time of the tenant's zone, or a date). A monthly day the month lacks (31 in a
// 30-day month, 29–31 in a common February) matches no day of that month; "last" matches
// the month's last day.
func (s Schedule) Matches(local time.Time) bool {
	switch s.Cadence {
	case Daily:
		return true
	case Monthly:
		if s.Day == LastDay {
			return local.Day() == daysIn(local.Year(), local.Month())
		}
		return local.Day() == s.DayOfMonth()
	}
	return false
}

// Next returns the first run time strictly after t, in loc, scanning at most 14 months. A
// local hour the clocks skip on a DST day (02:00 when they jump from 02:00 to 03:00) runs at
// the same wall time after the jump (03:00); an hour the clocks repeat runs the first time
// it shows: RunAt's rules. Zero means the schedule never runs.
func (s Schedule) Next(after time.Time, loc *time.Location) time.Time {
	// From the day before: a run right after a gap late in the evening can fall on the
	// next date.
	start := dateOf(after.In(loc)).AddDate(0, 0, -1)
	for i := 0; i < 430; i++ {
		d := start.AddDate(0, 0, i)
		if !s.Matches(d) {
			continue
		}
		if run := s.runOn(d, loc); run.After(after) {
			return run
		}
	}
	return time.Time{}
}

// NextInMonth returns the schedule's next run after now when it is on and that run falls in
// now's month (in loc); zero otherwise.
func (s Schedule) NextInMonth(now time.Time, loc *time.Location) time.Time {
	if !s.Enabled {
		return time.Time{}
	}
	next := s.Next(now, loc)
	if l, n := now.In(loc), next.In(loc); next.IsZero() || l.Year() != n.Year() || l.Month() != n.Month() {
		return time.Time{}
	}
	return next
}

// RunInMonth returns the monthly schedule's run time in the month of t (in loc), past or
// still ahead; zero when the month has no run (day 31 in April).
func (s Schedule) RunInMonth(t time.Time, loc *time.Location) time.Time {
	if s.Cadence != Monthly {
		return time.Time{}
	}
	l := t.In(loc)
	for d := 1; d <= daysIn(l.Year(), l.Month()); d++ {
		if date := time.Date(l.Year(), l.Month(), d, 0, 0, 0, 0, time.UTC); s.Matches(date) {
			return s.runOn(date, loc)
		}
	}
	return time.Time{}
}

// LastDayOfMonth returns the last day of the month of local.
func LastDayOfMonth(local time.Time) int {
	return daysIn(local.Year(), local.Month())
}

// RunAt is the run time on the local date of d (d a time in the tenant's zone). A wall time
// the clocks skip (02:00 when they jump from 02:00 to 03:00) runs right after the gap, by
// the gap's length later (03:00), so the run happens instead of not at all; where that would
// be on the next date (the clocks skip the day's last hour, as in Nuuk at 23:00), it runs
// right before the gap instead (22:00), so the run keeps its date and its period. A wall
// time the clocks show twice (the hour they go back) runs when Temporal's calendar fires it
// first: at the instant time.Date gives, the later one in Berlin, the earlier one in New
// York, where the calendar then fires the later one too (IsRepeatedRun).
func (s Schedule) RunAt(d time.Time) time.Time {
	return s.runOn(dateOf(d), d.Location())
}

// runOn is the run time on a date, in loc.
func (s Schedule) runOn(date time.Time, loc *time.Location) time.Time {
	return wallTime(date.Year(), date.Month(), date.Day(), s.Hour, loc)
}

// wallTime is the instant the clocks of loc show y-m-d h:00 (time.Date's pick when they show
// it twice), or, when they skip it, the instant it would be had the clocks not changed yet
// (after the gap by as much) — unless that is on the next date, then the instant it would be
// had they changed already (before the gap by as much). time.Date places a skipped wall time
// before the gap in some zones (New York) and after it in others (Berlin).
func wallTime(y int, m time.Month, d, h int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, h, 0, 0, 0, loc)
	if t.Hour() == h && t.Day() == d {
		return t
	}
	naive := time.Date(y, m, d, h, 0, 0, 0, time.UTC)
	start, end := t.ZoneBounds()
	change := start // t already lies after the gap
	if time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC).Before(naive) {
		change = end // t lies before it
	}
	_, before := change.Add(-time.Nanosecond).In(loc).Zone()
	if run := naive.Add(-time.Duration(before) * time.Second).In(loc); run.Day() == d {
		return run
	}
	_, after := change.In(loc).Zone()
	return naive.Add(-time.Duration(after) * time.Second).In(loc)
}

// IsRunTime reports whether t is exactly one of the schedule's run times in loc.
func (s Schedule) IsRunTime(t time.Time, loc *time.Location) bool {
	return !t.IsZero() && s.Next(t.Add(-time.Second), loc).Equal(t)
}

// IsRepeatedRun reports whether t shows the wall time of a run but is not the run: the other
// instant the clocks show that wall time, the hour they go back. Temporal's calendar fires
// such an hour a second time where time.Date picks its earlier instant (New York).
func (s Schedule) IsRepeatedRun(t time.Time, loc *time.Location) bool {
	local := t.In(loc)
	if !s.Matches(local) {
		return false
	}
	run := s.RunAt(local)
	const wall = "2006-01-02 15:04:05"
	return !run.Equal(t) && run.In(loc).Format(wall) == local.Format(wall)
}

// String describes the schedule as people read it: "monthly on day 10 at 06:00", "monthly
// on the last day at 18:00", "daily at 05:00", "off".
func (s Schedule) String() string {
	at := fmt.Sprintf("%02d:00", s.Hour)
	var what string
	switch {
	case s.Cadence == Daily:
		what = "daily at " + at
	case s.Day == LastDay:
		what = "monthly on the last day at " + at
	default:
		what = "monthly on day " + s.Day + " at " + at
	}
	if !s.Enabled {
		return what + " (off)"
	}
	return what
}

// CalendarFirstYear and CalendarLastYear bound the years a Temporal Schedule's calendar can
// name: the server refuses years before 2000 and stops matching calendars after 2100.
// Calendars reach over all of them, not from the year they are built in: a schedule synced
// in 2027 must still fire on 28 February 2026 when 2026 is backfilled.
const (
	CalendarFirstYear = 2000
	CalendarLastYear  = 2100
)

// YearSpan is the years From, From+Step, … up to To.
type YearSpan struct{ From, To, Step int }

// CalendarEntry is one wall-clock calendar in the schedule's zone: it matches the listed
// years, months and days of month (every one when empty) at Hour:Minute:00.
type CalendarEntry struct {
	Years        []YearSpan
	Months       []int
	Days         []int
	Hour, Minute int
	Comment      string
}

// Calendars are the wall-clock calendars whose matching times are exactly the schedule's run
// times (Next) from CalendarFirstYear to CalendarLastYear, for a scheduler that matches
// calendars literally: it fires a calendar day only if the month has it, never at a wall time
// the clocks skip, and at a wall time they repeat where time.Date puts it, then also an hour
// later if that was the earlier instant (ScheduledCycle skips that second firing: no
// calendar can tell the two apart). They do not depend on when they are built, so a
// backfill of any past period fires exactly where the schedule would have.
//
//   - A numeric day is one entry; months without that day (31 in April, 29 in a common
//     February) have no such date, so nothing fires there.
//   - "last" is one entry per month length: 31-day months on the 31st, 30-day months on the
//     30th, February on the 29th (which only leap years have) and on the 28th in common years
//     (listed as years).
//   - Where the run hour falls into a DST gap on a run date, the run happens right after the
//     gap (RunAt): an entry at that later time for exactly those dates (listed as years, from
//     the zone's rules as this binary knows them; the schedule sync rewrites them when a new
//     binary brings new zone data). A skipped midnight is such a gap too.
func (s Schedule) Calendars(loc *time.Location) []CalendarEntry {
	var out []CalendarEntry
	switch {
	case s.Cadence == Daily:
		out = append(out, CalendarEntry{Hour: s.Hour, Comment: "every day"})
	case s.Cadence != Monthly:
		return nil
	case s.Day == LastDay:
		out = append(out,
			CalendarEntry{Months: []int{1, 3, 5, 7, 8, 10, 12}, Days: []int{31}, Hour: s.Hour, Comment: "last day of 31-day months"},
			CalendarEntry{Months: []int{4, 6, 9, 11}, Days: []int{30}, Hour: s.Hour, Comment: "last day of 30-day months"},
			CalendarEntry{Months: []int{2}, Days: []int{29}, Hour: s.Hour, Comment: "29 February: leap years only"},
			CalendarEntry{Years: commonYears(CalendarFirstYear), Months: []int{2}, Days: []int{28}, Hour: s.Hour, Comment: "28 February in common years"},
		)
	default:
		day := s.DayOfMonth()
		comment := fmt.Sprintf("day %d of every month", day)
		if day > 28 {
			comment = fmt.Sprintf("day %d of the months that have it", day)
		}
		out = append(out, CalendarEntry{Days: []int{day}, Hour: s.Hour, Comment: comment})
	}
	return append(out, s.gapEntries(loc, CalendarFirstYear)...)
}

// gapEntries lists, grouped by date and time, the run dates whose run hour the clocks skip.
func (s Schedule) gapEntries(loc *time.Location, firstYear int) []CalendarEntry {
	type slot struct{ month, day, hour, minute int }
	years := map[slot][]int{}
	var order []slot
	for _, d := range clockChangeDates(loc, firstYear, CalendarLastYear) {
		if !s.Matches(d) {
			continue
		}
		run := s.runOn(d, loc).In(loc)
		if run.Hour() == s.Hour && run.Minute() == 0 && run.Day() == d.Day() {
			continue // on the hour as written: the main entry fires it
		}
		k := slot{int(run.Month()), run.Day(), run.Hour(), run.Minute()}
		if _, ok := years[k]; !ok {
			order = append(order, k)
		}
		years[k] = append(years[k], run.Year())
	}
	slices.SortFunc(order, func(a, b slot) int {
		if a.month != b.month {
			return a.month - b.month
		}
		return a.day - b.day
	})
	var out []CalendarEntry
	for _, k := range order {
		out = append(out, CalendarEntry{
			Years: spans(years[k]), Months: []int{k.month}, Days: []int{k.day}, Hour: k.hour, Minute: k.minute,
			Comment: fmt.Sprintf("%02d:00 is skipped by the clock change on these dates: runs at %02d:%02d", s.Hour, k.hour, k.minute),
		})
	}
	return out
}

// clockChangeDates returns the dates (see dateOf), from 1 January of firstYear to 31
// December of lastYear, on which loc's clocks change, with the days either side (a change at
// midnight belongs to both): the only dates a wall time can be skipped on. It compares the
// zone's offset a week apart and then day by day within a week that changed (time.ZoneBounds
// cannot step from change to change: past the end of the zone's table, 2037, it reports year
// ends). Two changes within one week that cancel out would go unseen; no zone's rules have
// them (Morocco's Ramadan pause, the shortest, lasts a month).
func clockChangeDates(loc *time.Location, firstYear, lastYear int) []time.Time {
	end := time.Date(lastYear+1, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[time.Time]bool{}
	var out []time.Time
	add := func(at time.Time) {
		date := dateOf(at.In(loc))
		for _, dd := range []int{-1, 0, 1} {
			d := date.AddDate(0, 0, dd)
			if d.Year() >= firstYear && d.Before(end) && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	const day, week = 24 * time.Hour, 7 * 24 * time.Hour
	t := time.Date(firstYear, 1, 1, 12, 0, 0, 0, loc)
	stop := time.Date(lastYear+1, 1, 1, 0, 0, 0, 0, loc)
	_, off := t.Zone()
	for ; t.Before(stop); t = t.Add(week) {
		if _, o := t.Add(week).Zone(); o == off {
			continue
		}
		for d := t; d.Before(t.Add(week)); d = d.Add(day) {
			_, before := d.Zone()
			if _, after := d.Add(day).Zone(); after != before {
				add(d)
				add(d.Add(day))
			}
		}
		_, off = t.Add(week).Zone()
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// commonYears are the years from first to CalendarLastYear that are not leap years. Between
// 2000 and 2100 a year is a leap year exactly when it divides by 4, except 2100: three
// stepped spans and 2100.
func commonYears(first int) []YearSpan {
	first = max(first, 2000)
	var out []YearSpan
	for r := 1; r <= 3; r++ {
		y := first + (r-first%4+4)%4
		last := CalendarLastYear - 4 + (r-(CalendarLastYear-4)%4+4)%4
		if y <= last {
			out = append(out, YearSpan{From: y, To: last, Step: 4})
		}
	}
	if first <= CalendarLastYear {
		out = append(out, YearSpan{From: CalendarLastYear, To: CalendarLastYear, Step: 1})
	}
	return out
}

// spans compresses sorted years into runs of consecutive years.
func spans(years []int) []YearSpan {
	var out []YearSpan
	for _, y := range years {
		if n := len(out); n > 0 && out[n-1].To == y-1 {
			out[n-1].To = y
			continue
		}
		out = append(out, YearSpan{From: y, To: y, Step: 1})
	}
	return out
}
