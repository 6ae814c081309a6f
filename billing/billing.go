// Package billing holds the vocabulary of a billing cycle shared by every layer: kinds of
// cycle, periods, triggers, item states and cycle outcomes. It has no I/O, so workflow code
// may use it.
package billing

import (
	"fmt"
	"regexp"
	"time"
)

// Kind is what a cycle moves.
type Kind string

const (
	// UsagePublish moves backup storage usage to ConnectWise (job 1).
	UsagePublish Kind = "usage_publish"
	// LicenceSync moves licence counts to ConnectWise or Autotask (job 2).
	LicenceSync Kind = "licence_sync"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == UsagePublish || k == LicenceSync }

// Trigger says who started a cycle.
type Trigger string

const (
	Manual    Trigger = "manual"
	Automatic Trigger = "automatic"
	Backfill  Trigger = "backfill"
)

// Period labels what a cycle bills: a month "2026-11", or a day "2026-11-23" for daily
// licence syncs.
type Period string

var periodRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$`)

// ParsePeriod checks a period string.
func ParsePeriod(s string) (Period, error) {
	if !periodRE.MatchString(s) {
		return "", fmt.Errorf("period %q is not YYYY-MM or YYYY-MM-DD", s)
	}
	if len(s) == 10 {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "", fmt.Errorf("period %q is not a real day", s)
		}
	}
	return Period(s), nil
}

// MonthOf returns the monthly period containing t in loc.
func MonthOf(t time.Time, loc *time.Location) Period {
	return Period(t.In(loc).Format("2006-01"))
}

// DayOf returns the daily period containing t in loc.
func DayOf(t time.Time, loc *time.Location) Period {
	return Period(t.In(loc).Format(time.DateOnly))
}

// YearMonth returns the year and month a period belongs to.
func (p Period) YearMonth() (int, time.Month) {
	t, err := time.Parse("2006-01", string(p)[:7])
	if err != nil {
		return 0, 0
	}
	return t.Year(), t.Month()
}

// ItemState is where one proposed change stands.
type ItemState string

const (
	// Pending waits for a person (or the deadline).
	Pending ItemState = "pending"
	// Approved will be pushed.
	Approved ItemState = "approved"
	// Rejected was removed by a person; nothing is pushed.
	Rejected ItemState = "rejected"
	// Unchanged needed no change: the PSA already holds the new quantity.
	Unchanged ItemState = "unchanged"
	// Applied was pushed and read back.
	Applied ItemState = "applied"
	// ItemFailed could not be read, mapped or pushed; Reason says why.
	ItemFailed ItemState = "failed"
	// Superseded waited in an older licence cycle when a newer refresh replaced it; an
	// approval it carried moves to the identical item of the newer cycle.
	Superseded ItemState = "superseded"
	// Abandoned was still pending or approved when its cycle ended without pushing it
	// (cancelled, failed, or its workflow ended outside meterbridge); Reason says how.
	Abandoned ItemState = "abandoned"
	// Unmapped is a client the tenant has not told meterbridge where to publish: no mapping
	// (advanced mode) or no Managed ID (basic mode). It is not published, and it is not a
	// failure: nothing was tried.
	Unmapped ItemState = "unmapped"
	// Excluded is a client the tenant chose not to publish.
	Excluded ItemState = "excluded"
)

// NotPublished reports whether an item in state s was left out on purpose (unmapped or
// excluded) rather than tried.
func (s ItemState) NotPublished() bool { return s == Unmapped || s == Excluded }

// Status is where a cycle stands or how it ended.
type Status string

const (
	Running          Status = "running"
	AwaitingApproval Status = "awaiting_approval"
	// AwaitingSync: approved licence updates wait for the sync schedule or sync now.
	AwaitingSync     Status = "awaiting_sync"
	Pushing          Status = "pushing"
	Completed        Status = "completed" // every item applied, unchanged or rejected
	Partial          Status = "partial"   // some items failed, the rest completed
	Failed           Status = "failed"    // the cycle could not run (e.g. credentials)
	AlreadyPublished Status = "already_published"
	// Cancelled: a person stopped the cycle (the API, or Temporal) before it finished; what
	// it pushed before that stands and is counted.
	Cancelled Status = "cancelled"
)

// Final reports whether a cycle in this status has ended.
func (s Status) Final() bool {
	return s == Completed || s == Partial || s == Failed || s == AlreadyPublished || s == Cancelled
}

// Phase names the step a cycle is in; it is also the CyclePhase search attribute.
type Phase string

const (
	PhaseStarting  Phase = "starting"
	PhaseRefresh   Phase = "refresh"
	PhaseApproval  Phase = "approval"
	PhaseAwaitSync Phase = "awaiting_sync"
	PhasePush      Phase = "push"
	PhaseRecord    Phase = "record"
	PhaseNotify    Phase = "notify"
	PhaseDone      Phase = "done"
	PhaseDuplicate Phase = "already_published"
)

// Counts tallies a cycle's items by state.
type Counts struct {
	Total      int `json:"total"`
	Pending    int `json:"pending"`
	Approved   int `json:"approved"`
	Rejected   int `json:"rejected"`
	Unchanged  int `json:"unchanged"`
	Applied    int `json:"applied"`
	Failed     int `json:"failed"`
	Superseded int `json:"superseded"`
	Abandoned  int `json:"abandoned"`
	// Unmapped and Excluded count the clients not published on purpose; they are neither
	// failures nor successes.
	Unmapped int `json:"unmapped"`
	Excluded int `json:"excluded"`
}

// Add counts n items in state s.
func (c *Counts) Add(s ItemState, n int) {
	c.Total += n
	switch s {
	case Pending:
		c.Pending += n
	case Approved:
		c.Approved += n
	case Rejected:
		c.Rejected += n
	case Unchanged:
		c.Unchanged += n
	case Applied:
		c.Applied += n
	case ItemFailed:
		c.Failed += n
	case Superseded:
		c.Superseded += n
	case Abandoned:
		c.Abandoned += n
	case Unmapped:
		c.Unmapped += n
	case Excluded:
		c.Excluded += n
	}
}

// AddAll adds another tally to c.
func (c *Counts) AddAll(o Counts) {
	c.Total += o.Total
	c.Pending += o.Pending
	c.Approved += o.Approved
	c.Rejected += o.Rejected
	c.Unchanged += o.Unchanged
	c.Applied += o.Applied
	c.Failed += o.Failed
	c.Superseded += o.Superseded
	c.Abandoned += o.Abandoned
	c.Unmapped += o.Unmapped
	c.Excluded += o.Excluded
}

// Outcome is the final status implied by the counts. Clients left out on purpose
// (unmapped, excluded) make no cycle partial or failed.
func (c Counts) Outcome() Status {
	switch {
	case c.Failed > 0 && c.Failed == c.Total-c.Unmapped-c.Excluded:
		return Failed
	case c.Failed > 0:
		return Partial
	default:
		return Completed
	}
}

// StorageItem is the item name of backup storage in GB.
const StorageItem = "storage_gb"
