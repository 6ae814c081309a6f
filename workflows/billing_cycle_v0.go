package workflows

// The billing cycle as it ran before it answered updates (issue 9): decisions and sync
// requests arrive only as signals, the cycle ID was the run ID. Runs started before that
// change replay and finish on this code (BillingCycle picks it with workflow.GetVersion);
// keep it unchanged until no such run is open, then delete it with its recorded histories
// (testdata/*_v0.json, *_v1.json).

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
)

func (c *cycle) runV0(ctx workflow.Context) (CycleResult, error) {
	if err := c.setPhase(ctx, billing.PhaseStarting); err != nil {
		return CycleResult{}, err
	}
	if err := c.begin(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if c.settings.AlreadyPublishedBy != "" {
		return c.alreadyPublished(ctx)
	}
	c.tellSupersededV0(ctx)
	if err := c.refresh(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if workflow.GetVersion(ctx, "counts-from-store-after-refresh", workflow.DefaultVersion, 1) == 1 {
		// A refresh page retried after its items were stored reports what it computed the
		// second time; the stored items are what the cycle waits on.
		if err := c.refreshCountsV0(ctx); err != nil {
			return c.fail(ctx, err)
		}
	}
	if err := c.decideAndPushV0(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if c.superseded != nil {
		return c.finish(ctx, "", "superseded by the refresh of "+string(c.superseded.Period))
	}
	return c.finish(ctx, "", "")
}

// tellSuperseded signals older open licence cycles that this refresh replaced their waiting
// items (BeginCycle already marked them), so they push nothing stale and finish.
func (c *cycle) tellSupersededV0(ctx workflow.Context) {
	for _, ref := range c.settings.Superseded {
		in := billing.SupersedeInput{By: c.progress.CycleID, Period: c.in.Period}
		err := workflow.SignalExternalWorkflow(ctx, ref.WorkflowID, ref.RunID, SignalSupersede, in).Get(ctx, nil)
		if err != nil {
			// A cycle that already ended has nothing left to replace.
			workflow.GetLogger(ctx).Info("superseded cycle not signalled", "workflow", ref.WorkflowID, "error", err)
		}
	}
}

// decideAndPush waits for people and pushes what they approved, until nothing is pending or
// approved. Decisions arrive as signals and are applied by an activity, one at a time and
// in arrival order. While anything is pending a reminder repeats every ReminderHours, and
// after DeadlineHours the deadline action happens once. A usage publish pushes when nothing
// is pending; a licence cycle pushes when the sync signal comes (or when decided, for
// refresh-and-sync on demand).
func (c *cycle) decideAndPushV0(ctx workflow.Context) error {
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
			if err := c.pushV0(ctx); err != nil {
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
			act = func() error { return c.refreshCountsV0(ctx) }
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
					act = func() error { return c.deadlinePassedV0(ctx) }
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
			if err := c.decideV0(ctx, *d); err != nil {
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
func (c *cycle) deadlinePassedV0(ctx workflow.Context) error {
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

func (c *cycle) decideV0(ctx workflow.Context, d billing.Decision) error {
	var counts billing.Counts
	in := billing.DecideInput{CycleID: c.progress.CycleID, Decision: d}
	if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityDecide, in).Get(ctx, &counts); err != nil {
		return fmt.Errorf("apply decision of %s: %w", d.Actor, err)
	}
	c.progress.Counts = counts
	return nil
}

// refreshCounts reloads the counts after another cycle changed this one's items.
func (c *cycle) refreshCountsV0(ctx workflow.Context) error {
	return c.decideV0(ctx, billing.Decision{Actor: billing.ActorAutomatic})
}

// push writes approved quantities page by page. Each item's outcome is stored as soon as the
// PSA confirms it, so a retried page (or a restarted worker) skips what is done.
func (c *cycle) pushV0(ctx workflow.Context) error {
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
