package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// ScheduleSyncer brings a tenant's Temporal Schedules in line with its settings
// (starter.Starter does).
type ScheduleSyncer interface {
	SyncSchedules(ctx context.Context, t tenant.Tenant) error
}

// CheckScheduledRun reads the tenant's settings as they are now and says whether a
// scheduled time is a run under them (workflows.CheckScheduledRun). A run skipped because
// the schedule was turned off or changed since it was planned, or because the clocks
// repeated its hour, is written to the site history, once per scheduled run however often
// this is retried.
//
// A run the settings no longer hold shows that Temporal's schedule is stale — the change
// reached PostgreSQL but not Temporal (the PATCH answered 503 and nobody retried) — or that
// the run waited for a worker while the change was made. Either way no month may be lost:
// the tenant's schedules are synced again at once, so the new schedule fires from now on;
// and when the new schedule's run of the same period has already passed (or the period has
// none) and the period is not published, the run goes ahead as that period's late run
// (RunCheck.CatchUp) — unless the change itself chose to skip this month's publish.
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
		a.resyncSchedules(ctx, t)
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
	note := store.Note{TenantID: in.TenantID, Severity: severity, Actor: store.ActorAutomatic, Action: "schedule.skipped",
		Message: "scheduled run skipped: " + chk.Reason, Details: details, Once: "scheduled-run/" + in.WorkflowID}
	if chk.Skip == workflows.SkipChanged {
		catchUp, err := a.catchUp(ctx, t, in, chk)
		if err != nil {
			return chk, err
		}
		if catchUp != "" {
			details["catch_up"] = true
			note.Action, note.Message = "schedule.catch_up", "scheduled run goes ahead late: "+catchUp
			chk.Skip, chk.CatchUp = "", catchUp
		}
	}
	if err := a.Store.AddNote(ctx, note); err != nil {
		return chk, fmt.Errorf("record skipped run: %w", err)
	}
	return chk, nil
}

// resyncSchedules syncs the tenant's Temporal Schedules with its settings. A failure is
// logged: the skip stands, and the next settings change or worker start syncs again.
func (a *Activities) resyncSchedules(ctx context.Context, t tenant.Tenant) {
	if a.Schedules == nil {
		return
	}
	if err := a.Schedules.SyncSchedules(ctx, t); err != nil {
		a.log().Warn("stale schedules not synced", "tenant", t.ID, "err", err)
	}
}

// catchUp says why a run of a changed schedule should publish its period now, or "" when it
// should stay skipped: it was no run the old schedule planned (a Trigger at another time),
// the new schedule still runs in the period (its schedule was just synced, so it fires
// then), the period is published or being published, or a change chose to skip the period's
// publish.
func (a *Activities) catchUp(ctx context.Context, t tenant.Tenant, in workflows.RunCheckInput, chk workflows.RunCheck) (string, error) {
	if in.Action == workflows.ActionSync || !chk.Schedule.Enabled {
		return "", nil
	}
	planned, err := time.LoadLocation(in.TimeZone)
	if err != nil || !in.Schedule.IsRunTime(in.Nominal, planned) {
		return "", nil
	}
	loc := t.Location()
	kind, period := workflows.RunPeriod(in.Action, chk.Schedule, in.Nominal, loc)
	run := chk.Schedule.RunInMonth(in.Nominal, loc)
	if chk.Schedule.Cadence == tenant.Daily {
		run = chk.Schedule.RunAt(in.Nominal.In(loc))
	}
	now := time.Now()
	if !run.IsZero() && run.After(now) {
		return "", nil
	}
	holder, err := a.Store.PeriodPublisher(ctx, t.ID, kind, period)
	if err != nil {
		return "", fmt.Errorf("look up the publisher of %s: %w", period, err)
	}
	if holder != "" {
		return "", nil
	}
	if kind == billing.UsagePublish {
		skipped, err := a.Store.PublishSkipped(ctx, t.ID, period)
		if err != nil {
			return "", fmt.Errorf("look up the choice for %s: %w", period, err)
		}
		if skipped {
			return "", nil
		}
	}
	when := "it has no run in " + string(period)
	if !run.IsZero() {
		when = "its run of " + string(period) + " (" + run.In(loc).Format("Mon 2 Jan 2006 15:04 MST") + ") has passed"
	}
	return fmt.Sprintf("the %s schedule changed to %s (%s) after its run of %s was planned; %s and %s is not published, so this run publishes it now",
		actionWords(in.Action), chk.Schedule, t.TimeZone, in.Nominal.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), when, period), nil
}

func actionWords(action string) string {
	if action == workflows.ActionRefresh {
		return "licence refresh"
	}
	return "usage publish"
}
