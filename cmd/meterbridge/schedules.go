package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/meterbridge/meterbridge/app"
	"github.com/meterbridge/meterbridge/telemetry"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

func openRuntime(ctx context.Context) (*app.Runtime, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, nil, cfg.Logger())
}

// startTracing labels the build metric and exports traces when OTEL_EXPORTER_OTLP_ENDPOINT
// is set; the returned function flushes what is left when the process stops.
func startTracing(ctx context.Context, process string) (func(), error) {
	v := readVersion(debug.ReadBuildInfo())
	telemetry.SetBuild(v.Version, v.Commit)
	shutdown, err := telemetry.SetupTracing(ctx, process)
	if err != nil {
		return nil, err
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}, nil
}

func runSchedules(ctx context.Context, args []string) error {
	return group{name: "schedules", about: "Tenants' Temporal Schedules (publish, licence refresh, licence sync).", subs: []sub{
		{"sync", "bring Temporal Schedules in line with tenants' settings", func(a []string) error { return runSchedulesSync(ctx, a) }},
	}}.dispatch(args)
}

func runSchedulesSync(ctx context.Context, args []string) error {
	fs := newFlags("schedules sync", "", `Bring every tenant's Temporal Schedules (or one tenant's) in line with its settings,
creating, updating, pausing or deleting them. The worker does this at start too.`)
	tenantID := fs.String("tenant", "", "only this tenant")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	rt, err := openRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	st := rt.Starter()
	if *tenantID == "" {
		if err := st.SyncAllSchedules(ctx); err != nil {
			return err
		}
		return adminAudit(ctx, rt.Store, "schedules.synced", "", "every tenant's schedules brought in line with its settings", nil)
	}
	t, err := rt.Store.GetTenant(ctx, *tenantID)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", *tenantID, err)
	}
	if err := st.SyncSchedules(ctx, t); err != nil {
		return err
	}
	return adminAudit(ctx, rt.Store, "schedules.synced", t.ID, "schedules brought in line with the settings", nil)
}

// runBackfill runs a schedule for past scheduled times; each run labels its period from its
// scheduled time, and periods already published automatically end as already published.
func runBackfill(ctx context.Context, args []string) error {
	fs := newFlags("backfill", "", `Run a tenant's schedule for the scheduled times of a past range of days. Each run labels
its period from its scheduled time; periods already published automatically end as
already published.`)
	tenantID := fs.String("tenant", "", "tenant ID (required)")
	action := fs.String("action", workflows.ActionPublish, "publish, refresh or sync")
	from := fs.String("from", "", "first day (YYYY-MM-DD, tenant's zone), inclusive (required)")
	to := fs.String("to", "", "last day (YYYY-MM-DD, tenant's zone), exclusive (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch *action {
	case workflows.ActionPublish, workflows.ActionRefresh, workflows.ActionSync:
	default:
		return usagef("backfill", "-action must be publish, refresh or sync, not %q", *action)
	}
	if *tenantID == "" {
		return usagef("backfill", "-tenant is required")
	}
	if !tenant.ValidID(*tenantID) {
		return usagef("backfill", "-tenant %q is not a tenant ID", *tenantID)
	}
	for _, f := range []struct{ name, value string }{{"from", *from}, {"to", *to}} {
		if f.value == "" {
			return usagef("backfill", "-%s is required (YYYY-MM-DD)", f.name)
		}
		if _, err := time.Parse(time.DateOnly, f.value); err != nil {
			return usagef("backfill", "-%s %q: want a date as YYYY-MM-DD", f.name, f.value)
		}
	}
	rt, err := openRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	t, err := rt.Store.GetTenant(ctx, *tenantID)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", *tenantID, err)
	}
	start, err := time.ParseInLocation(time.DateOnly, *from, t.Location())
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	end, err := time.ParseInLocation(time.DateOnly, *to, t.Location())
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	if end.After(time.Now()) {
		return errors.New("-to must not be in the future: backfill replays past scheduled times")
	}
	if err := rt.Starter().Backfill(ctx, t.ID, *action, start, end); err != nil {
		return err
	}
	fmt.Printf("backfill of %s for %s from %s to %s requested; watch the runs in the Temporal UI (TenantID = %q)\n",
		*action, t.ID, *from, *to, t.ID)
	return adminAudit(ctx, rt.Store, "backfill.requested", t.ID, fmt.Sprintf("backfill of %s from %s to %s requested", *action, *from, *to),
		map[string]any{"action": *action, "from": *from, "to": *to})
}
