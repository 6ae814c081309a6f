// Package starter starts and steers workflows for the API, the console and the command line:
// it derives a cycle's period and workflow ID, starts runs, sends cycles the updates people
// ask for (approve, reject, sync now, cancel) and reports what the cycles did, and keeps the
// namespace's search attributes and the schedules in place.
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

// Starter starts workflows and sends them what people ask for.
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
	// UpdateWait bounds how long a request waits for a cycle or a metric's snapshot loop to
	// take and answer it (DefaultUpdateWait when 0); it must stay below the API's request
	// timeout.
	UpdateWait time.Duration
	// ReminderEvery, DeadlineAfter and CycleMaxEvents are handed to new cycles (tests): see
	// workflows.CycleInput.
	ReminderEvery, DeadlineAfter time.Duration
	CycleMaxEvents               int
	// FirstSnapshotRetryMax is handed to new metric snapshot loops (tests): see
	// workflows.MetricSnapshotInput.
	FirstSnapshotRetryMax time.Duration
	// Clients checks that one backup client can be published (StartRequest.ClientID);
	// without it such a publish is refused.
	Clients ClientChecker
}

// ClientChecker says whether a publish of one backup client of a period can run (the
// backup service reports the client, the tenant did not exclude it); connect.Connector is
// one.
type ClientChecker interface {
	CheckPublishable(ctx context.Context, tenantID string, period billing.Period, clientID string) error
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
	// ClientID, for a manual usage publish, publishes only this backup client (a client
	// added mid-month), under its own workflow ID (workflows.ClientPublishID): it leaves
	// the other clients, claims nothing, and never stands for the month's publish.
	ClientID string
}

// Started identifies the run that was started.
type Started struct {
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	Period     billing.Period `json:"period"`
	// Clients are the backup clients a publish of some clients covers.
	Clients []string `json:"clients,omitempty"`
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
	period := s.period(t, req)
	if req.ClientID != "" {
		if err := s.checkClientPublish(ctx, req, period); err != nil {
			return Started{}, err
		}
	}
	opts := s.startOptions(t, req, period)
	in := s.cycleInput(req, period)
	run, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.BillingCycle, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return Started{}, &AlreadyRunningError{WorkflowID: opts.ID, RunID: started.RunId}
		}
		return Started{}, fmt.Errorf("start %s: %w", opts.ID, err)
	}
	// A new workflow's first run ID is the cycle's ID.
	return Started{WorkflowID: run.GetID(), RunID: run.GetRunID(), Period: period, Clients: in.Clients}, nil
}

// checkClientPublish refuses a publish of one client that is not a manual usage publish of
// a client the backup service reports and the tenant publishes.
func (s *Starter) checkClientPublish(ctx context.Context, req StartRequest, period billing.Period) error {
	switch {
	case req.Kind != billing.UsagePublish:
		return &tenant.FieldError{Field: "client_id", Reason: "only a usage publish can be limited to one backup client"}
	case req.Trigger != billing.Manual:
		// The month's automatic publish is of every client; a publish of one never claims it.
		return &tenant.FieldError{Field: "client_id", Reason: "only a publish started by a person can be limited to one client"}
	case s.Clients == nil:
		return errors.New("publishing one client needs the backup source: this starter has no client checker")
	}
	if err := store.CheckClientID(req.ClientID); err != nil {
		return &tenant.FieldError{Field: "client_id", Reason: "a backup client ID " + err.Error()}
	}
	return s.Clients.CheckPublishable(ctx, req.TenantID, period, req.ClientID)
}

// cycleWorkflowID is the workflow ID of a requested cycle: the period's, or for a publish
// of one client its own (so it neither blocks nor is blocked by the month's publish).
func cycleWorkflowID(req StartRequest, period billing.Period) string {
	if req.ClientID != "" {
		return workflows.ClientPublishID(req.TenantID, period, req.ClientID)
	}
	return workflows.CycleID(req.Kind, req.TenantID, period)
}

// period is the request's period, by default the current one in the tenant's zone (the
// current day for a licence sync whose refresh schedule is daily).
func (s *Starter) period(t tenant.Tenant, req StartRequest) billing.Period {
	if req.Period != "" {
		return req.Period
	}
	if req.Kind == billing.LicenceSync && t.Settings.Licences.Refresh.Cadence == tenant.Daily {
		return billing.DayOf(s.now(), t.Location())
	}
	return billing.MonthOf(s.now(), t.Location())
}

func (s *Starter) startOptions(t tenant.Tenant, req StartRequest, period billing.Period) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        cycleWorkflowID(req, period),
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
		StaticSummary: fmt.Sprintf("%s %s%s for %s (%s)", req.Kind, period, clientWords(req), t.Name, startedBy(req)),
	}
}

func (s *Starter) cycleInput(req StartRequest, period billing.Period) workflows.CycleInput {
	in := workflows.CycleInput{TenantID: req.TenantID, Kind: req.Kind, Period: period, Trigger: req.Trigger, StartedBy: req.StartedBy,
		PageSize: s.PageSize, SyncWhenDecided: req.SyncWhenDecided, HeartbeatTimeout: s.HeartbeatTimeout,
		ReminderEvery: s.ReminderEvery, DeadlineAfter: s.DeadlineAfter, MaxEventsBeforeContinueAsNew: s.CycleMaxEvents}
	if req.ClientID != "" {
		in.Clients = []string{req.ClientID}
	}
	return in
}

func clientWords(req StartRequest) string {
	if req.ClientID == "" {
		return ""
	}
	return " of client " + req.ClientID
}

func startedBy(req StartRequest) string {
	if req.Trigger == billing.Manual && req.StartedBy != "" {
		return "started by " + req.StartedBy
	}
	return string(req.Trigger)
}

// Synced says what "sync now" did: the licence cycle of the current period it started or
// joined, and what that cycle does now.
type Synced struct {
	CycleID    string         `json:"cycle_id"`
	WorkflowID string         `json:"workflow_id"`
	Period     billing.Period `json:"period"`
	// Started is true when the request started the cycle, false when it joined the open one;
	// absent when the cycle took the request but had not answered in time (it was still
	// refreshing) or took it as a signal.
	Started *bool `json:"started,omitempty"`
	// Outcome is done, accepted or signalled (see the Outcome constants).
	Outcome string `json:"outcome"`
	// Pushing counts the approved updates the cycle pushes now; Pending those still waiting
	// for a decision.
	Pushing int `json:"pushing"`
	Pending int `json:"pending"`
	// PushesWhenDecided: the cycle pushes the rest by itself once nothing is pending.
	PushesWhenDecided bool `json:"pushes_when_decided"`
}

// SyncNow pushes the approved licence updates now and answers what the licence cycle does:
// how many approved updates it pushes and how many still wait. It reaches the open licence
// cycle (the newest: a newer refresh supersedes older ones) by its workflow ID and first run
// ID. With none open — or the one found has ended meanwhile — it starts or joins the cycle
// of the current period in one step (update-with-start), which refreshes first and then
// pushes as soon as its updates are decided.
func (s *Starter) SyncNow(ctx context.Context, tenantID, actor string) (Synced, error) {
	t, err := s.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return Synced{}, err
	}
	open, err := s.Store.OpenCycles(ctx, tenantID)
	if err != nil {
		return Synced{}, err
	}
	for i := len(open) - 1; i >= 0; i-- {
		c := open[i]
		if c.Kind != billing.LicenceSync {
			continue
		}
		out, err := s.syncCycle(ctx, c, actor)
		var gone *CycleNotRunningError
		if errors.As(err, &gone) {
			break // ended since it was listed (or its workflow is gone): start or join below
		}
		return out, err
	}
	return s.syncWithStart(ctx, t, actor)
}

// syncCycle sends the sync update to one open licence cycle.
func (s *Starter) syncCycle(ctx context.Context, c store.Cycle, actor string) (Synced, error) {
	out := Synced{CycleID: c.ID, WorkflowID: c.WorkflowID, Period: c.Period}
	var ans workflows.SyncAnswer
	accepted, err := s.updateCycle(ctx, c.WorkflowID, c.ID, workflows.UpdateSync, workflows.SyncRequest{Actor: actor}, &ans)
	switch {
	case errors.Is(err, errSignalsOnly):
		if err := s.Temporal.SignalWorkflow(ctx, c.WorkflowID, "", workflows.SignalSync, nil); err != nil {
			return out, fmt.Errorf("signal %s: %w", c.WorkflowID, err)
		}
		out.Outcome = OutcomeSignalled
		return out, nil
	case err != nil:
		return out, err
	case accepted:
		out.Outcome = OutcomeAccepted
		return out, nil
	}
	started := false
	out.Started, out.Outcome = &started, OutcomeDone
	out.Pushing, out.Pending, out.PushesWhenDecided = ans.Pushing, ans.Pending, ans.PushesWhenDecided
	return out, nil
}

// syncWithStart starts the licence cycle of the current period with the sync request, or
// joins it if it runs (update-with-start, conflict policy use-existing): no gap between
// looking and starting in which a second cycle could start.
func (s *Starter) syncWithStart(ctx context.Context, t tenant.Tenant, actor string) (Synced, error) {
	req := StartRequest{TenantID: t.ID, Kind: billing.LicenceSync, Trigger: billing.Manual, StartedBy: actor, SyncWhenDecided: true}
	period := s.period(t, req)
	opts := s.startOptions(t, req, period)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	opts.WorkflowExecutionErrorWhenAlreadyStarted = false
	op := s.Temporal.NewWithStartWorkflowOperation(opts, workflows.BillingCycle, s.cycleInput(req, period))
	out := Synced{WorkflowID: opts.ID, Period: period}

	wait := s.updateWait()
	uctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	h, err := s.Temporal.UpdateWithStartWorkflow(uctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: workflows.UpdateSync, Args: []any{workflows.SyncRequest{Actor: actor}},
			WaitForStage: client.WorkflowUpdateStageAccepted},
	})
	if err == nil {
		var ans workflows.SyncAnswer
		err = h.Get(uctx, &ans)
		switch {
		case err == nil:
			started := !ans.Joined
			out.CycleID, out.Started, out.Outcome = ans.CycleID, &started, OutcomeDone
			out.Pushing, out.Pending, out.PushesWhenDecided = ans.Pushing, ans.Pending, ans.PushesWhenDecided
			return out, nil
		case timedOut(err) && ctx.Err() == nil:
			out.Outcome = OutcomeAccepted
			if run, err := op.Get(ctx); err == nil {
				out.CycleID = run.GetRunID()
			}
			return out, nil
		}
	}
	err = s.updateError(ctx, opts.ID, "", wait, err)
	if errors.Is(err, errSignalsOnly) {
		// The period's cycle started before cycles answered: tell it the old way.
		if err := s.Temporal.SignalWorkflow(ctx, opts.ID, "", workflows.SignalSync, nil); err != nil {
			return out, fmt.Errorf("signal %s: %w", opts.ID, err)
		}
		out.Outcome = OutcomeSignalled
		if d, err := s.Temporal.DescribeWorkflowExecution(ctx, opts.ID, ""); err == nil {
			out.CycleID = d.GetWorkflowExecutionInfo().GetFirstRunId()
		}
		return out, nil
	}
	return out, err
}

// ErrNothingPending means the tenant has no pending update to decide.
var ErrNothingPending = errors.New("nothing is pending approval")

// UnknownItemsError lists requested IDs that are not updates of the tenant.
type UnknownItemsError struct{ IDs []int64 }

func (e *UnknownItemsError) Error() string {
	return fmt.Sprintf("not pending updates of this tenant: %v", e.IDs)
}

// Decided says what a decision did, in total and per cycle.
type Decided struct {
	// Decision is "approved" or "rejected".
	Decision string `json:"decision"`
	// Approved and Rejected count the updates this request decided; AlreadyDecided those it
	// named that someone (or the rule, or the deadline) had decided first.
	Approved       int `json:"approved"`
	Rejected       int `json:"rejected"`
	AlreadyDecided int `json:"already_decided"`
	// Pending counts the updates still waiting in the cycles this request reached.
	Pending int            `json:"pending"`
	Cycles  []CycleDecided `json:"cycles"`
}

// CycleDecided is what a decision did in one cycle.
type CycleDecided struct {
	CycleID    string `json:"cycle_id"`
	WorkflowID string `json:"workflow_id"`
	// Outcome is done, accepted (taken, not yet applied: the counts follow in the cycle) or
	// signalled (a cycle from before answered decisions).
	Outcome        string `json:"outcome"`
	Approved       int    `json:"approved"`
	Rejected       int    `json:"rejected"`
	AlreadyDecided int    `json:"already_decided"`
	Pending        int    `json:"pending"`
}

// Settled reports whether every cycle answered what it did (no accepted or signalled
// outcome whose effect is still to come).
func (d Decided) Settled() bool {
	for _, c := range d.Cycles {
		if c.Outcome != OutcomeDone {
			return false
		}
	}
	return true
}

// Decide approves or removes pending updates: each cycle holding some of them is sent the
// decision as an update, and the answer adds up what the cycles did. The request is checked
// first, so one naming another tenant's item (422) or an update of a cycle that already
// ended (409) changes nothing. Updates already decided are counted as such, whether they
// were decided before the request or by a decision that reached the cycle first.
func (s *Starter) Decide(ctx context.Context, tenantID string, d billing.Decision) (Decided, error) {
	out := Decided{Decision: "rejected", Cycles: []CycleDecided{}}
	if d.Approve {
		out.Decision = "approved"
	}
	type group struct {
		cycleID, workflowID string
		pending             []int64
		already             int
	}
	var groups []*group
	byCycle := map[string]*group{}
	add := func(cycleID, workflowID string) *group {
		g, ok := byCycle[cycleID]
		if !ok {
			g = &group{cycleID: cycleID, workflowID: workflowID}
			byCycle[cycleID] = g
			groups = append(groups, g)
		}
		return g
	}
	if d.All {
		// "All" means the items pending now; items a later refresh adds wait for their own decision.
		pending, err := s.Store.PendingItems(ctx, tenantID, false)
		if err != nil {
			return out, err
		}
		if len(pending) == 0 {
			return out, ErrNothingPending
		}
		for _, it := range pending {
			g, ok := byCycle[it.CycleID]
			if !ok {
				c, err := s.Store.CycleByID(ctx, it.CycleID)
				if err != nil {
					return out, err
				}
				g = add(c.ID, c.WorkflowID)
			}
			g.pending = append(g.pending, it.ID)
		}
	} else {
		refs, err := s.Store.ItemRefs(ctx, tenantID, d.IDs)
		if err != nil {
			return out, err
		}
		var unknown []int64
		var ended []string
		for _, id := range d.IDs {
			r, ok := refs[id]
			switch {
			case !ok:
				unknown = append(unknown, id)
			case !r.CycleOpen:
				if !slices.Contains(ended, r.CycleID) {
					ended = append(ended, r.CycleID)
				}
			case r.State == billing.Pending:
				g := add(r.CycleID, r.WorkflowID)
				g.pending = append(g.pending, id)
			default:
				add(r.CycleID, r.WorkflowID).already++
			}
		}
		if len(unknown) > 0 {
			return out, &UnknownItemsError{IDs: unknown}
		}
		if len(ended) > 0 {
			c, err := s.Store.GetCycle(ctx, tenantID, ended[0])
			if err != nil {
				return out, err
			}
			return out, &PastApprovalError{CycleID: c.ID, WorkflowID: c.WorkflowID, Status: c.Status,
				Reason: fmt.Sprintf("cycle %s has ended (%s); its updates can no longer be decided", c.ID, c.Status)}
		}
	}
	var refused error
	for _, g := range groups {
		cd := CycleDecided{CycleID: g.cycleID, WorkflowID: g.workflowID, Outcome: OutcomeDone, AlreadyDecided: g.already}
		if len(g.pending) > 0 {
			if err := s.decideIn(ctx, g.workflowID, g.cycleID, billing.Decision{IDs: g.pending, Approve: d.Approve, Actor: d.Actor}, &cd); err != nil {
				var past *PastApprovalError
				var gone *CycleNotRunningError
				if !errors.As(err, &past) && !errors.As(err, &gone) {
					return out, err
				}
				// This cycle moved on (or its workflow no longer runs); the others may still
				// take the decision.
				refused = err
				continue
			}
		} else if counts, err := s.Store.CycleCounts(ctx, g.cycleID); err == nil {
			cd.Pending = counts.Pending
		}
		out.Approved += cd.Approved
		out.Rejected += cd.Rejected
		out.AlreadyDecided += cd.AlreadyDecided
		out.Pending += cd.Pending
		out.Cycles = append(out.Cycles, cd)
	}
	if len(out.Cycles) == 0 && refused != nil {
		return out, refused
	}
	return out, nil
}

// decideIn sends one cycle its part of a decision and fills in what the cycle did.
func (s *Starter) decideIn(ctx context.Context, workflowID, cycleID string, d billing.Decision, cd *CycleDecided) error {
	name := workflows.UpdateReject
	if d.Approve {
		name = workflows.UpdateApprove
	}
	var ans workflows.DecisionAnswer
	accepted, err := s.updateCycle(ctx, workflowID, cycleID, name, d, &ans)
	switch {
	case errors.Is(err, errSignalsOnly):
		if err := s.Temporal.SignalWorkflow(ctx, workflowID, "", name, d); err != nil {
			return fmt.Errorf("signal %s: %w", workflowID, err)
		}
		cd.Outcome = OutcomeSignalled
		return nil
	case err != nil:
		return err
	case accepted:
		cd.Outcome = OutcomeAccepted
		return nil
	}
	if d.Approve {
		cd.Approved = ans.Decided
	} else {
		cd.Rejected = ans.Decided
	}
	cd.AlreadyDecided += ans.AlreadyDecided
	cd.Pending = ans.Counts.Pending
	return nil
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
