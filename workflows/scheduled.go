package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// Scheduled actions.
const (
	// ActionPublish starts the month's usage publish.
	ActionPublish = "publish"
	// ActionRefresh starts a licence cycle (refresh units, then wait for approval and sync).
	ActionRefresh = "refresh"
	// ActionSync tells open licence cycles to push their approved updates.
	ActionSync = "sync"
)

// ScheduledInput is the action of a tenant's Temporal Schedule. The schedule fires at the
// tenant's local hour on the days its calendar allows; this workflow decides whether the
// time really is a run (for "last day of month" the calendar fires on days 28–31), derives
// the period from the scheduled time, and starts or signals the cycle.
type ScheduledInput struct {
	TenantID string
	Action   string
	Schedule tenant.Schedule
	TimeZone string
	PageSize int
}

// Outcomes of a scheduled run.
const (
	OutcomeStarted        = "started"
	OutcomeNotRunDay      = "not_a_run_day"
	OutcomeNotRunTime     = "not_a_run_time"
	OutcomeAlreadyRunning = "already_running"
	OutcomeSignalled      = "signalled"
	// OutcomeSkipped: the run did nothing; Skip says why.
	OutcomeSkipped = "skipped"
)

// ScheduledResult says what a scheduled run did.
type ScheduledResult struct {
	Outcome    string
	Period     billing.Period
	WorkflowID string
	// Signalled counts the licence cycles told to sync.
	Signalled int
	// Skip (a Skip* code) and Reason say why a skipped run did nothing.
	Skip   string `json:",omitempty"`
	Reason string `json:",omitempty"`
}

// Why a scheduled run is skipped.
const (
	// SkipDisabled: the schedule was turned off after the server planned the run.
	SkipDisabled = "schedule_disabled"
	// SkipChanged: the schedule (or the tenant's zone) changed since, and the scheduled
	// time is not one of its runs now.
	SkipChanged = "schedule_changed"
	// SkipRepeatedHour: the second time the clocks showed the run's wall time, when summer
	// time ended; the first time was the run.
	SkipRepeatedHour = "repeated_hour"
	// SkipNotRunDay and SkipNotRunTime: a calendar slot that is no run (schedules synced
	// before calendars were exact fired on days 28–31 for "last" and an hour late every day
	// for an hour DST can skip).
	SkipNotRunDay  = "not_a_run_day"
	SkipNotRunTime = "not_a_run_time"
	// SkipTenantGone: the tenant no longer exists.
	SkipTenantGone = "tenant_gone"
)

// RunCheckInput asks whether a scheduled time is a run under the tenant's settings now.
type RunCheckInput struct {
	TenantID string
	// WorkflowID is the scheduled run's (unique per scheduled time).
	WorkflowID string
	Action     string
	Nominal    time.Time
	// Schedule and TimeZone are what the Temporal Schedule was built from.
	Schedule tenant.Schedule
	TimeZone string
}

// RunCheck is CheckScheduledRun's verdict, recorded in the run's history so the rule may
// change without breaking runs in flight.
type RunCheck struct {
	// Skip is empty when the run goes ahead; else a Skip* code, with Reason in words.
	Skip   string `json:",omitempty"`
	Reason string `json:",omitempty"`
	// Period is what the run publishes (or would have).
	Period billing.Period `json:",omitempty"`
	// Schedule and TimeZone are the tenant's settings now; the run uses them.
	Schedule tenant.Schedule
	TimeZone string
	// CatchUp says why a run the settings no longer hold goes ahead anyway: the schedule
	// changed since it was planned, and the new schedule's run of the same period has
	// passed (or the period has none) while the period is not published — skipping would
	// lose it. The activity decides it (it knows the time and the claims); Skip is then
	// empty and the run publishes the period.
	CatchUp string `json:",omitempty"`
}

// ScheduleOf returns the schedule of an action in a tenant's settings.
func ScheduleOf(s tenant.Settings, action string) tenant.Schedule {
	switch action {
	case ActionRefresh:
		return s.Licences.Refresh
	case ActionSync:
		return s.Licences.Sync
	}
	return s.Publish.Schedule
}

// CheckScheduledRun decides whether a scheduled time is a run of the tenant's schedule as it
// is now (t nil: the tenant is gone). It is pure; the CheckScheduledRun activity loads the
// tenant, calls it and records skips in the site history.
//
//   - A schedule turned off since the run was planned: skipped.
//   - A schedule (or zone) changed since: the run goes ahead only if the scheduled time is
//     exactly one of the new schedule's run times.
//   - The second time a repeated wall hour shows (summer time ending): skipped, the first
//     was the run.
//   - Otherwise the day must be a run day, and an hour-later slot runs only on the day the
//     clocks skipped the run hour. The hour itself is not checked, so "Trigger" in the Web UI
//     runs the action on a run day at any time.
func CheckScheduledRun(in RunCheckInput, t *tenant.Tenant) RunCheck {
	if t == nil {
		return RunCheck{Skip: SkipTenantGone, Reason: "tenant " + in.TenantID + " no longer exists", Schedule: in.Schedule, TimeZone: in.TimeZone}
	}
	cur := ScheduleOf(t.Settings, in.Action)
	out := RunCheck{Schedule: cur, TimeZone: t.TimeZone}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	local := in.Nominal.In(loc)
	when := local.Format("Mon 2 Jan 2006 15:04 MST")
	if in.Action != ActionSync {
		_, out.Period = RunPeriod(in.Action, cur, in.Nominal, loc)
	}
	switch {
	case !cur.Enabled:
		out.Skip = SkipDisabled
		out.Reason = fmt.Sprintf("the %s schedule was turned off after its run of %s was planned", actionWords(in.Action), when)
	case (cur != in.Schedule || t.TimeZone != in.TimeZone) && !cur.IsRunTime(in.Nominal, loc):
		out.Skip = SkipChanged
		out.Reason = fmt.Sprintf("the %s schedule changed to %s (%s) after its run of %s was planned, and that time is not one of its runs; the next is %s",
			actionWords(in.Action), cur, t.TimeZone, when, cur.Next(in.Nominal, loc).In(loc).Format("Mon 2 Jan 2006 15:04 MST"))
	case cur.IsRepeatedRun(in.Nominal, loc):
		out.Skip = SkipRepeatedHour
		out.Reason = fmt.Sprintf("%s came twice as the clocks went back; the %s ran the first time, at %s",
			local.Format("15:04 on 2 Jan 2006"), actionWords(in.Action), cur.RunAt(local).In(loc).Format("15:04 MST"))
	case !cur.Matches(local):
		out.Skip = SkipNotRunDay
		out.Reason = fmt.Sprintf("%s is not a run day of the %s schedule (%s)", local.Format("2 Jan 2006"), actionWords(in.Action), cur)
	case fallbackSlot(cur, local) && !cur.RunAt(local).Equal(in.Nominal):
		out.Skip = SkipNotRunTime
		out.Reason = fmt.Sprintf("%s is not a run time of the %s schedule (%s)", when, actionWords(in.Action), cur)
	}
	return out
}

func actionWords(action string) string {
	switch action {
	case ActionRefresh:
		return "licence refresh"
	case ActionSync:
		return "licence sync"
	}
	return "usage publish"
}

// ScheduledTimeKey is the search attribute the server sets on scheduled runs: the nominal
// time the run was meant for, which is what labels the period (not the wall clock, so late
// runs, catch-ups and backfills are labelled right).
var ScheduledTimeKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// ScheduledCycle is the workflow a tenant's schedules start.
func ScheduledCycle(ctx workflow.Context, in ScheduledInput) (ScheduledResult, error) {
	nominal, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(ScheduledTimeKey)
	if !ok {
		nominal = workflow.Now(ctx)
	}
	if workflow.GetVersion(ctx, "scheduled-run-checks-settings", workflow.DefaultVersion, 1) == 1 {
		return checkedRun(ctx, in, nominal)
	}
	// Runs recorded before the settings check judged the time from the schedule they were
	// started with.
	loc, err := zone(in.TimeZone)
	if err != nil {
		return ScheduledResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrNotConfigured, err)
	}
	local := nominal.In(loc)
	log := workflow.GetLogger(ctx)
	if !in.Schedule.Matches(local) {
		log.Info("not a run day", "tenant", in.TenantID, "local", local.Format(time.RFC3339))
		return ScheduledResult{Outcome: OutcomeNotRunDay}, nil
	}
	// The hour-later slot only stands in on the day the clocks skip the run hour (as
	// time.Date placed the skipped hour then, which is what these runs decided by).
	legacyRunAt := time.Date(local.Year(), local.Month(), local.Day(), in.Schedule.Hour, 0, 0, 0, loc)
	if fallbackSlot(in.Schedule, local) && !legacyRunAt.Equal(nominal) {
		return ScheduledResult{Outcome: OutcomeNotRunTime}, nil
	}
	return act(ctx, in, nominal, loc)
}

// checkedRun reads the tenant's settings as they are when the run starts (the schedule may
// have been changed or turned off since the server planned this run, for example while
// Temporal could not be told) and goes ahead only if the scheduled time is a run under
// them; otherwise it ends as skipped, with the reason in its result and the site history.
func checkedRun(ctx workflow.Context, in ScheduledInput, nominal time.Time) (ScheduledResult, error) {
	check := RunCheckInput{TenantID: in.TenantID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Action: in.Action,
		Nominal: nominal, Schedule: in.Schedule, TimeZone: in.TimeZone}
	var chk RunCheck
	if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityCheckScheduledRun, check).Get(ctx, &chk); err != nil {
		return ScheduledResult{}, err
	}
	if chk.Skip != "" {
		workflow.GetLogger(ctx).Info("scheduled run skipped", "tenant", in.TenantID, "action", in.Action, "skip", chk.Skip, "reason", chk.Reason)
		return ScheduledResult{Outcome: OutcomeSkipped, Skip: chk.Skip, Reason: chk.Reason, Period: chk.Period}, nil
	}
	loc, err := zone(chk.TimeZone)
	if err != nil {
		return ScheduledResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrNotConfigured, err)
	}
	in.Schedule, in.TimeZone = chk.Schedule, chk.TimeZone
	return act(ctx, in, nominal, loc)
}

// act does what a run time of the action asks: tell open licence cycles to sync, or start
// the cycle of the period the scheduled time belongs to.
func act(ctx workflow.Context, in ScheduledInput, nominal time.Time, loc *time.Location) (ScheduledResult, error) {
	if in.Action == ActionSync {
		return syncLicenceCycles(ctx, in)
	}
	kind, period := RunPeriod(in.Action, in.Schedule, nominal, loc)
	id := CycleID(kind, in.TenantID, period)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id,
		// The cycle outlives this short run: it may wait days for approval.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			TenantKey.ValueSet(in.TenantID), PeriodKey.ValueSet(string(period)),
			KindKey.ValueSet(string(kind)), PhaseKey.ValueSet(string(billing.PhaseStarting)),
		),
		StaticSummary: string(kind) + " " + string(period) + " (scheduled)",
	})
	child := workflow.ExecuteChildWorkflow(cctx, BillingCycle, CycleInput{
		TenantID: in.TenantID, Kind: kind, Period: period, Trigger: billing.Automatic, PageSize: in.PageSize,
	})
	var exec workflow.Execution
	if err := child.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			// A cycle of this period is still open (waiting for approval, say): it is the
			// period's cycle; another would publish it twice.
			return ScheduledResult{Outcome: OutcomeAlreadyRunning, Period: period, WorkflowID: id}, nil
		}
		return ScheduledResult{}, err
	}
	return ScheduledResult{Outcome: OutcomeStarted, Period: period, WorkflowID: id}, nil
}

// RunPeriod is the kind and period of the cycle a scheduled run of an action starts: the
// month of the scheduled time in the tenant's zone, or its day for a daily licence refresh.
func RunPeriod(action string, s tenant.Schedule, nominal time.Time, loc *time.Location) (billing.Kind, billing.Period) {
	if action == ActionRefresh {
		if s.Cadence == tenant.Daily {
			return billing.LicenceSync, billing.DayOf(nominal, loc)
		}
		return billing.LicenceSync, billing.MonthOf(nominal, loc)
	}
	return billing.UsagePublish, billing.MonthOf(nominal, loc)
}

func syncLicenceCycles(ctx workflow.Context, in ScheduledInput) (ScheduledResult, error) {
	var open []billing.CycleRef
	actx := storeOptions(ctx)
	if err := workflow.ExecuteActivity(actx, ActivityOpenCycles, in.TenantID, billing.LicenceSync).Get(ctx, &open); err != nil {
		return ScheduledResult{}, err
	}
	res := ScheduledResult{Outcome: OutcomeSignalled}
	for _, ref := range open {
		if err := workflow.SignalExternalWorkflow(ctx, ref.WorkflowID, ref.RunID, SignalSync, nil).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Info("licence cycle not signalled", "workflow", ref.WorkflowID, "error", err)
			continue
		}
		res.Signalled++
	}
	return res, nil
}

// fallbackSlot reports whether local is the calendar's hour-later slot of a schedule whose
// hour a DST change can skip (see starter.Spec).
func fallbackSlot(s tenant.Schedule, local time.Time) bool {
	return s.Hour < 23 && local.Hour() == s.Hour+1 && local.Minute() == 0 && local.Second() == 0
}

// zone loads an IANA zone. Go reads the host's zone files first (ZONEINFO, then
// /usr/share/zoneinfo) and falls back to the tzdata embedded in the binary (package tenant
// imports time/tzdata); workers must therefore run on images with the same zone data, or
// set ZONEINFO to one file, so they derive the same periods.
func zone(name string) (*time.Location, error) {
	if err := tenant.ValidateTimeZone("time_zone", name); err != nil {
		return nil, err
	}
	return time.LoadLocation(name)
}
