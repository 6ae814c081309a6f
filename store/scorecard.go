package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/tenant"
)

// The scorecard: every metric of a tenant with its value of one ISO week. The API's
// GET …/scorecard and the console's scorecard page both read it through Scorecard.
//
// Weeks are ISO weeks (Monday to Sunday) in each metric's own zone: "2026-W48" of a metric
// kept in Brisbane starts 14 hours before "2026-W48" of one kept in London. "current" and
// "previous" are read against the tenant's zone, so one scorecard shows one week label for
// every metric; each row says where that week stands in its metric's zone (week_status), so
// a metric whose zone is already in the next week, or not yet in this one, is visible as
// such instead of silently showing another week.

// Where a week stands in a metric's zone.
const (
	WeekNotStarted = "not_started"
	WeekInProgress = "in_progress"
	WeekEnded      = "ended"
)

// ScorecardView is the scorecard of one week.
type ScorecardView struct {
	TenantID string         `json:"tenant_id"`
	Week     scorecard.Week `json:"week"`
	// Selected is what was asked for: "current", "previous" or the week itself; relative
	// selections are read in TimeZone, the tenant's zone.
	Selected string `json:"selected"`
	TimeZone string `json:"time_zone"`
	// WeekStart and WeekEnd are the week's Monday and Sunday (dates).
	WeekStart   string           `json:"week_start"`
	WeekEnd     string           `json:"week_end"`
	GeneratedAt time.Time        `json:"generated_at"`
	Metrics     []ScorecardEntry `json:"metrics"`
	Counts      ScorecardCounts  `json:"counts"`
}

// ScorecardCounts sum up a week's scorecard.
type ScorecardCounts struct {
	Metrics   int `json:"metrics"`
	WithValue int `json:"with_value"`
	Final     int `json:"final"`
	Manual    int `json:"manual"`
}

// ScorecardEntry is one metric's value of the week.
type ScorecardEntry struct {
	MetricID   string             `json:"metric_id"`
	Name       string             `json:"name"`
	GaugeID    string             `json:"gauge_id"`
	OwnerEmail string             `json:"owner_email"`
	TimeZone   string             `json:"time_zone"`
	Schedule   scorecard.Schedule `json:"schedule"`
	Week       scorecard.Week     `json:"week"`
	// WeekStatus is WeekNotStarted, WeekInProgress or WeekEnded in the metric's zone, and
	// WeekStartsAt/WeekEndsAt the week's bounds there (UTC instants).
	WeekStatus   string    `json:"week_status"`
	WeekStartsAt time.Time `json:"week_starts_at"`
	WeekEndsAt   time.Time `json:"week_ends_at"`
	// HasValue is false when the week has no check-in; Value is then null.
	HasValue   bool             `json:"has_value"`
	Value      *decimal.Decimal `json:"value"`
	Source     string           `json:"source,omitempty"`
	CapturedAt *time.Time       `json:"captured_at,omitempty"`
	Snapshots  int              `json:"snapshots"`
	// Final: the week is frozen (its last scheduled snapshot was taken, or the next week
	// closed it); only an explicit override changes it.
	Final    bool       `json:"final"`
	FrozenAt *time.Time `json:"frozen_at,omitempty"`
	// Manual: a person's value replaces the gauge's, set by ManualBy at ManualAt.
	Manual   bool       `json:"manual"`
	ManualBy string     `json:"manual_by,omitempty"`
	ManualAt *time.Time `json:"manual_at,omitempty"`
	// GaugeValue is the week's latest gauge reading, kept under an override too.
	GaugeValue *decimal.Decimal `json:"gauge_value,omitempty"`
	GaugeAt    *time.Time       `json:"gauge_at,omitempty"`
}

// Scorecard returns every metric of a tenant (oldest first) with its check-in of the selected
// week, as of now. A week that has not begun in the tenant's zone nor in any of its
// metrics' zones is refused with a *tenant.FieldError naming "week"; ErrNotFound when the
// tenant does not exist.
func (s *Store) Scorecard(ctx context.Context, tenantID string, sel scorecard.WeekSelector, now time.Time) (ScorecardView, error) {
	var view ScorecardView
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		t := tenant.Tenant{ID: tenantID}
		if err := tx.QueryRow(ctx, `SELECT time_zone FROM tenants WHERE id = $1`, tenantID).Scan(&t.TimeZone); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		tloc := t.Location()
		week := sel.Resolve(now, tloc)
		rows, err := tx.Query(ctx, `SELECT `+metricColumns+` FROM metrics WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
		if err != nil {
			return err
		}
		metrics, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Metric, error) { return scanMetric(r) })
		if err != nil {
			return err
		}
		// The latest week any of the tenant's zones has begun.
		latest := scorecard.WeekOf(now, tloc)
		for _, m := range metrics {
			if w := scorecard.WeekOf(now, zoneOrUTC(m.TimeZone)); w > latest {
				latest = w
			}
		}
		if week > latest {
			return &tenant.FieldError{Field: "week", Reason: fmt.Sprintf("%s has not begun in the tenant's zone nor in any metric's zone (the latest week begun is %s)", week, latest)}
		}
		rows, err = tx.Query(ctx, `SELECT `+checkinColumns+` FROM metric_checkins WHERE tenant_id = $1 AND week = $2`, tenantID, week)
		if err != nil {
			return err
		}
		checkins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Checkin, error) { return scanCheckin(r) })
		if err != nil {
			return err
		}
		byMetric := map[string]Checkin{}
		for _, c := range checkins {
			byMetric[c.MetricID] = c
		}
		view = ScorecardView{TenantID: tenantID, Week: week, Selected: sel.String(), TimeZone: t.TimeZone,
			WeekStart: week.Monday().Format(time.DateOnly), WeekEnd: week.Sunday().Format(time.DateOnly),
			GeneratedAt: now.UTC(), Metrics: make([]ScorecardEntry, 0, len(metrics))}
		for _, m := range metrics {
			e := scorecardEntry(m, week, now)
			if c, ok := byMetric[m.ID]; ok {
				e.fill(c)
			}
			view.Metrics = append(view.Metrics, e)
			view.Counts.Metrics++
			if e.HasValue {
				view.Counts.WithValue++
			}
			if e.Final {
				view.Counts.Final++
			}
			if e.Manual {
				view.Counts.Manual++
			}
		}
		return nil
	})
	return view, err
}

func scorecardEntry(m Metric, week scorecard.Week, now time.Time) ScorecardEntry {
	loc := zoneOrUTC(m.TimeZone)
	e := ScorecardEntry{MetricID: m.ID, Name: m.Name, GaugeID: m.GaugeID, OwnerEmail: m.OwnerEmail, TimeZone: m.TimeZone,
		Schedule: m.Schedule, Week: week, WeekStartsAt: week.Start(loc).UTC(), WeekEndsAt: week.End(loc).UTC()}
	switch {
	case now.Before(e.WeekStartsAt):
		e.WeekStatus = WeekNotStarted
	case now.Before(e.WeekEndsAt):
		e.WeekStatus = WeekInProgress
	default:
		e.WeekStatus = WeekEnded
	}
	return e
}

func (e *ScorecardEntry) fill(c Checkin) {
	v := c.Value
	captured := c.CapturedAt
	e.HasValue, e.Value, e.Source, e.CapturedAt, e.Snapshots = true, &v, c.Source, &captured, c.Snapshots
	e.Final, e.FrozenAt = c.Frozen, c.FrozenAt
	e.Manual = c.Overridden()
	if e.Manual {
		e.ManualBy, e.ManualAt = c.OverriddenBy, c.OverriddenAt
	}
	if c.GaugeValue.Valid {
		g := c.GaugeValue.Decimal
		e.GaugeValue, e.GaugeAt = &g, c.GaugeAt
	}
}

// zoneOrUTC loads a stored zone name; a name this binary does not know reads as UTC.
func zoneOrUTC(name string) *time.Location {
	if loc, err := scorecard.LoadZone(name); err == nil {
		return loc
	}
	return time.UTC
}
