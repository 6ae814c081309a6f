package store

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/tenant"
)

// MetricDeletion asks to delete a metric. Confirm must be the metric's name as it is stored
// (surrounding spaces aside): a typed confirmation, so a stray request or a wrong ID deletes
// nothing.
type MetricDeletion struct {
	TenantID string
	MetricID string
	Confirm  string
	Actor    string
	// Details are added to the site-history row (the request's ID).
	Details map[string]any
}

// DeletedMetric is what a deletion removed.
type DeletedMetric struct {
	Metric Metric `json:"metric"`
	// Checkins counts the weekly check-ins removed with it, FirstWeek and LastWeek their range.
	Checkins  int            `json:"checkins"`
	FirstWeek scorecard.Week `json:"first_week,omitempty"`
	LastWeek  scorecard.Week `json:"last_week,omitempty"`
}

// maxDeletedWeeksKept bounds the check-in values a deletion copies into its site-history
// row (ten years of weeks, newest first).
const maxDeletedWeeksKept = 520

// DeleteMetric removes a metric and its check-ins in one transaction, with a site-history
// row (a warning) that keeps the metric's definition and its check-in values, so the audit
// trail outlives the data. ErrNotFound when the tenant has no such metric (so a second
// delete is 404); a *tenant.FieldError naming "confirm" when the confirmation does not match.
// The snapshot loop is told after the commit (starter.DeleteMetric).
func (s *Store) DeleteMetric(ctx context.Context, d MetricDeletion) (DeletedMetric, error) {
	var out DeletedMetric
	err := s.tx(ctx, func(tx pgx.Tx) error {
		m, err := scanMetric(tx.QueryRow(ctx, `SELECT `+metricColumns+` FROM metrics WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, d.TenantID, d.MetricID))
		if err != nil {
			return err
		}
		switch confirm := strings.TrimSpace(d.Confirm); {
		case confirm == "":
			return &tenant.FieldError{Field: "confirm", Reason: fmt.Sprintf("is required: type the metric's name, %q, to delete it with its check-ins", m.Name)}
		case confirm != m.Name:
			return &tenant.FieldError{Field: "confirm", Reason: fmt.Sprintf("does not match the metric's name %q; nothing was deleted", m.Name)}
		}
		rows, err := tx.Query(ctx, `SELECT week, value, source, frozen FROM metric_checkins WHERE metric_id = $1 ORDER BY week DESC`, m.ID)
		if err != nil {
			return err
		}
		type kept struct {
			Week   string          `json:"week"`
			Value  decimal.Decimal `json:"value"`
			Source string          `json:"source"`
			Frozen bool            `json:"frozen"`
		}
		weeks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[kept])
		if err != nil {
			return err
		}
		out = DeletedMetric{Metric: m, Checkins: len(weeks)}
		if len(weeks) > 0 {
			out.LastWeek, out.FirstWeek = scorecard.Week(weeks[0].Week), scorecard.Week(weeks[len(weeks)-1].Week)
		}
		// The check-ins go with the metric (ON DELETE CASCADE).
		if _, err := tx.Exec(ctx, `DELETE FROM metrics WHERE tenant_id = $1 AND id = $2`, d.TenantID, d.MetricID); err != nil {
			return err
		}
		msg := fmt.Sprintf("metric %q deleted with its %d check-ins", m.Name, len(weeks))
		if len(weeks) > 0 {
			msg += fmt.Sprintf(" (%s to %s)", out.FirstWeek, out.LastWeek)
		}
		msg += "; its snapshot loop stops"
		details := map[string]any{"metric_id": m.ID, "name": m.Name, "gauge_id": m.GaugeID, "owner_email": m.OwnerEmail,
			"time_zone": m.TimeZone, "schedule": m.Schedule, "workflow_id": m.WorkflowID, "created_at": m.CreatedAt, "created_by": m.CreatedBy,
			"checkins": len(weeks), "first_week": out.FirstWeek, "last_week": out.LastWeek}
		if len(weeks) > maxDeletedWeeksKept {
			details["weeks_not_kept"] = len(weeks) - maxDeletedWeeksKept
			weeks = weeks[:maxDeletedWeeksKept]
		}
		details["weeks"] = weeks
		maps.Copy(details, d.Details)
		return addHistoryTx(ctx, tx, d.TenantID, SeverityWarning, actorOr(d.Actor), "metric.deleted", msg, details)
	})
	return out, err
}

// MetricHasReading reports whether a metric has any gauge reading stored: a loop started for
// a metric without one takes its first snapshot at once.
func (s *Store) MetricHasReading(ctx context.Context, metricID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM metric_checkins WHERE metric_id = $1 AND gauge_value IS NOT NULL)`, metricID).Scan(&ok)
	return ok, err
}
