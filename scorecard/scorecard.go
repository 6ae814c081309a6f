// Package scorecard is the vocabulary of metric snapshots (job 3): ISO weeks, snapshot
// schedules and the calendar math that turns them into moments in a metric owner's time
// zone, plus the payloads the API, the snapshot loop and its activities exchange. It has no
// I/O and reads no clock, so workflow code may use it.
package scorecard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones are evaluated from embedded data, not whatever the host has

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/tenant"
)

// SyncWindow is how often "sync now" may run per metric. The API refuses a request inside
// it (429 with the time to wait) and the snapshot loop ignores a sync-now signal inside it.
const SyncWindow = 5 * time.Minute

// Cadences of a snapshot schedule.
const (
	Daily  = "daily"
	Weekly = "weekly"
)

// Sources of a check-in's value.
const (
	SourceGauge  = "gauge"
	SourceManual = "manual"
)

// Kinds of snapshot.
const (
	// KindScheduled is taken by the loop's timer (daily 06:00 by default).
	KindScheduled = "scheduled"
	// KindSync is taken because a person asked for "sync now".
	KindSync = "sync"
	// KindFirst is a new metric's first reading, taken when its loop starts rather than at
	// the schedule's next time (retried until the gauge answers or the schedule takes over).
	KindFirst = "first"
)

// Where a metric's time zone came from when it was created.
const (
	// ZoneFromRequest: the request named it (or a later change set it).
	ZoneFromRequest = "request"
	// ZoneFromCreator: the creator's API token carries its owner's zone.
	ZoneFromCreator = "creator"
	// ZoneFromTenant: neither did; the tenant's zone.
	ZoneFromTenant = "tenant"
)

// Schedule says when a metric's gauge is read, in the metric owner's time zone.
type Schedule struct {
	// Cadence is "daily" or "weekly".
	Cadence string `json:"cadence"`
	// Weekday is the day of a weekly schedule, "monday" … "sunday"; empty when daily.
	Weekday string `json:"weekday,omitempty"`
	// Time is the local time of day, "HH:MM" on a 24-hour clock.
	Time string `json:"time"`
}

// DefaultSchedule is every day at 06:00 local time.
func DefaultSchedule() Schedule { return Schedule{Cadence: Daily, Time: "06:00"} }

// IsDefault reports whether s is the default schedule.
func (s Schedule) IsDefault() bool { return s == DefaultSchedule() }

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

var weekdays = map[string]time.Weekday{
	"monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday, "thursday": time.Thursday,
	"friday": time.Friday, "saturday": time.Saturday, "sunday": time.Sunday,
}

// Normalize lower-cases the weekday, so "Monday" and "monday" mean the same.
func (s Schedule) Normalize() Schedule {
	s.Cadence = strings.ToLower(strings.TrimSpace(s.Cadence))
	s.Weekday = strings.ToLower(strings.TrimSpace(s.Weekday))
	s.Time = strings.TrimSpace(s.Time)
	return s
}

// Validate returns the first problem as a *tenant.FieldError naming field.cadence,
// field.weekday or field.time.
func (s Schedule) Validate(field string) error {
	switch s.Cadence {
	case Daily:
		if s.Weekday != "" {
			return &tenant.FieldError{Field: field + ".weekday", Reason: "must be empty for a daily schedule"}
		}
	case Weekly:
		if _, ok := weekdays[s.Weekday]; !ok {
			return &tenant.FieldError{Field: field + ".weekday", Reason: "must be monday, tuesday, wednesday, thursday, friday, saturday or sunday"}
		}
	default:
		return &tenant.FieldError{Field: field + ".cadence", Reason: "must be daily or weekly"}
	}
	if !clockRE.MatchString(s.Time) {
		return &tenant.FieldError{Field: field + ".time", Reason: `must be a 24-hour local time "HH:MM", such as "06:00"`}
	}
	return nil
}

// clock returns the schedule's hour and minute (06:00 when unset or malformed).
func (s Schedule) clock() (int, int) {
	m := clockRE.FindStringSubmatch(s.Time)
	if m == nil {
		return 6, 0
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return h, mi
}

// String reads like "daily at 06:00" or "weekly on friday at 17:30".
func (s Schedule) String() string {
	if s.Cadence == Weekly {
		return fmt.Sprintf("weekly on %s at %s", s.Weekday, s.Time)
	}
	return "daily at " + s.Time
}

// LoadZone loads an IANA time zone, refusing "" and "Local" so a schedule means the same on
// every machine.
func LoadZone(name string) (*time.Location, error) {
	if err := tenant.ValidateTimeZone("time_zone", name); err != nil {
		return nil, err
	}
	return time.LoadLocation(name)
}

// SyncRequest is the sync-now signal.
type SyncRequest struct {
	RequestedBy string `json:"requested_by"`
	// RequestedAt is when the API admitted the request (the start of its 5-minute window in
	// PostgreSQL); zero means "when the signal is handled".
	RequestedAt time.Time `json:"requested_at"`
}

// ScheduleChange is the set-schedule signal: the metric's schedule and time zone as they
// are now. It re-arms the loop's timer when the next snapshot time moves.
type ScheduleChange struct {
	Schedule  Schedule `json:"schedule"`
	TimeZone  string   `json:"time_zone"`
	ChangedBy string   `json:"changed_by"`
	// Revision is the metric's revision the schedule comes from (0 from senders before
	// revisions): the loop ignores a change older than the one it holds, so of two signals
	// that cross, the newer schedule wins whichever arrives last.
	Revision int64 `json:"revision,omitempty"`
}

// OverrideNote tells the loop that a person set or cleared a week's manual value. The
// check-in in PostgreSQL is the record; the loop keeps notes so its state shows them.
type OverrideNote struct {
	Week    Week            `json:"week"`
	Value   decimal.Decimal `json:"value"`
	Cleared bool            `json:"cleared"`
	Frozen  bool            `json:"frozen"`
	By      string          `json:"by"`
	At      time.Time       `json:"at"`
}

// SnapshotInput asks the SnapshotMetric activity to read a gauge into a week's check-in.
type SnapshotInput struct {
	MetricID string `json:"metric_id"`
	TenantID string `json:"tenant_id"`
	GaugeID  string `json:"gauge_id"`
	// Week is the check-in written: the week of the scheduled time, so a snapshot that runs
	// late (a worker was down over Monday 06:00) still lands in its own week.
	Week Week   `json:"week"`
	Kind string `json:"kind"`
	// At is the scheduled time, or when the sync was handled.
	At time.Time `json:"at"`
	// Final freezes the week: the last scheduled snapshot of the week (Sunday 06:00 by default).
	Final       bool   `json:"final"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// Reasons a snapshot wrote nothing.
const (
	// SkippedFrozen: the week was already frozen; the gauge was not read.
	SkippedFrozen = "frozen"
)

// SnapshotResult is the week's check-in after a snapshot.
type SnapshotResult struct {
	Week Week   `json:"week"`
	Kind string `json:"kind"`
	// Value is the week's value after the snapshot: the gauge reading, or the manual value
	// that the snapshot did not overwrite.
	Value decimal.Decimal `json:"value"`
	// GaugeValue is what the gauge read (zero when skipped).
	GaugeValue decimal.Decimal `json:"gauge_value"`
	Source     string          `json:"source"`
	Frozen     bool            `json:"frozen"`
	// FrozenAt is when the week was frozen, when it is.
	FrozenAt *time.Time `json:"frozen_at,omitempty"`
	// Skipped is why nothing was written ("frozen"), empty when the snapshot was recorded.
	Skipped string    `json:"skipped,omitempty"`
	At      time.Time `json:"at"`
}

// FailureNote records a snapshot that could not be taken, for the site history.
type FailureNote struct {
	MetricID string `json:"metric_id"`
	TenantID string `json:"tenant_id"`
	Week     Week   `json:"week"`
	Kind     string `json:"kind"`
	Error    string `json:"error"`
	// At is the failed snapshot's time (scheduled, or when sync now ran): with the metric and
	// kind it names the failure, so a retried note is written once.
	At time.Time `json:"at,omitzero"`
}

// FrozenWeekNote says why a sync now was refused: the current week is frozen.
type FrozenWeekNote struct {
	Week     Week      `json:"week"`
	FrozenAt time.Time `json:"frozen_at,omitzero"`
	// NextWeekStartsAt is when the next week begins in the metric's zone: sync now reads the
	// gauge again from then.
	NextWeekStartsAt time.Time `json:"next_week_starts_at"`
}
