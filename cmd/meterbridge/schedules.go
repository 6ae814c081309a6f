package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/meterbridge/meterbridge/app"
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

func runSchedules(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "sync" {
		return errors.New("usage: meterbridge schedules sync [-tenant T]")
	}
	fs := flag.NewFlagSet("schedules sync", flag.ContinueOnError)
	tenantID := fs.String("tenant", "", "only this tenant")
	if err := fs.Parse(args[1:]); err != nil {
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
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	tenantID := fs.String("tenant", "", "tenant ID")
	action := fs.String("action", workflows.ActionPublish, "publish, refresh or sync")
	from := fs.String("from", "", "first day (YYYY-MM-DD, tenant's zone), inclusive")
	to := fs.String("to", "", "last day (YYYY-MM-DD, tenant's zone), exclusive")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *action {
	case workflows.ActionPublish, workflows.ActionRefresh, workflows.ActionSync:
	default:
		return errors.New("-action must be publish, refresh or sync")
	}
	if !tenant.ValidID(*tenantID) {
		return errors.New("-tenant is required")
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
