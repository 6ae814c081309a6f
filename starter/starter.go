// Package starter starts and steers workflows for the API and the command line: it derives a
// cycle's period and workflow ID, starts or signals runs, and keeps the namespace's search
// attributes (and, later, each tenant's schedules) in place.
package starter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// Starter starts and signals workflows.
type Starter struct {
	Temporal client.Client
	Store    *store.Store
	// Now is the clock used to pick the current period (time.Now when nil).
	Now func() time.Time
	// PageSize overrides the cycle's page size (tests); 0 keeps the workflow's default.
	PageSize int
	// TaskQueue defaults to workflows.TaskQueue; tests give each test its own.
	TaskQueue string
	// HeartbeatTimeout overrides the cycle's (tests of killed workers shorten it).
	HeartbeatTimeout time.Duration
	// SnapshotMaxEvents makes new metric snapshot loops continue as new at this history
	// length (tests); 0 leaves it to the server's suggestion.
	SnapshotMaxEvents int
}

func (s *Starter) taskQueue() string {
	if s.TaskQueue != "" {
		return s.TaskQueue
	}
	return workflows.TaskQueue
}

func (s *Starter) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StartRequest asks for a cycle.
type StartRequest struct {
	TenantID  string
	Kind      billing.Kind
	Trigger   billing.Trigger
	StartedBy string
	// Period defaults to the current month in the tenant's time zone (the current day for a
	// licence sync whose refresh schedule is daily).
	Period billing.Period
	// SyncWhenDecided makes a licence cycle push as soon as nothing is pending.
	SyncWhenDecided bool
}

// Started identifies the run that was started.
type Started struct {
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	Period     billing.Period `json:"period"`
}

// AlreadyRunningError means a cycle for the same tenant, kind and period is running.
type AlreadyRunningError struct{ WorkflowID, RunID string }

func (e *AlreadyRunningError) Error() string {
	return "a cycle is already running as workflow " + e.WorkflowID
}

// StartCycle starts a billing cycle now.
func (s *Starter) StartCycle(ctx context.Context, req StartRequest) (Started, error) {
	t, err := s.Store.GetTenant(ctx, req.TenantID)
	if err != nil {
		return Started{}, err
	}
	period := req.Period
	if period == "" {
		period = billing.MonthOf(s.now(), t.Location())
		if req.Kind == billing.LicenceSync && t.Settings.Licences.Refresh.Cadence == tenant.Daily {
			period = billing.DayOf(s.now(), t.Location())
		}
	}
	id := workflows.CycleID(req.Kind, req.TenantID, period)
	opts := client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: s.taskQueue(),
		// A finished cycle of the period may be followed by a manual re-publish; a running one
		// may not be doubled.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.TenantKey.ValueSet(req.TenantID),
			workflows.PeriodKey.ValueSet(string(period)),
			workflows.KindKey.ValueSet(string(req.Kind)),
			workflows.PhaseKey.ValueSet(string(billing.PhaseStarting)),
		),
		StaticSummary: fmt.Sprintf("%s %s for %s (%s)", req.Kind, period, t.Name, startedBy(req)),
	}
	in := workflows.CycleInput{TenantID: req.TenantID, Kind: req.Kind, Period: period, Trigger: req.Trigger, StartedBy: req.StartedBy,
		PageSize: s.PageSize, SyncWhenDecided: req.SyncWhenDecided, HeartbeatTimeout: s.HeartbeatTimeout}
	run, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.BillingCycle, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return Started{}, &AlreadyRunningError{WorkflowID: id, RunID: started.RunId}
		}
		return Started{}, fmt.Errorf("start %s: %w", id, err)
	}
	return Started{WorkflowID: run.GetID(), RunID: run.GetRunID(), Period: period}, nil
}

func startedBy(req StartRequest) string {
	if req.Trigger == billing.Manual && req.StartedBy != "" {
		return "started by " + req.StartedBy
	}
	return string(req.Trigger)
}

// SyncResult says what "sync now" did: the licence cycles it signalled, or the cycle it
// started when none was open.
type SyncResult struct {
	Signalled []string
	Started   Started
}

// SyncNow pushes the approved updates of the tenant's open licence cycles now. With no open
// licence cycle it starts one that refreshes and pushes as soon as its updates are decided.
func (s *Starter) SyncNow(ctx context.Context, tenantID, actor string) (SyncResult, error) {
	open, err := s.Store.OpenCycles(ctx, tenantID)
	if err != nil {
		return SyncResult{}, err
	}
	var res SyncResult
	for _, c := range open {
		if c.Kind != billing.LicenceSync {
			continue
		}
		if err := s.Temporal.SignalWorkflow(ctx, c.WorkflowID, c.ID, workflows.SignalSync, nil); err != nil {
			if gone(err) {
				continue
			}
			return res, fmt.Errorf("signal %s: %w", c.WorkflowID, err)
		}
		res.Signalled = append(res.Signalled, c.ID)
	}
	if len(res.Signalled) > 0 {
		return res, nil
	}
	res.Started, err = s.StartCycle(ctx, StartRequest{TenantID: tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual,
		StartedBy: actor, SyncWhenDecided: true})
	return res, err
}

// gone reports a cycle whose workflow no longer runs (terminated by an operator, say) while
// its record is still open: it cannot take decisions, and the other cycles still can.
func gone(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}

// ErrNothingPending means the tenant has no pending update to decide.
var ErrNothingPending = errors.New("nothing is pending approval")

// UnknownItemsError lists requested IDs that are not pending updates of the tenant.
type UnknownItemsError struct{ IDs []int64 }

func (e *UnknownItemsError) Error() string {
	return fmt.Sprintf("not pending updates of this tenant: %v", e.IDs)
}

// Decided says what a decision was sent to.
type Decided struct {
	Count  int      `json:"count"`
	Cycles []string `json:"cycles"`
}

// Decide sends an approve or reject decision to every open cycle holding the chosen pending
// items. It checks the items first, so a request naming another tenant's or an already
// decided item changes nothing.
func (s *Starter) Decide(ctx context.Context, tenantID string, d billing.Decision) (Decided, error) {
	pending, err := s.Store.PendingItems(ctx, tenantID, false)
	if err != nil {
		return Decided{}, err
	}
	if len(pending) == 0 {
		return Decided{}, ErrNothingPending
	}
	byCycle := map[string][]int64{}
	var order []string
	known := map[int64]string{}
	for _, it := range pending {
		known[it.ID] = it.CycleID
	}
	if d.All {
		for _, it := range pending {
			if _, ok := byCycle[it.CycleID]; !ok {
				order = append(order, it.CycleID)
			}
			byCycle[it.CycleID] = append(byCycle[it.CycleID], it.ID)
		}
	} else {
		var unknown []int64
		for _, id := range d.IDs {
			cyc, ok := known[id]
			if !ok {
				unknown = append(unknown, id)
				continue
			}
			if _, ok := byCycle[cyc]; !ok {
				order = append(order, cyc)
			}
			if !slices.Contains(byCycle[cyc], id) {
				byCycle[cyc] = append(byCycle[cyc], id)
			}
		}
		if len(unknown) > 0 {
			return Decided{}, &UnknownItemsError{IDs: unknown}
		}
	}
	out := Decided{}
	for _, cycleID := range order {
		c, err := s.Store.GetCycle(ctx, tenantID, cycleID)
		if err != nil {
			return out, err
		}
		sig := billing.Decision{IDs: byCycle[cycleID], All: d.All, Approve: d.Approve, Actor: d.Actor}
		if d.All {
			// "All" means the items pending now; items a later refresh adds wait for their own decision.
			sig.All = false
		}
		name := workflows.SignalReject
		if d.Approve {
			name = workflows.SignalApprove
		}
		// The run ID pins the signal to this cycle even if the period is re-run later.
		if err := s.Temporal.SignalWorkflow(ctx, c.WorkflowID, c.ID, name, sig); err != nil {
			if gone(err) {
				continue
			}
			return out, fmt.Errorf("signal %s: %w", c.WorkflowID, err)
		}
		out.Count += len(byCycle[cycleID])
		out.Cycles = append(out.Cycles, c.ID)
	}
	return out, nil
}

// EnsureSearchAttributes registers meterbridge's custom search attributes on the namespace
// when they are missing, so a fresh Temporal cluster needs no manual setup.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range workflows.SearchAttributes() {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
