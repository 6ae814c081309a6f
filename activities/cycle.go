package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// BeginCycle records a new cycle (once, however often it is retried), claims its period when
// it runs automatically, and returns the settings the cycle will use.
func (a *Activities) BeginCycle(ctx context.Context, in billing.BeginInput) (billing.BeginResult, error) {
	t, err := a.Store.GetTenant(ctx, in.TenantID)
	if err != nil {
		return billing.BeginResult{}, outsideError("load tenant "+in.TenantID, err)
	}
	// Each job has its own approval: usage publishes by default approve themselves, licence
	// syncs wait for a person.
	appr := t.Settings.ApprovalFor(string(in.Kind))
	res := billing.BeginResult{
		Mode:     t.Settings.Publish.Mode,
		TimeZone: t.TimeZone,
		Approval: billing.ApprovalPolicy{
			Mode: appr.Mode, MaxUnits: appr.MaxUnits, MaxPercent: appr.MaxPercent,
		},
		ReminderHours:  appr.ReminderHours,
		DeadlineHours:  appr.DeadlineHours,
		DeadlineAction: appr.DeadlineAction,
	}
	if in.Kind == billing.LicenceSync {
		res.Mode = "licences"
	}
	// The cycle and its "started" row are written together, once.
	_, _, err = a.Store.CreateCycleWithNote(ctx, store.Cycle{
		ID: in.CycleID, TenantID: in.TenantID, Kind: in.Kind, Period: in.Period, Mode: res.Mode,
		Trigger: in.Trigger, StartedBy: in.StartedBy, WorkflowID: in.WorkflowID, Clients: in.Clients,
	}, func(c store.Cycle) store.Note {
		details := map[string]any{"cycle_id": in.CycleID, "workflow_id": in.WorkflowID, "period": in.Period}
		of := ""
		if len(in.Clients) > 0 {
			of = " for client(s) " + strings.Join(in.Clients, ", ")
			details["clients"] = in.Clients
		}
		return store.Note{TenantID: in.TenantID, Severity: store.SeverityInfo, Actor: c.StartedByLabel(), Action: string(in.Kind) + ".started",
			Message: fmt.Sprintf("%s of %s%s started by %s (%s mode)", kindWords(in.Kind), in.Period, of, c.StartedByLabel(), res.Mode),
			Details: details}
	})
	if err != nil {
		return res, fmt.Errorf("record cycle: %w", err)
	}
	// A publish of some clients publishes them, not the period: it never claims it (and the
	// starter starts one only by hand).
	if in.Trigger != billing.Manual && len(in.Clients) == 0 {
		holder, err := a.Store.ClaimPeriod(ctx, in.TenantID, in.Kind, in.Period, in.CycleID)
		if err != nil {
			return res, fmt.Errorf("claim period %s: %w", in.Period, err)
		}
		if holder != in.CycleID {
			res.AlreadyPublishedBy = holder
		}
	}
	if in.Kind == billing.LicenceSync && res.AlreadyPublishedBy == "" {
		// A newer refresh replaces what older licence cycles still wait on: their numbers are
		// stale. Identical approved changes carry over (see RefreshPage).
		old, err := a.Store.SupersedeOpenCycles(ctx, in.TenantID, in.Kind, in.CycleID)
		if err != nil {
			return res, fmt.Errorf("supersede older licence cycles: %w", err)
		}
		for _, o := range old {
			res.Superseded = append(res.Superseded, billing.CycleRef{WorkflowID: o.WorkflowID, RunID: o.ID, CycleID: o.ID})
		}
	}
	return res, nil
}

// MarkCycle records a running cycle's status and phase (a local activity).
func (a *Activities) MarkCycle(ctx context.Context, in billing.MarkInput) error {
	return cycleError("record phase", a.Store.SetCycleStatus(ctx, in.CycleID, in.Status, in.Phase))
}

// Decide applies an approve or reject decision to the cycle's pending items and returns the
// cycle's counts after it (runs recorded before DecideItems).
func (a *Activities) Decide(ctx context.Context, in billing.DecideInput) (billing.Counts, error) {
	res, err := a.DecideItems(ctx, in)
	return res.Counts, err
}

// DecideItems applies an approve or reject decision to the cycle's pending items and says
// what it did: how many items it moved, how many of those it named were already decided,
// and the cycle's counts after it. A decision naming no item only reads the counts. The
// decision and its site-history row are written together.
func (a *Activities) DecideItems(ctx context.Context, in billing.DecideInput) (billing.DecideResult, error) {
	var res billing.DecideResult
	if _, err := a.cycle(ctx, in.CycleID); err != nil {
		return res, err
	}
	n, err := a.Store.DecideItemsWithNote(ctx, in.CycleID, in.Decision, func(c store.Cycle, n int) store.Note {
		verb, action := "approved", "pending.approved"
		if !in.Decision.Approve {
			verb, action = "removed", "pending.rejected"
		}
		return store.Note{TenantID: c.TenantID, Severity: store.SeverityInfo, Actor: in.Decision.Actor, Action: action,
			Message: fmt.Sprintf("%d pending update(s) of %s %s %s by %s", n, kindWords(c.Kind), c.Period, verb, in.Decision.Actor),
			Details: map[string]any{"cycle_id": in.CycleID, "count": n, "ids": in.Decision.IDs, "all": in.Decision.All}}
	})
	if err != nil {
		return res, fmt.Errorf("decide: %w", err)
	}
	res.Changed = n
	if !in.Decision.All {
		res.AlreadyDecided = max(len(in.Decision.IDs)-n, 0)
	}
	res.Counts, err = a.Store.CycleCounts(ctx, in.CycleID)
	return res, err
}

// ApplyDeadline approves the pending items the rule allows, removes the rest, and returns
// the cycle's counts after it. The decisions and their site-history row are written
// together, the row once per cycle.
func (a *Activities) ApplyDeadline(ctx context.Context, in billing.DeadlineInput) (billing.Counts, error) {
	if _, err := a.cycle(ctx, in.CycleID); err != nil {
		return billing.Counts{}, err
	}
	_, _, err := a.Store.ApplyDeadlineWithNote(ctx, in.CycleID, in.Approval, func(c store.Cycle, approved, removed int) store.Note {
		return store.Note{TenantID: c.TenantID, Severity: store.SeverityWarning, Actor: billing.ActorDeadline, Action: "approval.deadline",
			Message: fmt.Sprintf("approval deadline of %s %s passed: %d update(s) approved by the rule, %d skipped", kindWords(c.Kind), c.Period, approved, removed),
			Details: map[string]any{"cycle_id": c.ID, "approved": approved, "skipped": removed}}
	})
	if err != nil {
		return billing.Counts{}, fmt.Errorf("apply deadline: %w", err)
	}
	return a.Store.CycleCounts(ctx, in.CycleID)
}

// OpenCycles lists a tenant's open cycles of a kind, for the sync schedule to signal.
func (a *Activities) OpenCycles(ctx context.Context, tenantID string, kind billing.Kind) ([]billing.CycleRef, error) {
	cycles, err := a.Store.OpenCycles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []billing.CycleRef
	for _, c := range cycles {
		if c.Kind == kind {
			// The signal goes to the workflow's current run: a reset or a continue-as-new
			// has left the cycle's first run behind.
			out = append(out, billing.CycleRef{WorkflowID: c.WorkflowID, CycleID: c.ID})
		}
	}
	return out, nil
}

// FinishCycle records how the cycle ended and writes it to the site history.
func (a *Activities) FinishCycle(ctx context.Context, in billing.FinishInput) (billing.FinishResult, error) {
	status := in.Status
	if status == "" {
		counts, err := a.Store.CycleCounts(ctx, in.CycleID)
		if err != nil {
			return billing.FinishResult{}, err
		}
		status = counts.Outcome()
	}
	// The outcome and its site-history row are written together, the row when the cycle
	// finishes (a retry of a finished cycle writes none).
	c, err := a.Store.FinishCycleWithNote(ctx, in.CycleID, status, in.Error, func(c store.Cycle) store.Note {
		return store.Note{TenantID: c.TenantID, Severity: severityOf(c.Status), Actor: store.ActorAutomatic, Action: string(c.Kind) + "." + string(c.Status),
			Message: endWords(c, in.Error), Details: map[string]any{"cycle_id": c.ID, "counts": c.Counts}}
	})
	if err != nil {
		return billing.FinishResult{}, cycleError("finish cycle", err)
	}
	telemetry.CycleFinished(string(c.Kind), string(c.Status))
	return billing.FinishResult{Status: c.Status, Counts: c.Counts}, nil
}

func severityOf(s billing.Status) string {
	switch s {
	case billing.Partial, billing.Cancelled:
		return store.SeverityWarning
	case billing.Failed:
		return store.SeverityError
	}
	return store.SeverityInfo
}

// endWords is the site-history sentence of an ended cycle.
func endWords(c store.Cycle, why string) string {
	msg := fmt.Sprintf("%s of %s %s: %d applied, %d already up to date, %d removed, %d failed",
		kindWords(c.Kind), c.Period, statusWords(c.Status), c.Counts.Applied, c.Counts.Unchanged, c.Counts.Rejected, c.Counts.Failed)
	if c.Counts.Abandoned > 0 {
		msg += fmt.Sprintf(", %d not pushed", c.Counts.Abandoned)
	}
	if n := c.Counts.Unmapped + c.Counts.Excluded; n > 0 {
		msg += fmt.Sprintf(", %d not published (%d unmapped, %d excluded)", n, c.Counts.Unmapped, c.Counts.Excluded)
	}
	if why != "" {
		msg += " — " + why
	}
	if c.Trigger != billing.Manual && c.Status != billing.AlreadyPublished && !store.ClaimKeptWhen(c.Status) {
		msg += "; " + notPublishedWords(c)
	}
	return msg
}

// cycle reads a cycle's record; a missing one fails the activity without retrying.
func (a *Activities) cycle(ctx context.Context, cycleID string) (store.Cycle, error) {
	c, err := a.Store.CycleByID(ctx, cycleID)
	return c, cycleError("load cycle "+cycleID, err)
}

// cycleError makes a missing cycle record a failure that is not retried: an activity that
// addresses a cycle PostgreSQL does not hold would otherwise retry forever.
func cycleError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(what+": the cycle's record does not exist", workflows.ErrCycleNotFound, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// notPublishedWords says what people should do about the period of an automatic cycle that
// ended without publishing it. Its claim is given back, but a schedule does not run that
// period again (a monthly one fires once a month), and once a later period is published an
// older one is no longer written over it (ConnectWise refuses it; see PushPage).
func notPublishedWords(c store.Cycle) string {
	if c.Kind == billing.LicenceSync {
		return fmt.Sprintf(`%s is not synced, and no automatic run of it comes again: refresh it now (POST /refresh {"period": %q}), approve and sync it, before a later period is synced — an older period is not written over a newer one`,
			c.Period, c.Period)
	}
	return fmt.Sprintf(`%s is not published, and no automatic run of it comes again: publish it now (Publish now, POST /publish {"period": %q}, or Trigger on the schedule while it is still %s) before a later period is published — an older period is not written over a newer one`,
		c.Period, c.Period, c.Period)
}

func (a *Activities) tenant(ctx context.Context, id string) (tenant.Tenant, error) {
	t, err := a.Store.GetTenant(ctx, id)
	if err != nil {
		return t, outsideError("load tenant "+id, err)
	}
	return t, nil
}

func kindWords(k billing.Kind) string {
	if k == billing.LicenceSync {
		return "licence sync"
	}
	return "usage publish"
}

func statusWords(s billing.Status) string {
	switch s {
	case billing.Completed:
		return "completed"
	case billing.Partial:
		return "partly completed"
	case billing.Failed:
		return "failed"
	case billing.AlreadyPublished:
		return "skipped (already published)"
	case billing.Cancelled:
		return "cancelled"
	}
	return string(s)
}
