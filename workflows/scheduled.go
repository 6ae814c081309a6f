package workflows

import (
	"errors"
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
)

// ScheduledResult says what a scheduled run did.
type ScheduledResult struct {
	Outcome    string
	Period     billing.Period
	WorkflowID string
	// Signalled counts the licence cycles told to sync.
	Signalled int
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
	if fallbackSlot(in.Schedule, local) && !in.Schedule.RunAt(local).Equal(nominal) {
		// The hour-later slot only stands in on the day the clocks skip the run hour.
		return ScheduledResult{Outcome: OutcomeNotRunTime}, nil
	}
	if in.Action == ActionSync {
		return syncLicenceCycles(ctx, in)
	}
	kind, period := billing.UsagePublish, billing.MonthOf(nominal, loc)
	if in.Action == ActionRefresh {
		kind = billing.LicenceSync
		if in.Schedule.Cadence == tenant.Daily {
			period = billing.DayOf(nominal, loc)
		}
	}
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
