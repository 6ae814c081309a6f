package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
	"github.com/meterbridge/meterbridge/workflows"
)

// SnapshotMetric reads a metric's gauge and records it as the week's check-in. It is
// idempotent by (metric, week): a retry reads the gauge again and leaves the week as one
// snapshot would. A frozen week is answered from PostgreSQL without reading the gauge; a
// manual value is never replaced (the rule is in the store's SQL).
func (a *Activities) SnapshotMetric(ctx context.Context, in scorecard.SnapshotInput) (scorecard.SnapshotResult, error) {
	res := scorecard.SnapshotResult{Week: in.Week, Kind: in.Kind}
	if _, err := a.Store.GetMetric(ctx, in.TenantID, in.MetricID); errors.Is(err, store.ErrNotFound) {
		return res, metricGone(in)
	} else if err != nil {
		return res, fmt.Errorf("read metric %s: %w", in.MetricID, err)
	}
	if cur, err := a.Store.GetCheckin(ctx, in.MetricID, in.Week); err == nil && cur.Frozen {
		res.Value, res.Source, res.Frozen, res.Skipped, res.At, res.FrozenAt = cur.Value, cur.Source, true, scorecard.SkippedFrozen, cur.CapturedAt, cur.FrozenAt
		telemetry.Snapshot(in.Kind, 0, true)
		return res, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("read check-in %s of metric %s: %w", in.Week, in.MetricID, err)
	}
	gauges, err := a.Connect.Gauges(ctx, in.TenantID)
	if err != nil {
		return res, outsideError("open the gauge service of tenant "+in.TenantID, err)
	}
	reading, err := gauges.Gauge(ctx, in.GaugeID)
	if err != nil {
		return res, outsideError("read gauge "+in.GaugeID, err)
	}
	readAt := time.Now().UTC()
	c, eff, err := a.Store.RecordSnapshot(ctx, store.Snapshot{
		MetricID: in.MetricID, TenantID: in.TenantID, Week: in.Week, Value: reading.Value, ReadAt: readAt,
		Kind: in.Kind, Final: in.Final, RequestedBy: in.RequestedBy,
	})
	if errors.Is(err, store.ErrNotFound) {
		return res, metricGone(in) // deleted while the gauge was read
	}
	if err != nil {
		return res, outsideError(fmt.Sprintf("record snapshot %s of metric %s", in.Week, in.MetricID), err)
	}
	res.Value, res.GaugeValue, res.Source, res.Frozen, res.At, res.FrozenAt = c.Value, reading.Value, c.Source, c.Frozen, c.CapturedAt, c.FrozenAt
	if eff.AlreadyFrozen {
		res.Skipped = scorecard.SkippedFrozen
	}
	telemetry.Snapshot(in.Kind, readAt.Sub(in.At), eff.AlreadyFrozen)
	a.log().Info("metric snapshot", "tenant", in.TenantID, "metric", in.MetricID, "week", in.Week, "kind", in.Kind,
		"gauge_value", reading.Value, "value", c.Value, "source", c.Source, "frozen", c.Frozen)
	return res, nil
}

// metricGone is the error of a snapshot whose metric was deleted: its loop ends.
func metricGone(in scorecard.SnapshotInput) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("metric %s of tenant %s is no longer stored (deleted)", in.MetricID, in.TenantID), workflows.ErrMetricGone, nil)
}

// NoteSnapshotFailure records in the site history that a snapshot could not be taken, once
// per failed snapshot however often it is retried.
func (a *Activities) NoteSnapshotFailure(ctx context.Context, n scorecard.FailureNote) error {
	m, err := a.Store.GetMetric(ctx, n.TenantID, n.MetricID)
	name := n.MetricID
	if err == nil {
		name = m.Name
	}
	var once string
	if !n.At.IsZero() {
		once = fmt.Sprintf("snapshot-failed/%s/%s/%s", n.MetricID, n.Kind, n.At.UTC().Format(time.RFC3339Nano))
	}
	return a.Store.AddNote(ctx, store.Note{TenantID: n.TenantID, Severity: store.SeverityError, Actor: store.ActorAutomatic, Action: "metric.snapshot_failed",
		Message: fmt.Sprintf("%s snapshot of %q for %s failed: %s", n.Kind, name, n.Week, n.Error),
		Details: map[string]any{"metric_id": n.MetricID, "week": n.Week, "kind": n.Kind}, Once: once})
}
