package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/scorecard"
)

// Metric is a scorecard metric powered by a gauge.
type Metric struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id"`
	Name       string `json:"name"`
	OwnerEmail string `json:"owner_email"`
	TimeZone   string `json:"time_zone"`
	// TimeZoneFrom says where the zone came from when the metric was created:
	// scorecard.ZoneFromRequest, ZoneFromCreator (the creator's token) or ZoneFromTenant.
	TimeZoneFrom string             `json:"time_zone_from"`
	GaugeID      string             `json:"gauge_id"`
	Schedule     scorecard.Schedule `json:"schedule"`
	WorkflowID   string             `json:"workflow_id"`
	LastSyncAt   *time.Time         `json:"last_sync_at,omitempty"`
	LastSyncBy   string             `json:"last_sync_by,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
	CreatedBy    string             `json:"created_by"`
	UpdatedAt    time.Time          `json:"updated_at"`
	UpdatedBy    string             `json:"updated_by"`
	// Revision counts the metric's changes (1 when created); the snapshot loop ignores a
	// schedule older than the one it holds.
	Revision int64 `json:"-"`
}

// Checkin is a metric's value for one ISO week.
type Checkin struct {
	MetricID  string         `json:"metric_id"`
	Week      scorecard.Week `json:"week"`
	WeekStart time.Time      `json:"-"`
	// Value is what the scorecard shows; Source says whether a person (manual) or the gauge
	// put it there.
	Value      decimal.Decimal `json:"value"`
	Source     string          `json:"source"`
	CapturedAt time.Time       `json:"captured_at"`
	// GaugeValue is the week's latest gauge snapshot, kept while an override hides it.
	GaugeValue   decimal.NullDecimal `json:"gauge_value"`
	GaugeAt      *time.Time          `json:"gauge_at,omitempty"`
	Snapshots    int                 `json:"snapshots"`
	OverriddenBy string              `json:"overridden_by,omitempty"`
	OverriddenAt *time.Time          `json:"overridden_at,omitempty"`
	Frozen       bool                `json:"frozen"`
	FrozenAt     *time.Time          `json:"frozen_at,omitempty"`
	UpdatedAt    time.Time           `json:"updated_at"`
}

// Overridden reports whether a person's value replaces the gauge's.
func (c Checkin) Overridden() bool { return c.Source == scorecard.SourceManual }

// ErrWeekFrozen means the week is frozen and the change did not say it may override that.
var ErrWeekFrozen = errors.New("the week is frozen")

// SyncTooSoonError refuses a sync now inside the window after the last one.
type SyncTooSoonError struct {
	LastSyncAt time.Time
	RetryAfter time.Duration
}

func (e *SyncTooSoonError) Error() string {
	return fmt.Sprintf("the last sync now ran at %s; the next may run in %s", e.LastSyncAt.UTC().Format(time.RFC3339), e.RetryAfter.Round(time.Second))
}

// NewMetricID returns a fresh metric ID that starts with the tenant's, so the snapshot
// loop's workflow ID (metric-snapshot/<id>) shows whose metric it is.
func NewMetricID(tenantID string) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return tenantID + "-" + string(b)
}

const metricColumns = `id, tenant_id, name, owner_email, time_zone, gauge_id, schedule_cadence,
	COALESCE(schedule_weekday, ''), schedule_time, workflow_id, last_sync_at, last_sync_by,
	created_at, created_by, updated_at, updated_by, time_zone_from, revision`

func scanMetric(row pgx.Row) (Metric, error) {
	var m Metric
	err := row.Scan(&m.ID, &m.TenantID, &m.Name, &m.OwnerEmail, &m.TimeZone, &m.GaugeID, &m.Schedule.Cadence,
		&m.Schedule.Weekday, &m.Schedule.Time, &m.WorkflowID, &m.LastSyncAt, &m.LastSyncBy,
		&m.CreatedAt, &m.CreatedBy, &m.UpdatedAt, &m.UpdatedBy, &m.TimeZoneFrom, &m.Revision)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateMetric inserts a metric (ErrConflict when the ID is taken, ErrNotFound when the
// tenant is not there) with its site-history row. Its snapshot loop is told after the
// commit (starter.CreateMetric), never inside the transaction: a loop must never run for a
// metric that is not stored.
func (s *Store) CreateMetric(ctx context.Context, m Metric) (Metric, error) {
	var out Metric
	if m.TimeZoneFrom == "" {
		m.TimeZoneFrom = scorecard.ZoneFromRequest
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanMetric(tx.QueryRow(ctx, `
			INSERT INTO metrics (id, tenant_id, name, owner_email, time_zone, gauge_id, schedule_cadence, schedule_weekday,
				schedule_time, workflow_id, created_by, updated_by, time_zone_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
			RETURNING `+metricColumns,
			m.ID, m.TenantID, m.Name, m.OwnerEmail, m.TimeZone, m.GaugeID, m.Schedule.Cadence, nullable(m.Schedule.Weekday),
			m.Schedule.Time, m.WorkflowID, m.CreatedBy, m.TimeZoneFrom))
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("metric %q: %w", m.ID, ErrConflict)
		case isForeignKeyViolation(err):
			return fmt.Errorf("tenant %q: %w", m.TenantID, ErrNotFound)
		case err != nil:
			return err
		}
		msg := fmt.Sprintf("metric %q created from gauge %s, snapshots %s (%s%s)", out.Name, out.GaugeID, out.Schedule, out.TimeZone, zoneFromWords(out.TimeZoneFrom))
		return addHistoryTx(ctx, tx, out.TenantID, SeverityInfo, actorOr(m.CreatedBy), "metric.created", msg,
			map[string]any{"metric_id": out.ID, "gauge_id": out.GaugeID, "schedule": out.Schedule, "time_zone": out.TimeZone,
				"time_zone_from": out.TimeZoneFrom, "workflow_id": out.WorkflowID})
	})
	return out, err
}

// zoneFromWords says where a new metric's zone came from, for its history row.
func zoneFromWords(from string) string {
	switch from {
	case scorecard.ZoneFromCreator:
		return ", the creator's zone"
	case scorecard.ZoneFromTenant:
		return ", the tenant's zone"
	}
	return ""
}

// GetMetric reads one metric of a tenant.
func (s *Store) GetMetric(ctx context.Context, tenantID, id string) (Metric, error) {
	return scanMetric(s.pool.QueryRow(ctx, `SELECT `+metricColumns+` FROM metrics WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// ListMetrics returns a tenant's metrics, oldest first.
func (s *Store) ListMetrics(ctx context.Context, tenantID string) ([]Metric, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+metricColumns+` FROM metrics WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Metric, error) { return scanMetric(r) })
}

// UpdateMetric applies change to the locked metric, writes it, and records a site-history row
// when the schedule or time zone changed, in one transaction. The snapshot loop is told
// after the commit (starter.ChangeMetric).
func (s *Store) UpdateMetric(ctx context.Context, tenantID, id, actor string, change func(*Metric) error) (Metric, error) {
	var after Metric
	err := s.tx(ctx, func(tx pgx.Tx) error {
		before, err := scanMetric(tx.QueryRow(ctx, `SELECT `+metricColumns+` FROM metrics WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
		}
		next := before
		if err := change(&next); err != nil {
			return err
		}
		after, err = scanMetric(tx.QueryRow(ctx, `
			UPDATE metrics SET name = $3, time_zone = $4, schedule_cadence = $5, schedule_weekday = $6, schedule_time = $7,
				updated_at = now(), updated_by = $8, revision = revision + 1,
				time_zone_from = CASE WHEN time_zone = $4 THEN time_zone_from ELSE 'request' END
			WHERE tenant_id = $1 AND id = $2 RETURNING `+metricColumns,
			tenantID, id, next.Name, next.TimeZone, next.Schedule.Cadence, nullable(next.Schedule.Weekday), next.Schedule.Time, actor))
		if err != nil {
			return err
		}
		if before.Schedule != after.Schedule || before.TimeZone != after.TimeZone {
			msg := fmt.Sprintf("snapshot schedule of %q changed from %s (%s) to %s (%s)", after.Name, before.Schedule, before.TimeZone, after.Schedule, after.TimeZone)
			if err := addHistoryTx(ctx, tx, tenantID, SeverityInfo, actorOr(actor), "metric.schedule_changed", msg,
				map[string]any{"metric_id": id, "before": before.Schedule, "after": after.Schedule, "time_zone": after.TimeZone}); err != nil {
				return err
			}
		}
		return nil
	})
	return after, err
}

// AllMetrics returns every metric of every tenant, for the worker to reconcile the snapshot
// loops with.
func (s *Store) AllMetrics(ctx context.Context) ([]Metric, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+metricColumns+` FROM metrics ORDER BY tenant_id, created_at, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Metric, error) { return scanMetric(r) })
}

// SyncClaim is an accepted sync now: when it was admitted and the sync before it.
type SyncClaim struct {
	At   time.Time
	Prev *time.Time
}

// ClaimSync admits a sync now unless the last one was less than window ago; then it returns
// a *SyncTooSoonError with the time left. The metric's row is locked while it decides, so of
// two racing requests exactly one is admitted.
func (s *Store) ClaimSync(ctx context.Context, tenantID, id, actor string, window time.Duration) (SyncClaim, error) {
	var claim SyncClaim
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT last_sync_at FROM metrics WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&claim.Prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		// The clock is read once the lock is held: now() is when the transaction began, which
		// for a request that waited on the lock is before the claim it waited for.
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
			return err
		}
		if claim.Prev != nil && now.Sub(*claim.Prev) < window {
			return &SyncTooSoonError{LastSyncAt: *claim.Prev, RetryAfter: claim.Prev.Add(window).Sub(now)}
		}
		claim.At = now.UTC()
		_, err = tx.Exec(ctx, `UPDATE metrics SET last_sync_at = $3, last_sync_by = $4 WHERE tenant_id = $1 AND id = $2`, tenantID, id, claim.At, actor)
		return err
	})
	return claim, err
}

// ReleaseSync gives back a claim whose sync could not be sent, unless a later one replaced it.
func (s *Store) ReleaseSync(ctx context.Context, id string, c SyncClaim) error {
	_, err := s.pool.Exec(ctx, `UPDATE metrics SET last_sync_at = $3 WHERE id = $1 AND last_sync_at = $2`, id, c.At, c.Prev)
	return err
}

const checkinColumns = `metric_id, week, week_start, value, source, captured_at, gauge_value, gauge_at, snapshots,
	COALESCE(overridden_by, ''), overridden_at, frozen, frozen_at, updated_at`

func scanCheckin(row pgx.Row) (Checkin, error) {
	var c Checkin
	var week string
	err := row.Scan(&c.MetricID, &week, &c.WeekStart, &c.Value, &c.Source, &c.CapturedAt, &c.GaugeValue, &c.GaugeAt, &c.Snapshots,
		&c.OverriddenBy, &c.OverriddenAt, &c.Frozen, &c.FrozenAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	c.Week = scorecard.Week(week)
	return c, err
}

// GetCheckin reads one week's check-in of a metric.
func (s *Store) GetCheckin(ctx context.Context, metricID string, week scorecard.Week) (Checkin, error) {
	return scanCheckin(s.pool.QueryRow(ctx, `SELECT `+checkinColumns+` FROM metric_checkins WHERE metric_id = $1 AND week = $2`, metricID, week))
}

// ListCheckins returns a tenant's metric's check-ins, newest week first; limit 0 returns all.
func (s *Store) ListCheckins(ctx context.Context, tenantID, metricID string, limit int) ([]Checkin, error) {
	q := `SELECT ` + checkinColumns + ` FROM metric_checkins WHERE tenant_id = $1 AND metric_id = $2 ORDER BY week DESC`
	args := []any{tenantID, metricID}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Checkin, error) { return scanCheckin(r) })
}

// Snapshot is one gauge reading to record as a week's check-in.
type Snapshot struct {
	MetricID    string
	TenantID    string
	Week        scorecard.Week
	Value       decimal.Decimal
	ReadAt      time.Time
	Kind        string
	Final       bool
	RequestedBy string
}

// SnapshotEffect says what a recorded snapshot changed.
type SnapshotEffect struct {
	// AlreadyFrozen: the week was frozen, nothing changed.
	AlreadyFrozen bool
	// KeptManual: the gauge value was stored, but a person's value still shows.
	KeptManual bool
	// Froze: this snapshot froze the week.
	Froze bool
	// Closed lists earlier weeks this snapshot froze because they ended unfrozen (their final
	// snapshot was missed: the metric was linked late, or a schedule change skipped it).
	Closed []scorecard.Week
}

// RecordSnapshot writes a gauge reading into its week. The rules are in the SQL: a frozen
// week is not changed, a manual value is never replaced (the reading is kept beside it),
// and a final snapshot freezes the week. Retrying it is safe: a frozen week stays as the
// first attempt left it. Site-history rows (freeze, sync now) are written in the same
// transaction.
func (s *Store) RecordSnapshot(ctx context.Context, in Snapshot) (Checkin, SnapshotEffect, error) {
	var out Checkin
	var eff SnapshotEffect
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var name string
		if err := tx.QueryRow(ctx, `SELECT name FROM metrics WHERE tenant_id = $1 AND id = $2`, in.TenantID, in.MetricID).Scan(&name); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("metric %s: %w", in.MetricID, ErrNotFound)
			}
			return err
		}
		var err error
		out, err = scanCheckin(tx.QueryRow(ctx, `
			INSERT INTO metric_checkins AS c (metric_id, tenant_id, week, week_start, value, source, captured_at,
				gauge_value, gauge_at, snapshots, frozen, frozen_at)
			VALUES ($1, $2, $3, $4, $5, 'gauge', $6, $5, $6, 1, $7, CASE WHEN $7 THEN now() END)
			ON CONFLICT (metric_id, week) DO UPDATE SET
				gauge_value = EXCLUDED.gauge_value,
				gauge_at    = EXCLUDED.gauge_at,
				snapshots   = c.snapshots + 1,
				value       = CASE WHEN c.source = 'gauge' THEN EXCLUDED.value ELSE c.value END,
				captured_at = CASE WHEN c.source = 'gauge' THEN EXCLUDED.captured_at ELSE c.captured_at END,
				frozen      = EXCLUDED.frozen,
				frozen_at   = EXCLUDED.frozen_at,
				updated_at  = now()
			WHERE NOT c.frozen
			RETURNING `+checkinColumns,
			in.MetricID, in.TenantID, in.Week, in.Week.Monday(), in.Value, in.ReadAt.UTC(), in.Final))
		if isForeignKeyViolation(err) {
			return fmt.Errorf("metric %s (deleted meanwhile): %w", in.MetricID, ErrNotFound)
		}
		if errors.Is(err, ErrNotFound) {
			// The conflict's WHERE refused: the week is frozen.
			eff.AlreadyFrozen = true
			out, err = scanCheckin(tx.QueryRow(ctx, `SELECT `+checkinColumns+` FROM metric_checkins WHERE metric_id = $1 AND week = $2`, in.MetricID, in.Week))
			return err
		}
		if err != nil {
			return err
		}
		eff.KeptManual = out.Overridden()
		eff.Froze = in.Final
		rows, err := tx.Query(ctx, `
			UPDATE metric_checkins SET frozen = true, frozen_at = now(), updated_at = now()
			WHERE metric_id = $1 AND week < $2 AND NOT frozen RETURNING week`, in.MetricID, in.Week)
		if err != nil {
			return err
		}
		closed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, w := range closed {
			eff.Closed = append(eff.Closed, scorecard.Week(w))
		}
		details := map[string]any{"metric_id": in.MetricID, "week": in.Week, "value": out.Value, "gauge_value": in.Value, "source": out.Source}
		if in.Kind == scorecard.KindFirst {
			if err := addHistoryTx(ctx, tx, in.TenantID, SeverityInfo, ActorAutomatic, "metric.first_value",
				fmt.Sprintf("first value of %q read: %s for %s", name, in.Value, in.Week), details); err != nil {
				return err
			}
		}
		if in.Kind == scorecard.KindSync {
			msg := fmt.Sprintf("sync now of %q read %s for %s", name, in.Value, in.Week)
			if eff.KeptManual {
				msg += fmt.Sprintf(" (the manual value %s still shows)", out.Value)
			}
			if err := addHistoryTx(ctx, tx, in.TenantID, SeverityInfo, actorOr(in.RequestedBy), "metric.synced", msg, details); err != nil {
				return err
			}
		}
		if eff.Froze {
			msg := fmt.Sprintf("%s of %q frozen at %s (%s)", in.Week, name, out.Value, out.Source)
			if err := addHistoryTx(ctx, tx, in.TenantID, SeverityInfo, ActorAutomatic, "metric.week_frozen", msg, details); err != nil {
				return err
			}
		}
		if len(closed) > 0 {
			msg := fmt.Sprintf("%s of %q frozen: the week ended without its final snapshot", strings.Join(closed, ", "), name)
			if err := addHistoryTx(ctx, tx, in.TenantID, SeverityInfo, ActorAutomatic, "metric.week_frozen", msg,
				map[string]any{"metric_id": in.MetricID, "weeks": closed}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, eff, err
}

// Override is a person's value for a week.
type Override struct {
	TenantID string
	MetricID string
	Week     scorecard.Week
	Value    decimal.Decimal
	Actor    string
	// AllowFrozen must be set to change a frozen week.
	AllowFrozen bool
}

// SetOverride stores a manual value for a week (creating the check-in when the week has
// none). A frozen week answers ErrWeekFrozen unless AllowFrozen; overriding it is recorded
// in the site history as a warning. wasFrozen reports whether the week was frozen.
func (s *Store) SetOverride(ctx context.Context, o Override) (out Checkin, wasFrozen bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		name, err := lockedMetricName(ctx, tx, o.TenantID, o.MetricID)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT frozen FROM metric_checkins WHERE metric_id = $1 AND week = $2 FOR UPDATE`, o.MetricID, o.Week).Scan(&wasFrozen); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		out, err = scanCheckin(tx.QueryRow(ctx, `
			INSERT INTO metric_checkins AS c (metric_id, tenant_id, week, week_start, value, source, captured_at, overridden_by, overridden_at)
			VALUES ($1, $2, $3, $4, $5, 'manual', now(), $6, now())
			ON CONFLICT (metric_id, week) DO UPDATE SET
				value = EXCLUDED.value, source = 'manual', captured_at = now(),
				overridden_by = EXCLUDED.overridden_by, overridden_at = now(), updated_at = now()
			WHERE NOT c.frozen OR $7
			RETURNING `+checkinColumns,
			o.MetricID, o.TenantID, o.Week, o.Week.Monday(), o.Value, o.Actor, o.AllowFrozen))
		if errors.Is(err, ErrNotFound) {
			return ErrWeekFrozen
		}
		if err != nil {
			return err
		}
		severity, msg := SeverityInfo, fmt.Sprintf("%s of %q set to %s by hand", o.Week, name, o.Value)
		if wasFrozen {
			severity, msg = SeverityWarning, msg+" — the week was frozen and is explicitly overridden"
		}
		return addHistoryTx(ctx, tx, o.TenantID, severity, actorOr(o.Actor), "metric.override_set", msg,
			map[string]any{"metric_id": o.MetricID, "week": o.Week, "value": o.Value, "frozen": wasFrozen})
	})
	return out, wasFrozen, err
}

// ClearOverride removes a week's manual value: the week's latest gauge snapshot shows
// again, or, when the week has none, the check-in goes. ErrNotFound when the week has no
// override; ErrWeekFrozen for a frozen week unless allowFrozen. The returned check-in is nil
// when it went.
func (s *Store) ClearOverride(ctx context.Context, tenantID, metricID string, week scorecard.Week, actor string, allowFrozen bool) (out *Checkin, wasFrozen bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		name, err := lockedMetricName(ctx, tx, tenantID, metricID)
		if err != nil {
			return err
		}
		cur, err := scanCheckin(tx.QueryRow(ctx, `SELECT `+checkinColumns+` FROM metric_checkins WHERE metric_id = $1 AND week = $2 FOR UPDATE`, metricID, week))
		if err != nil {
			return err
		}
		if !cur.Overridden() {
			return fmt.Errorf("no manual value on %s: %w", week, ErrNotFound)
		}
		wasFrozen = cur.Frozen
		if cur.Frozen && !allowFrozen {
			return ErrWeekFrozen
		}
		back := "the gauge's " + cur.GaugeValue.Decimal.String() + " shows again"
		if cur.GaugeValue.Valid {
			c, err := scanCheckin(tx.QueryRow(ctx, `
				UPDATE metric_checkins SET source = 'gauge', value = gauge_value, captured_at = gauge_at,
					overridden_by = NULL, overridden_at = NULL, updated_at = now()
				WHERE metric_id = $1 AND week = $2 AND source = 'manual' RETURNING `+checkinColumns, metricID, week))
			if err != nil {
				return err
			}
			out = &c
		} else {
			back = "the week has no gauge snapshot yet"
			if _, err := tx.Exec(ctx, `DELETE FROM metric_checkins WHERE metric_id = $1 AND week = $2 AND source = 'manual'`, metricID, week); err != nil {
				return err
			}
		}
		severity, msg := SeverityInfo, fmt.Sprintf("manual value %s of %q on %s cleared; %s", cur.Value, name, week, back)
		if wasFrozen {
			severity, msg = SeverityWarning, msg+" — the week was frozen and is explicitly overridden"
		}
		return addHistoryTx(ctx, tx, tenantID, severity, actorOr(actor), "metric.override_cleared", msg,
			map[string]any{"metric_id": metricID, "week": week, "cleared_value": cur.Value, "frozen": wasFrozen})
	})
	return out, wasFrozen, err
}

// lockedMetricName locks the metric's row so overrides of one metric apply one at a time.
func lockedMetricName(ctx context.Context, tx pgx.Tx, tenantID, metricID string) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM metrics WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, metricID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}

// addHistoryTx is AddHistory inside a transaction, so a change and its history row commit
// together.
func addHistoryTx(ctx context.Context, tx pgx.Tx, tenantID, severity, actor, action, message string, details map[string]any) error {
	return insertHistory(ctx, tx, tenantID, severity, actor, action, message, details)
}

func actorOr(actor string) string {
	if actor == "" {
		return ActorAutomatic
	}
	return actor
}
