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
	// SyncWhenDecided makes a licence cycle push approved updates as soon as nothing is
	// pending (refresh-and-sync on demand). Without it a licence cycle pushes on the sync
	// signal (the sync schedule or "sync now"). Usage publishes always push when decided.
	SyncWhenDecided bool
	// HeartbeatTimeout overrides how soon a silent PSA or vendor activity is retried on
	// another worker (default one minute); tests of killed workers shorten it.
	HeartbeatTimeout time.Duration `json:",omitempty"`
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
	// WaitingSince is when the cycle began waiting for people, zero when it does not wait.
	WaitingSince time.Time `json:",omitempty"`
	Reminders    int       `json:",omitempty"`
	DeadlinePast bool      `json:",omitempty"`
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
	// superseded is set when a newer licence refresh replaced this cycle's waiting items.
	superseded *billing.SupersedeInput
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
	c.tellSuperseded(ctx)
	if err := c.refresh(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if workflow.GetVersion(ctx, "counts-from-store-after-refresh", workflow.DefaultVersion, 1) == 1 {
		// A refresh page retried after its items were stored reports what it computed the
		// second time; the stored items are what the cycle waits on.
		if err := c.refreshCounts(ctx); err != nil {
			return c.fail(ctx, err)
		}
	}
	if err := c.decideAndPush(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if c.superseded != nil {
		return c.finish(ctx, "", "superseded by the refresh of "+string(c.superseded.Period))
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

// tellSuperseded signals older open licence cycles that this refresh replaced their waiting
// items (BeginCycle already marked them), so they push nothing stale and finish.
func (c *cycle) tellSuperseded(ctx workflow.Context) {
	for _, ref := range c.settings.Superseded {
		in := billing.SupersedeInput{By: c.progress.CycleID, Period: c.in.Period}
		err := workflow.SignalExternalWorkflow(ctx, ref.WorkflowID, ref.RunID, SignalSupersede, in).Get(ctx, nil)
		if err != nil {
			// A cycle that already ended has nothing left to replace.
			workflow.GetLogger(ctx).Info("superseded cycle not signalled", "workflow", ref.WorkflowID, "error", err)
		}
	}
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
		if err := workflow.ExecuteActivity(outsideOptions(ctx, c.in.HeartbeatTimeout), ActivityRefreshPage, in).Get(ctx, &res); err != nil {
			return fmt.Errorf("refresh page %d: %w", page, err)
		}
		c.progress.Counts.AddAll(res.Counts)
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

// decideAndPush waits for people and pushes what they approved, until nothing is pending or
// approved. Decisions arrive as signals and are applied by an activity, one at a time and
// in arrival order. While anything is pending a reminder repeats every ReminderHours, and
// after DeadlineHours the deadline action happens once. A usage publish pushes when nothing
// is pending; a licence cycle pushes when the sync signal comes (or when decided, for
// refresh-and-sync on demand).
func (c *cycle) decideAndPush(ctx workflow.Context) error {
	pushWhenDecided := c.in.Kind == billing.UsagePublish || c.in.SyncWhenDecided
	approve := workflow.GetSignalChannel(ctx, SignalApprove)
	reject := workflow.GetSignalChannel(ctx, SignalReject)
	syncCh := workflow.GetSignalChannel(ctx, SignalSync)
	supersede := workflow.GetSignalChannel(ctx, SignalSupersede)

	timerCtx, cancelTimers := workflow.WithCancel(ctx)
	defer func() { cancelTimers() }()
	var reminder, deadline workflow.Future
	syncRequested := false
	for {
		counts := c.progress.Counts
		if counts.Approved > 0 && (syncRequested || (pushWhenDecided && counts.Pending == 0)) {
			if err := c.push(ctx); err != nil {
				return err
			}
			syncRequested = false
			continue
		}
		if c.superseded != nil || (counts.Pending == 0 && counts.Approved == 0) {
			return nil
		}
		phase := billing.PhaseApproval
		if counts.Pending == 0 {
			phase = billing.PhaseAwaitSync
		}
		if c.progress.Phase != phase {
			if err := c.setPhase(ctx, phase); err != nil {
				return err
			}
		}
		if counts.Pending > 0 {
			if c.progress.WaitingSince.IsZero() {
				c.progress.WaitingSince = workflow.Now(ctx)
				if h := c.settings.DeadlineHours; h > 0 {
					deadline = workflow.NewTimer(timerCtx, time.Duration(h)*time.Hour)
				}
			}
			if h := c.settings.ReminderHours; h > 0 && reminder == nil {
				reminder = workflow.NewTimer(timerCtx, time.Duration(h)*time.Hour)
			}
		}

		var d *billing.Decision
		var act func() error
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(approve, func(ch workflow.ReceiveChannel, _ bool) {
			var v billing.Decision
			ch.Receive(ctx, &v)
			v.Approve = true
			d = &v
		})
		sel.AddReceive(reject, func(ch workflow.ReceiveChannel, _ bool) {
			var v billing.Decision
			ch.Receive(ctx, &v)
			v.Approve = false
			d = &v
		})
		sel.AddReceive(syncCh, func(ch workflow.ReceiveChannel, _ bool) {
			ch.Receive(ctx, nil)
			syncRequested = true
		})
		sel.AddReceive(supersede, func(ch workflow.ReceiveChannel, _ bool) {
			var v billing.SupersedeInput
			ch.Receive(ctx, &v)
			c.superseded = &v
			act = func() error { return c.refreshCounts(ctx) }
		})
		if reminder != nil {
			sel.AddFuture(reminder, func(f workflow.Future) {
				reminder = nil
				if f.Get(ctx, nil) == nil && c.progress.Counts.Pending > 0 {
					act = func() error {
						c.progress.Reminders++
						c.notifyBriefly(ctx, billing.NoticeReminder)
						return nil
					}
				}
			})
		}
		if deadline != nil {
			sel.AddFuture(deadline, func(f workflow.Future) {
				deadline = nil
				if f.Get(ctx, nil) == nil && c.progress.Counts.Pending > 0 {
					act = func() error { return c.deadlinePassed(ctx) }
				}
			})
		}
		// A person cancelling the run (Temporal UI, CLI) ends the wait; fail records it.
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return temporal.NewCanceledError("cycle cancelled while waiting")
		}
		if d != nil {
			if err := c.decide(ctx, *d); err != nil {
				return err
			}
		}
		if act != nil {
			if err := act(); err != nil {
				return err
			}
		}
		if c.progress.Counts.Pending == 0 && (reminder != nil || deadline != nil) {
			// Nothing waits for people any more: stop the reminder and deadline timers rather
			// than leave them to fire into a cycle that no longer needs them.
			cancelTimers()
			timerCtx, cancelTimers = workflow.WithCancel(ctx)
			reminder, deadline = nil, nil
		}
	}
}

// deadlinePassed applies the tenant's deadline action once.
func (c *cycle) deadlinePassed(ctx workflow.Context) error {
	c.progress.DeadlinePast = true
	if c.settings.DeadlineAction == billing.DeadlineApplyRule {
		var counts billing.Counts
		in := billing.DeadlineInput{CycleID: c.progress.CycleID, Approval: c.settings.Approval, Action: c.settings.DeadlineAction}
		if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityApplyDeadline, in).Get(ctx, &counts); err != nil {
			return fmt.Errorf("apply deadline: %w", err)
		}
		c.progress.Counts = counts
	}
	c.notifyBriefly(ctx, billing.NoticeDeadline)
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

// refreshCounts reloads the counts after another cycle changed this one's items.
func (c *cycle) refreshCounts(ctx workflow.Context) error {
	return c.decide(ctx, billing.Decision{Actor: billing.ActorAutomatic})
}

// push writes approved quantities page by page. Each item's outcome is stored as soon as the
// PSA confirms it, so a retried page (or a restarted worker) skips what is done.
func (c *cycle) push(ctx workflow.Context) error {
	if err := c.setPhase(ctx, billing.PhasePush); err != nil {
		return err
	}
	for {
		in := billing.PushInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Kind: c.in.Kind, Period: c.in.Period, PageSize: c.in.PageSize}
		var res billing.PushResult
		if err := workflow.ExecuteActivity(outsideOptions(ctx, c.in.HeartbeatTimeout), ActivityPushPage, in).Get(ctx, &res); err != nil {
			return fmt.Errorf("push: %w", err)
		}
		c.progress.Counts.Approved -= res.Applied + res.Failed
		c.progress.Counts.Applied += res.Applied
		c.progress.Counts.Failed += res.Failed
		if res.Done {
			c.progress.Counts.Approved = 0
			return nil
		}
	}
}

// notify sends a notice; a message that cannot be delivered is logged and recorded by the
// activity, and never stops the cycle.
func (c *cycle) notify(ctx workflow.Context, notice string) {
	in := billing.NotifyInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Notice: notice}
	if err := workflow.ExecuteActivity(notifyOptions(ctx), ActivityNotify, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("notification failed", "cycle", c.progress.CycleID, "notice", notice, "error", err)
	}
}

// notifyBriefly sends a notice while people may still decide: it is given a few minutes, not
// a day, so an unreachable mail server never holds approvals back; the next reminder tries
// again.
func (c *cycle) notifyBriefly(ctx workflow.Context, notice string) {
	in := billing.NotifyInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Notice: notice}
	if err := workflow.ExecuteActivity(briefNotifyOptions(ctx), ActivityNotify, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("notification failed", "cycle", c.progress.CycleID, "notice", notice, "error", err)
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
	c.notify(ctx, billing.NoticeFinished)
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

// drainSignals empties the signal channels before the run ends, logging what came too late
// to matter, so nothing is silently dropped.
func (c *cycle) drainSignals(ctx workflow.Context) {
	for _, name := range []string{SignalApprove, SignalReject, SignalSync, SignalSupersede} {
		ch := workflow.GetSignalChannel(ctx, name)
		for ch.ReceiveAsync(nil) {
			workflow.GetLogger(ctx).Info("signal arrived after the cycle's waiting step; ignored", "signal", name)
		}
	}
}

func (c *cycle) setPhase(ctx workflow.Context, p billing.Phase) error {
	c.progress.Phase = p
	switch p {
	case billing.PhaseApproval:
		c.progress.Status = billing.AwaitingApproval
	case billing.PhaseAwaitSync:
		c.progress.Status = billing.AwaitingSync
	case billing.PhasePush, billing.PhaseRefresh:
		c.progress.Status = billing.Running
	}
	switch p {
	case billing.PhaseRefresh, billing.PhaseApproval, billing.PhaseAwaitSync, billing.PhasePush:
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

// reason turns an activity failure into the sentence stored and sent to people.
func reason(err error) string {
	if temporal.IsCanceledError(err) {
		return "cancelled by an operator before it finished"
	}
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
