package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// CheckScheduledRun reads the tenant's settings as they are now and says whether a
// scheduled time is a run under them (workflows.CheckScheduledRun). A run skipped because
// the schedule was turned off or changed since it was planned, or because the clocks
// repeated its hour, is written to the site history, once per scheduled run however often
// this is retried.
func (a *Activities) CheckScheduledRun(ctx context.Context, in workflows.RunCheckInput) (workflows.RunCheck, error) {
	t, err := a.Store.GetTenant(ctx, in.TenantID)
	var tp *tenant.Tenant
	switch {
	case err == nil:
		tp = &t
	case !errors.Is(err, store.ErrNotFound):
		return workflows.RunCheck{}, fmt.Errorf("load tenant %s: %w", in.TenantID, err)
	}
	chk := workflows.CheckScheduledRun(in, tp)
	severity := store.SeverityWarning
	switch chk.Skip {
	case workflows.SkipDisabled, workflows.SkipChanged:
	case workflows.SkipRepeatedHour:
		severity = store.SeverityInfo
	default:
		// Runs, calendar slots of schedules synced before calendars were exact (they go
		// when the worker next syncs the schedules), and tenants that are gone.
		return chk, nil
	}
	details := map[string]any{"workflow_id": in.WorkflowID, "action": in.Action, "skip": chk.Skip, "scheduled_at": in.Nominal.UTC()}
	if chk.Period != "" {
		details["period"] = chk.Period
	}
	err = a.Store.AddNote(ctx, store.Note{TenantID: in.TenantID, Severity: severity, Actor: store.ActorAutomatic, Action: "schedule.skipped",
		Message: "scheduled run skipped: " + chk.Reason, Details: details, Once: "scheduled-run/" + in.WorkflowID})
	if err != nil {
		return chk, fmt.Errorf("record skipped run: %w", err)
	}
	return chk, nil
}
