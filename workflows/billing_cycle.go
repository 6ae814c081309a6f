// Package workflows holds meterbridge's durable workflows. Code here is deterministic: no
// database, network, wall clock or randomness; all of that happens in activities.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
)

// CycleInput starts a billing cycle.
type CycleInput struct {
	TenantID  string
	Kind      billing.Kind
	Period    billing.Period
	Trigger   billing.Trigger
	StartedBy string
	// PageSize is how many clients one activity handles (default 100).
	PageSize int
}

// CycleResult is how a cycle ended.
type CycleResult struct {
	CycleID string
	Status  billing.Status
	Counts  billing.Counts
	Error   string `json:",omitempty"`
}

// Progress is what the progress query returns.
type Progress struct {
	CycleID string
	Phase   billing.Phase
	Status  billing.Status
	Counts  billing.Counts
}

const defaultPageSize = 100

// BillingCycle moves one period's numbers into the PSA: refresh → diff → approval → push →
// record → notify. Its ID is BillingCycleID (or LicenceSyncID) and its record in PostgreSQL
// is keyed by its run ID.
func BillingCycle(ctx workflow.Context, in CycleInput) (CycleResult, error) {
	c := &cycle{in: in}
	if c.in.PageSize <= 0 {
		c.in.PageSize = defaultPageSize
	}
	c.progress.CycleID = workflow.GetInfo(ctx).WorkflowExecution.RunID
	c.progress.Status = billing.Running
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return c.progress, nil }); err != nil {
		return CycleResult{}, err
	}
	return c.run(ctx)
}

type cycle struct {
	in       CycleInput
	settings billing.BeginResult
	progress Progress
}

func (c *cycle) run(ctx workflow.Context) (CycleResult, error) {
	if err := c.setPhase(ctx, billing.PhaseStarting); err != nil {
		return CycleResult{}, err
	}
	if err := c.begin(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if c.settings.AlreadyPublishedBy != "" {
		return c.alreadyPublished(ctx)
	}
	if err := c.refresh(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.awaitApproval(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.push(ctx); err != nil {
		return c.fail(ctx, err)
	}
	return c.finish(ctx, "", "")
}

func (c *cycle) begin(ctx workflow.Context) error {
	info := workflow.GetInfo(ctx)
	in := billing.BeginInput{
		CycleID:    c.progress.CycleID,
		WorkflowID: info.WorkflowExecution.ID,
		TenantID:   c.in.TenantID,
		Kind:       c.in.Kind,
		Period:     c.in.Period,
		Trigger:    c.in.Trigger,
		StartedBy:  c.in.StartedBy,
	}
	return workflow.ExecuteActivity(storeOptions(ctx), ActivityBeginCycle, in).Get(ctx, &c.settings)
}

// refresh reads the vendor's numbers and the PSA's current quantities page by page and
// stores one item per client, already decided where the approval mode allows.
func (c *cycle) refresh(ctx workflow.Context) error {
	if err := c.setPhase(ctx, billing.PhaseRefresh); err != nil {
		return err
	}
	cursor, seq := "", 0
	for page := 1; ; page++ {
		in := billing.RefreshInput{
			CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Kind: c.in.Kind, Period: c.in.Period,
			Mode: c.settings.Mode, Approval: c.settings.Approval, Cursor: cursor, SeqStart: seq, PageSize: c.in.PageSize,
		}
		var res billing.RefreshResult
		if err := workflow.ExecuteActivity(outsideOptions(ctx), ActivityRefreshPage, in).Get(ctx, &res); err != nil {
			return fmt.Errorf("refresh page %d: %w", page, err)
		}
		c.addCounts(res.Counts)
		seq += res.Items
		if res.Next == "" {
			return nil
		}
		if res.Next == cursor {
			return temporal.NewNonRetryableApplicationError("vendor returned the same page cursor twice", ErrInvalid, nil)
		}
		cursor = res.Next
	}
}

// awaitApproval waits until no item is pending. Decisions arrive as signals and are applied
// by an activity, one at a time and in arrival order.
func (c *cycle) awaitApproval(ctx workflow.Context) error {
	if c.progress.Counts.Pending == 0 {
		return nil
	}
	if err := c.setPhase(ctx, billing.PhaseApproval); err != nil {
		return err
	}
	approve := workflow.GetSignalChannel(ctx, SignalApprove)
	reject := workflow.GetSignalChannel(ctx, SignalReject)
	for c.progress.Counts.Pending > 0 {
		var d billing.Decision
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(approve, func(ch workflow.ReceiveChannel, _ bool) {
			ch.Receive(ctx, &d)
			d.Approve = true
		})
		sel.AddReceive(reject, func(ch workflow.ReceiveChannel, _ bool) {
			ch.Receive(ctx, &d)
			d.Approve = false
		})
		sel.Select(ctx)
		if err := c.decide(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func (c *cycle) decide(ctx workflow.Context, d billing.Decision) error {
	var counts billing.Counts
	in := billing.DecideInput{CycleID: c.progress.CycleID, Decision: d}
	if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityDecide, in).Get(ctx, &counts); err != nil {
		return fmt.Errorf("apply decision of %s: %w", d.Actor, err)
	}
	c.progress.Counts = counts
	return nil
}

// push writes approved quantities page by page. Each item's outcome is stored as soon as the
// PSA confirms it, so a retried page (or a restarted worker) skips what is done.
func (c *cycle) push(ctx workflow.Context) error {
	if c.progress.Counts.Approved == 0 {
		return nil
	}
	if err := c.setPhase(ctx, billing.PhasePush); err != nil {
		return err
	}
	for {
		in := billing.PushInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Kind: c.in.Kind, Period: c.in.Period, PageSize: c.in.PageSize}
		var res billing.PushResult
		if err := workflow.ExecuteActivity(outsideOptions(ctx), ActivityPushPage, in).Get(ctx, &res); err != nil {
			return fmt.Errorf("push: %w", err)
		}
		c.progress.Counts.Approved -= res.Applied + res.Failed
		c.progress.Counts.Applied += res.Applied
		c.progress.Counts.Failed += res.Failed
		if res.Done {
			return nil
		}
	}
}

// finish records the outcome and notifies. status "" derives it from the item counts.
func (c *cycle) finish(ctx workflow.Context, status billing.Status, errMsg string) (CycleResult, error) {
	if err := c.setPhase(ctx, billing.PhaseRecord); err != nil {
		return CycleResult{}, err
	}
	var fin billing.FinishResult
	in := billing.FinishInput{CycleID: c.progress.CycleID, Status: status, Error: errMsg}
	if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityFinishCycle, in).Get(ctx, &fin); err != nil {
		return CycleResult{}, fmt.Errorf("record cycle: %w", err)
	}
	c.progress.Status, c.progress.Counts = fin.Status, fin.Counts
	if err := c.setPhase(ctx, billing.PhaseNotify); err != nil {
		return CycleResult{}, err
	}
	notice := billing.NotifyInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Notice: billing.NoticeFinished}
	if err := workflow.ExecuteActivity(notifyOptions(ctx), ActivityNotify, notice).Get(ctx, nil); err != nil {
		// The cycle's work is done and recorded; an undeliverable message must not undo that.
		workflow.GetLogger(ctx).Error("notification failed", "cycle", c.progress.CycleID, "error", err)
	}
	if err := c.setPhase(ctx, billing.PhaseDone); err != nil {
		return CycleResult{}, err
	}
	c.drainSignals(ctx)
	return CycleResult{CycleID: c.progress.CycleID, Status: fin.Status, Counts: fin.Counts, Error: errMsg}, nil
}

// fail ends the cycle as failed after an error that retries could not fix, recording why.
func (c *cycle) fail(ctx workflow.Context, cause error) (CycleResult, error) {
	if temporal.IsCanceledError(cause) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		// A person cancelled the run: record it with a context that is not cancelled.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	return c.finish(ctx, billing.Failed, reason(cause))
}

func (c *cycle) alreadyPublished(ctx workflow.Context) (CycleResult, error) {
	workflow.GetLogger(ctx).Info("period already published automatically", "holder", c.settings.AlreadyPublishedBy)
	res, err := c.finish(ctx, billing.AlreadyPublished, "period "+string(c.in.Period)+" was already published by cycle "+c.settings.AlreadyPublishedBy)
	if err == nil {
		err = c.setPhase(ctx, billing.PhaseDuplicate)
	}
	return res, err
}

// drainSignals empties the decision channels before the run ends, logging decisions that
// came too late to matter, so none is silently dropped.
func (c *cycle) drainSignals(ctx workflow.Context) {
	for _, name := range []string{SignalApprove, SignalReject} {
		ch := workflow.GetSignalChannel(ctx, name)
		var d billing.Decision
		for ch.ReceiveAsync(&d) {
			workflow.GetLogger(ctx).Info("decision arrived after the cycle's approval step; ignored", "signal", name, "actor", d.Actor)
		}
	}
}

func (c *cycle) setPhase(ctx workflow.Context, p billing.Phase) error {
	c.progress.Phase = p
	switch p {
	case billing.PhaseApproval:
		c.progress.Status = billing.AwaitingApproval
	case billing.PhasePush:
		c.progress.Status = billing.Pushing
	}
	switch p {
	case billing.PhaseRefresh, billing.PhaseApproval, billing.PhasePush:
		// The API shows a running cycle's status from PostgreSQL; a local activity keeps it
		// current at the cost of one marker event.
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
		in := billing.MarkInput{CycleID: c.progress.CycleID, Status: c.progress.Status, Phase: p}
		if err := workflow.ExecuteLocalActivity(lctx, ActivityMarkCycle, in).Get(ctx, nil); err != nil {
			return fmt.Errorf("record phase %s: %w", p, err)
		}
	}
	return workflow.UpsertTypedSearchAttributes(ctx,
		TenantKey.ValueSet(c.in.TenantID),
		PeriodKey.ValueSet(string(c.in.Period)),
		KindKey.ValueSet(string(c.in.Kind)),
		PhaseKey.ValueSet(string(p)),
	)
}

func (c *cycle) addCounts(n billing.Counts) {
	p := &c.progress.Counts
	p.Total += n.Total
	p.Pending += n.Pending
	p.Approved += n.Approved
	p.Rejected += n.Rejected
	p.Unchanged += n.Unchanged
	p.Applied += n.Applied
	p.Failed += n.Failed
}

// reason turns an activity failure into the sentence stored and sent to people.
func reason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case ErrCredentials:
			return "credentials need attention: " + appErr.Message()
		case ErrNotConfigured:
			return "not configured: " + appErr.Message()
		}
		return appErr.Message()
	}
	return err.Error()
}
