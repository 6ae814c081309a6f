package scorecard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Week is an ISO 8601 week, "2026-W48": Monday to Sunday, week 1 holding the year's first
// Thursday. Strings of valid weeks sort in calendar order.
type Week string

var weekRE = regexp.MustCompile(`^([0-9]{4})-W([0-9]{2})$`)

// WeekOf returns the ISO week holding t's local date in loc.
func WeekOf(t time.Time, loc *time.Location) Week {
	y, w := t.In(loc).ISOWeek()
	return weekOf(y, w)
}

func weekOf(year, week int) Week { return Week(fmt.Sprintf("%04d-W%02d", year, week)) }

// ISOWeeks returns how many ISO weeks a year has: 53 when it starts or, in a leap year,
// ends on a Thursday (2026 has 53), else 52.
func ISOWeeks(year int) int {
	// 28 December is always in the year's last week.
	_, w := time.Date(year, time.December, 28, 12, 0, 0, 0, time.UTC).ISOWeek()
	return w
}

// ParseWeek checks an ISO week string such as "2026-W48" (2026-W53 exists, 2027-W53 does not).
func ParseWeek(s string) (Week, error) {
	m := weekRE.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("%q is not an ISO week such as 2026-W48", s)
	}
	y, _ := strconv.Atoi(m[1])
	w, _ := strconv.Atoi(m[2])
	if y < 1970 {
		return "", fmt.Errorf("%q is before 1970", s)
	}
	if w < 1 || w > ISOWeeks(y) {
		return "", fmt.Errorf("%d has weeks 1–%d, not %d", y, ISOWeeks(y), w)
	}
	return weekOf(y, w), nil
}

func (w Week) parts() (int, int) {
	m := weekRE.FindStringSubmatch(string(w))
	if m == nil {
		return 0, 0
	}
	y, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	return y, n
}

// Monday returns the week's Monday as a calendar date (midnight UTC; only the date means
// anything).
func (w Week) Monday() time.Time {
	y, n := w.parts()
	// 4 January is always in week 1.
	jan4 := time.Date(y, time.January, 4, 0, 0, 0, 0, time.UTC)
	sinceMonday := (int(jan4.Weekday()) + 6) % 7
	return time.Date(y, time.January, 4-sinceMonday+(n-1)*7, 0, 0, 0, 0, time.UTC)
}

// Sunday returns the week's Sunday as a calendar date.
func (w Week) Sunday() time.Time { return w.Monday().AddDate(0, 0, 6) }

// Start returns Monday 00:00 of the week in loc.
func (w Week) Start(loc *time.Location) time.Time {
	m := w.Monday()
	return time.Date(m.Year(), m.Month(), m.Day(), 0, 0, 0, 0, loc)
}

// End returns the next Monday 00:00 in loc: the week is [Start, End). A week that crosses a
// DST change is 167 or 169 hours long.
func (w Week) End(loc *time.Location) time.Time {
	m := w.Monday()
	return time.Date(m.Year(), m.Month(), m.Day()+7, 0, 0, 0, 0, loc)
}

// Next returns the following week.
func (w Week) Next() Week {
	y, n := w.Monday().AddDate(0, 0, 7).ISOWeek()
	return weekOf(y, n)
}

// NextSnapshot returns the first scheduled snapshot strictly after `after`: the schedule's
// local wall-clock time on the first local date (matching the weekday, when weekly) whose
// wall clock has not yet passed it. The search is by wall clock, not by adding 24 hours, so
// the gap is 23 or 25 hours across a DST change. A time a DST jump skips (02:30 on the
// spring-forward night) runs later by the length of the gap (03:30); a time that happens
// twice runs once.
func NextSnapshot(after time.Time, loc *time.Location, s Schedule) time.Time {
	hh, mm := s.clock()
	local := after.In(loc)
	y, m, d := local.Date()
	wall := time.Date(y, m, d, local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	if !wall.Before(time.Date(y, m, d, hh, mm, 0, 0, time.UTC)) {
		d++ // today's snapshot time has passed on the wall clock
	}
	want, weekly := weekdays[s.Weekday]
	weekly = weekly && s.Cadence == Weekly
	for i := 0; i < 15; i++ {
		if weekly && time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC).Weekday() != want {
			continue
		}
		// The after-check guards the repeated hour of a fall-back night, where the wall clock
		// alone could pick an instant that already passed.
		if t := localTime(y, m, d+i, hh, mm, loc); t.After(after) {
			return t
		}
	}
	return after.Add(24 * time.Hour) // unreachable for a valid schedule
}

// localTime is time.Date for a wall-clock time, except that a time a DST jump skips is
// moved later by the length of the gap (02:30 on a spring-forward night becomes 03:30), where
// time.Date would move it earlier and run the snapshot before its wall time.
func localTime(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, hh, mm, 0, 0, loc)
	want := time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
	ly, lm, ld := t.Date()
	got := time.Date(ly, lm, ld, t.Hour(), t.Minute(), 0, 0, time.UTC)
	if gap := want.Sub(got); gap > 0 {
		return t.Add(gap)
	}
	return t
}

// IsFinal reports whether the snapshot scheduled at `at` is the last of its week, so it
// freezes the week: the schedule's next snapshot falls in a later week. With the default
// schedule that is Sunday 06:00; with a weekly schedule, every snapshot.
func IsFinal(at time.Time, loc *time.Location, s Schedule) bool {
	return WeekOf(NextSnapshot(at, loc, s), loc) != WeekOf(at, loc)
}

// Prev returns the week before.
func (w Week) Prev() Week {
	y, n := w.Monday().AddDate(0, 0, -7).ISOWeek()
	return weekOf(y, n)
}

// Week selectors of the scorecard view: the week holding "now", the one before it, or an
// ISO week by name.
const (
	SelectCurrent  = "current"
	SelectPrevious = "previous"
)

// WeekSelector names the week a scorecard shows: Relative ("current" or "previous", read
// against a clock and a zone by Resolve) or one ISO week.
type WeekSelector struct {
	Relative string
	Week     Week
}

// ParseWeekSelector reads "current", "previous" (any case; "" means current) or an ISO week
// such as "2026-W48".
func ParseWeekSelector(s string) (WeekSelector, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", SelectCurrent:
		return WeekSelector{Relative: SelectCurrent}, nil
	case SelectPrevious:
		return WeekSelector{Relative: SelectPrevious}, nil
	}
	w, err := ParseWeek(s)
	if err != nil {
		return WeekSelector{}, fmt.Errorf("must be current, previous or an ISO week such as 2026-W48: %w", err)
	}
	return WeekSelector{Week: w}, nil
}

// Resolve returns the selected week: for "current" the ISO week holding now's local date in
// loc, for "previous" the week before it, else the named week.
func (s WeekSelector) Resolve(now time.Time, loc *time.Location) Week {
	switch s.Relative {
	case SelectCurrent:
		return WeekOf(now, loc)
	case SelectPrevious:
		return WeekOf(now, loc).Prev()
	}
	return s.Week
}

// String is how the selector was asked for.
func (s WeekSelector) String() string {
	if s.Relative != "" {
		return s.Relative
	}
	return string(s.Week)
}
