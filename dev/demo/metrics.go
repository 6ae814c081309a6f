package demo

import (
	"context"
	"errors"

	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// MetricSuffix names the demo metric: "<tenant>-open-tickets" ("demo-open-tickets"), the
// emulator's open-tickets gauge read daily at 06:00 London time.
const MetricSuffix = "open-tickets"

// MetricID is the demo tenant's metric.
const MetricID = TenantID + "-" + MetricSuffix

// SeedMetrics creates the demo metric when it is missing and returns the tenant's demo
// metrics as they are now (a schedule someone changed is kept). The caller starts their
// snapshot loops once a worker runs (starter.ReconcileSnapshotLoops).
func SeedMetrics(ctx context.Context, s *store.Store, opts Options) ([]store.Metric, error) {
	if opts.TenantID == "" {
		opts.TenantID = TenantID
	}
	if opts.Actor == "" {
		opts.Actor = "demo-seed"
	}
	id := opts.TenantID + "-" + MetricSuffix
	m, err := s.CreateMetric(ctx, store.Metric{
		ID: id, TenantID: opts.TenantID, Name: "Open tickets", OwnerEmail: "service-desk@demo-msp.example",
		TimeZone: "Europe/London", GaugeID: gaemu.DemoGaugeOpenTickets, Schedule: scorecard.DefaultSchedule(),
		WorkflowID: workflows.MetricSnapshotID(id), CreatedBy: opts.Actor,
	})
	if errors.Is(err, store.ErrConflict) {
		m, err = s.GetMetric(ctx, opts.TenantID, id)
	}
	if err != nil {
		return nil, err
	}
	return []store.Metric{m}, nil
}
