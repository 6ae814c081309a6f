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
	// pending (refresh-and-sync on demand). Without it a licence cycle pushes on a sync
	// request (the sync schedule or "sync now"). Usage publishes always push when decided.
	SyncWhenDecided bool
	// HeartbeatTimeout overrides how soon a silent PSA or vendor activity is retried on
	// another worker (default one minute); tests of killed workers shorten it.
	HeartbeatTimeout time.Duration `json:",omitempty"`
	// ReminderEvery and DeadlineAfter stand in for the tenant's reminder and deadline hours
	// when set (and the tenant has them on); tests use seconds.
	ReminderEvery time.Duration `json:",omitempty"`
	DeadlineAfter time.Duration `json:",omitempty"`
	// MaxEventsBeforeContinueAsNew continues a waiting cycle as new once its history holds
	// this many events, besides whenever the server suggests it (4096 events or 4 MiB by
	// default). 0 leaves it to the server; tests set it low.
	MaxEventsBeforeContinueAsNew int `json:",omitempty"`
	// Resume carries a waiting cycle into its next run (continue-as-new): the run skips
	// begin and refresh and waits on.
	Resume *CycleState `json:",omitempty"`
	// Clients limits a usage publish to these backup clients (publish now of one client,
	// under its own workflow ID, ClientPublishID); empty publishes every client. BeginCycle
	// records it on the cycle, and the refresh reads it from there.
	Clients []string `json:",omitempty"`
}

// CycleState is what a waiting cycle carries into its next run.
type CycleState struct {
	Settings   billing.BeginResult
	Progress   Progress
	Superseded *billing.SupersedeInput `json:",omitempty"`
	// DeadlineAt and NextReminderAt are when the deadline and the next reminder are due;
	// zero when none is.
	DeadlineAt     time.Time `json:",omitempty"`
	NextReminderAt time.Time `json:",omitempty"`
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
	// Run counts this cycle's runs: 1, then one more each time a long wait continues as new.
	Run int `json:",omitempty"`
}

const defaultPageSize = 100

// changeAnsweredDecisions marks the cycle that answers updates (approve, reject, sync,
// cancel), keeps its identity across resets and continue-as-new, waits for a cancelled push
// to stop, bounds its reminders and continues a long wait as new. Runs recorded without it
// finish on the code in billing_cycle_v0.go.
const changeAnsweredDecisions = "answered-decisions"

// BillingCycle moves one period's numbers into the PSA: refresh → diff → approval → push →
// record → notify. Its workflow ID is BillingCycleID (or LicenceSyncID); its record in
// PostgreSQL is keyed by the cycle ID, the first run ID of its workflow chain, which a reset
// or a continue-as-new keeps (see cycleID).
func BillingCycle(ctx workflow.Context, in CycleInput) (CycleResult, error) {
	c := &cycle{in: in}
	if c.in.PageSize <= 0 {
		c.in.PageSize = defaultPageSize
	}
	c.legacy = workflow.GetVersion(ctx, changeAnsweredDecisions, workflow.DefaultVersion, 1) == workflow.DefaultVersion
	c.progress.CycleID = cycleID(ctx)
	c.progress.Status = billing.Running
	c.progress.Run = 1
	if r := in.Resume; r != nil && !c.legacy {
		c.settings, c.progress, c.superseded = r.Settings, r.Progress, r.Superseded
		c.deadlineAt, c.nextReminderAt = r.DeadlineAt, r.NextReminderAt
		c.progress.Run++
		c.begun = true
		// The new run records its phase again (and its search attributes).
		c.progress.Phase = ""
	}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return c.progress, nil }); err != nil {
		return CycleResult{}, err
	}
	c.mu = workflow.NewMutex(ctx)
	c.wake = workflow.NewBufferedChannel(ctx, 1)
	if err := c.registerUpdates(ctx); err != nil {
		return CycleResult{}, err
	}
	if c.legacy {
		return c.runV0(ctx)
	}
	return c.run(ctx)
}

// cycleID is the cycle's identity: the first run ID of its workflow chain. A reset (an
// operator repairing a bad deploy) and a continue-as-new start new runs with new run IDs but
// keep the chain's first run ID, so every run addresses the same record; a run that was never
// reset or continued has it equal to its own run ID, which is what cycles recorded before
// used. (The SDK's test environment leaves it empty; the run ID stands in there.)
func cycleID(ctx workflow.Context) string {
	info := workflow.GetInfo(ctx)
	if info.FirstRunID != "" {
		return info.FirstRunID
	}
	return info.WorkflowExecution.RunID
}

type cycle struct {
	in       CycleInput
	settings billing.BeginResult
	progress Progress
	// superseded is set when a newer licence refresh replaced this cycle's waiting items.
	superseded *billing.SupersedeInput

	// legacy marks a run recorded before the cycle answered updates (billing_cycle_v0.go).
	legacy bool
	// mu serialises what changes the cycle's items — a decision, the deadline, a supersede,
	// a push — so each sees the counts the one before left.
	mu workflow.Mutex
	// wake tells the waiting step that an update handler changed something.
	wake workflow.Channel

	begun    bool // BeginCycle recorded the cycle
	pushing  bool // a push is writing to the PSA
	closed   bool // the cycle takes no more decisions: it is finishing (or continuing as new)
	recorded bool // FinishCycle recorded how it ended
	// cancel is a person's request to stop the cycle (the cancel update).
	cancel *CancelRequest
	// syncAsked counts sync requests; syncTaken how many the waiting step has answered, with
	// lastSync the answer.
	syncAsked, syncTaken int
	lastSync             SyncAnswer

	deadlineAt, nextReminderAt time.Time
}

func (c *cycle) run(ctx workflow.Context) (CycleResult, error) {
	if c.in.Resume != nil {
		return c.decideStep(ctx)
	}
	if err := c.setPhase(ctx, billing.PhaseStarting); err != nil {
		return CycleResult{}, err
	}
	if err := c.begin(ctx); err != nil {
		return c.fail(ctx, err)
	}
	c.begun = true
	if c.settings.AlreadyPublishedBy != "" {
		return c.alreadyPublished(ctx)
	}
	c.tellSuperseded(ctx)
	if err := c.refresh(ctx); err != nil {
		return c.fail(ctx, err)
	}
	// A refresh page retried after its items were stored reports what it computed the second
	// time; the stored items are what the cycle waits on.
	if err := c.locked(ctx, c.refreshCounts); err != nil {
		return c.fail(ctx, err)
	}
	return c.decideStep(ctx)
}

// decideStep waits for people and pushes, then records how the cycle ended — or continues
// the wait in a new run.
func (c *cycle) decideStep(ctx workflow.Context) (CycleResult, error) {
	err := c.decideAndPush(ctx)
	switch {
	case errors.Is(err, errContinueAsNew):
		return CycleResult{}, c.continueAsNew(ctx)
	case err != nil:
		return c.fail(ctx, err)
	case c.cancel != nil:
		return c.finish(ctx, billing.Cancelled, c.cancel.sentence())
	case c.superseded != nil:
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
		Clients:    c.in.Clients,
	}
	return workflow.ExecuteActivity(storeOptions(ctx), ActivityBeginCycle, in).Get(ctx, &c.settings)
}

// tellSuperseded signals older open licence cycles that this refresh replaced their waiting
// items (BeginCycle already marked them), so they push nothing stale and finish. The signal
// goes to the workflow's current run, wherever resets and continue-as-new have taken it,
// and names the cycle it is for.
func (c *cycle) tellSuperseded(ctx workflow.Context) {
	for _, ref := range c.settings.Superseded {
		target := ref.CycleID
		if target == "" {
			target = ref.RunID
		}
		in := billing.SupersedeInput{By: c.progress.CycleID, Period: c.in.Period, Cycle: target}
		err := workflow.SignalExternalWorkflow(ctx, ref.WorkflowID, "", SignalSupersede, in).Get(ctx, nil)
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

// step is what the waiting step does next.
type step int

const (
	stepWait step = iota
	stepPush
	stepEnd
)

// decideAndPush waits for people and pushes what they approved, until nothing is pending or
// approved, a newer refresh supersedes the cycle, or a person cancels it. Decisions arrive
// as updates (and, from older senders, signals); each is applied by an activity under the
// cycle's lock, so they apply one at a time and each answer is what that decision did.
// While anything is pending a reminder repeats every ReminderHours, at most
// billing.MaxReminders times, and after DeadlineHours the deadline action happens once. A
// usage publish pushes when nothing is pending; a licence cycle pushes on a sync request (or
// when decided, for refresh-and-sync on demand). Before the history grows large the wait
// continues as new.
func (c *cycle) decideAndPush(ctx workflow.Context) error {
	pushWhenDecided := c.in.Kind == billing.UsagePublish || c.in.SyncWhenDecided
	approve := workflow.GetSignalChannel(ctx, SignalApprove)
	reject := workflow.GetSignalChannel(ctx, SignalReject)
	syncCh := workflow.GetSignalChannel(ctx, SignalSync)
	supersede := workflow.GetSignalChannel(ctx, SignalSupersede)
	signals := []workflow.ReceiveChannel{approve, reject, syncCh, supersede}

	timerCtx, cancelTimers := workflow.WithCancel(ctx)
	defer func() { cancelTimers() }()
	var reminder, deadline workflow.Future
	for {
		// What happens next is decided under the lock, so a decision being applied right now
		// is counted before the cycle pushes or ends.
		if err := c.mu.Lock(ctx); err != nil {
			return temporal.NewCanceledError("cycle cancelled while waiting")
		}
		if ctx.Err() != nil {
			// Cancelled in Temporal while a push ran: the push finished (or stopped between
			// items) and recorded what it wrote; the cycle ends here.
			c.mu.Unlock()
			return temporal.NewCanceledError("cycle cancelled while pushing")
		}
		switch c.next(pushWhenDecided) {
		case stepEnd:
			c.closed = true
			c.mu.Unlock()
			return nil
		case stepPush:
			err := c.push(ctx)
			c.mu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		c.mu.Unlock()

		counts := c.progress.Counts
		phase := billing.PhaseApproval
		if counts.Pending == 0 {
			phase = billing.PhaseAwaitSync
		}
		if c.progress.Phase != phase {
			if err := c.setPhase(ctx, phase); err != nil {
				return err
			}
		}
		now := workflow.Now(ctx)
		if counts.Pending > 0 {
			if c.progress.WaitingSince.IsZero() {
				c.progress.WaitingSince = now
				if d := c.deadlineEvery(); d > 0 {
					c.deadlineAt = now.Add(d)
				}
			}
			if deadline == nil && !c.deadlineAt.IsZero() && !c.progress.DeadlinePast {
				deadline = workflow.NewTimerWithOptions(timerCtx, c.deadlineAt.Sub(now), workflow.TimerOptions{Summary: "approval deadline"})
			}
			if d := c.reminderEvery(); d > 0 && reminder == nil && c.progress.Reminders < billing.MaxReminders {
				if c.nextReminderAt.IsZero() {
					c.nextReminderAt = now.Add(d)
				}
				reminder = workflow.NewTimerWithOptions(timerCtx, c.nextReminderAt.Sub(now),
					workflow.TimerOptions{Summary: fmt.Sprintf("reminder %d of %d", c.progress.Reminders+1, billing.MaxReminders)})
			}
		}
		if c.shouldContinueAsNew(ctx) && !pending(signals) && workflow.AllHandlersFinished(ctx) {
			// Nothing is in flight: no signal waits in a channel, no update handler runs.
			// Cancelling the timers is not a yield, so nothing arrives before the run ends.
			c.closed = true
			return errContinueAsNew
		}

		var d *billing.Decision
		var act func(workflow.Context) error
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
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
			c.syncAsked++
		})
		sel.AddReceive(supersede, func(ch workflow.ReceiveChannel, _ bool) {
			var v billing.SupersedeInput
			ch.Receive(ctx, &v)
			if v.Cycle != "" && v.Cycle != c.progress.CycleID {
				workflow.GetLogger(ctx).Info("supersede signal for another cycle of this workflow ID; ignored", "for", v.Cycle)
				return
			}
			c.superseded = &v
			act = func(ctx workflow.Context) error { return c.locked(ctx, c.refreshCounts) }
		})
		if reminder != nil {
			sel.AddFuture(reminder, func(f workflow.Future) {
				reminder = nil
				if f.Get(ctx, nil) == nil && c.progress.Counts.Pending > 0 {
					act = c.remind
				}
			})
		}
		if deadline != nil {
			sel.AddFuture(deadline, func(f workflow.Future) {
				deadline = nil
				if f.Get(ctx, nil) == nil && c.progress.Counts.Pending > 0 {
					act = c.deadlinePassed
				}
			})
		}
		// A person cancelling the run in Temporal (Web UI, CLI) ends the wait; fail records it.
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return temporal.NewCanceledError("cycle cancelled while waiting")
		}
		if d != nil {
			decision := *d
			if err := c.locked(ctx, func(ctx workflow.Context) error {
				_, err := c.decide(ctx, decision)
				return err
			}); err != nil {
				return err
			}
		}
		if act != nil {
			// Reminders and alerts run outside the lock: a slow mail server never holds
			// decisions back. What changes items takes the lock itself.
			if err := act(ctx); err != nil {
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

// next decides, under the lock, what the waiting step does now: a cancel ends the cycle; a
// sync request (or, when the cycle pushes when decided, nothing left pending) with approved
// updates pushes them; nothing left to decide or push, or a supersede, ends it. A sync
// request is answered here with what it makes the cycle do.
func (c *cycle) next(pushWhenDecided bool) step {
	if c.cancel != nil {
		return stepEnd
	}
	counts := c.progress.Counts
	syncAsked := c.syncAsked > c.syncTaken
	if counts.Approved > 0 && (syncAsked || (pushWhenDecided && counts.Pending == 0)) {
		if syncAsked {
			c.answerSync(counts.Approved)
		}
		return stepPush
	}
	if syncAsked {
		c.answerSync(0)
	}
	if c.superseded != nil || (counts.Pending == 0 && counts.Approved == 0) {
		return stepEnd
	}
	return stepWait
}

func (c *cycle) answerSync(pushing int) {
	c.lastSync = SyncAnswer{CycleID: c.progress.CycleID, Period: c.in.Period, Pushing: pushing,
		Pending: c.progress.Counts.Pending, PushesWhenDecided: c.in.SyncWhenDecided}
	c.syncTaken = c.syncAsked
}

// locked runs f holding the cycle's lock.
func (c *cycle) locked(ctx workflow.Context, f func(workflow.Context) error) error {
	if err := c.mu.Lock(ctx); err != nil {
		return temporal.NewCanceledError("cycle cancelled while waiting")
	}
	defer c.mu.Unlock()
	return f(ctx)
}

func pending(chs []workflow.ReceiveChannel) bool {
	for _, ch := range chs {
		if ch.Len() > 0 {
			return true
		}
	}
	return false
}

func (c *cycle) reminderEvery() time.Duration {
	h := c.settings.ReminderHours
	switch {
	case h <= 0:
		return 0
	case c.in.ReminderEvery > 0:
		return c.in.ReminderEvery
	}
	return time.Duration(h) * time.Hour
}

func (c *cycle) deadlineEvery() time.Duration {
	h := c.settings.DeadlineHours
	switch {
	case h <= 0:
		return 0
	case c.in.DeadlineAfter > 0:
		return c.in.DeadlineAfter
	}
	return time.Duration(h) * time.Hour
}

// remind sends the next reminder and plans the one after, up to billing.MaxReminders.
func (c *cycle) remind(ctx workflow.Context) error {
	c.progress.Reminders++
	c.nextReminderAt = time.Time{}
	if c.progress.Reminders < billing.MaxReminders {
		c.nextReminderAt = workflow.Now(ctx).Add(c.reminderEvery())
	}
	in := billing.NotifyInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Notice: billing.NoticeReminder, Reminder: c.progress.Reminders}
	if err := workflow.ExecuteActivity(briefNotifyOptions(ctx), ActivityNotify, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("reminder not sent", "cycle", c.progress.CycleID, "reminder", c.progress.Reminders, "error", err)
	}
	return nil
}

// deadlinePassed applies the tenant's deadline action once (under the lock), then alerts.
func (c *cycle) deadlinePassed(ctx workflow.Context) error {
	c.progress.DeadlinePast = true
	if c.settings.DeadlineAction == billing.DeadlineApplyRule {
		err := c.locked(ctx, func(ctx workflow.Context) error {
			var counts billing.Counts
			in := billing.DeadlineInput{CycleID: c.progress.CycleID, Approval: c.settings.Approval, Action: c.settings.DeadlineAction}
			if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityApplyDeadline, in).Get(ctx, &counts); err != nil {
				return fmt.Errorf("apply deadline: %w", err)
			}
			c.progress.Counts = counts
			return nil
		})
		if err != nil {
			return err
		}
	}
	c.notifyBriefly(ctx, billing.NoticeDeadline)
	return nil
}

// decide applies a decision to the cycle's pending items (the caller holds the lock) and
// returns what it did.
func (c *cycle) decide(ctx workflow.Context, d billing.Decision) (billing.DecideResult, error) {
	var res billing.DecideResult
	in := billing.DecideInput{CycleID: c.progress.CycleID, Decision: d}
	if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityDecideItems, in).Get(ctx, &res); err != nil {
		return res, fmt.Errorf("apply decision of %s: %w", d.Actor, err)
	}
	c.progress.Counts = res.Counts
	return res, nil
}

// refreshCounts reloads the counts after another cycle changed this one's items.
func (c *cycle) refreshCounts(ctx workflow.Context) error {
	_, err := c.decide(ctx, billing.Decision{Actor: billing.ActorAutomatic})
	return err
}

// push writes approved quantities page by page (the caller holds the lock, so no decision
// changes the items meanwhile). Each item's outcome is stored as soon as the PSA confirms
// it, so a retried page (or a restarted worker) skips what is done. When the run is
// cancelled in Temporal mid-push the cycle waits for the page's activity to stop — it
// finishes the write in flight and records it — before the cycle is recorded, so the record
// holds everything that reached the PSA.
func (c *cycle) push(ctx workflow.Context) error {
	if err := c.setPhase(ctx, billing.PhasePush); err != nil {
		return err
	}
	c.pushing = true
	defer func() { c.pushing = false }()
	actx := workflow.WithWaitForCancellation(outsideOptions(ctx, c.in.HeartbeatTimeout), true)
	for {
		in := billing.PushInput{CycleID: c.progress.CycleID, TenantID: c.in.TenantID, Kind: c.in.Kind, Period: c.in.Period, PageSize: c.in.PageSize}
		var res billing.PushResult
		if err := workflow.ExecuteActivity(actx, ActivityPushPage, in).Get(ctx, &res); err != nil {
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

func (c *cycle) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	max := c.in.MaxEventsBeforeContinueAsNew
	return info.GetContinueAsNewSuggested() || (max > 0 && info.GetCurrentHistoryLength() >= max)
}

// continueAsNew starts the cycle's next run with its state. The waiting step left only when
// no signal waited and no update handler ran, so nothing is lost with this run; updates sent
// meanwhile are retried by their senders against the next run.
func (c *cycle) continueAsNew(ctx workflow.Context) error {
	in := c.in
	in.Resume = &CycleState{Settings: c.settings, Progress: c.progress, Superseded: c.superseded,
		DeadlineAt: c.deadlineAt, NextReminderAt: c.nextReminderAt}
	workflow.GetLogger(ctx).Info("long wait continues as new", "cycle", c.progress.CycleID, "run", c.progress.Run,
		"history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, BillingCycle, in)
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

// finish records the outcome and notifies. status "" derives it from the item counts. Update
// handlers still running (a cancel waiting for the record) finish before the run returns.
func (c *cycle) finish(ctx workflow.Context, status billing.Status, errMsg string) (CycleResult, error) {
	c.closed = true
	if err := c.setPhase(ctx, billing.PhaseRecord); err != nil {
		return CycleResult{}, err
	}
	var fin billing.FinishResult
	in := billing.FinishInput{CycleID: c.progress.CycleID, Status: status, Error: errMsg}
	if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityFinishCycle, in).Get(ctx, &fin); err != nil {
		return CycleResult{}, fmt.Errorf("record cycle: %w", err)
	}
	c.progress.Status, c.progress.Counts = fin.Status, fin.Counts
	c.recorded = true
	if err := c.setPhase(ctx, billing.PhaseNotify); err != nil {
		return CycleResult{}, err
	}
	c.notify(ctx, billing.NoticeFinished)
	if err := c.setPhase(ctx, billing.PhaseDone); err != nil {
		return CycleResult{}, err
	}
	c.drainSignals(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return CycleResult{}, err
	}
	return CycleResult{CycleID: c.progress.CycleID, Status: fin.Status, Counts: fin.Counts, Error: errMsg}, nil
}

// fail ends the cycle as failed after an error that retries could not fix, recording why.
// A run cancelled in Temporal is recorded as cancelled (as failed by runs recorded before).
func (c *cycle) fail(ctx workflow.Context, cause error) (CycleResult, error) {
	status, why := billing.Failed, reason(cause)
	if temporal.IsCanceledError(cause) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		// A person cancelled the run: record it with a context that is not cancelled.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		if !c.legacy {
			// However the step in hand ended (a push cut short ends as a timeout), the cycle
			// ends because it was cancelled.
			status, why = billing.Cancelled, reason(temporal.NewCanceledError())
		}
	}
	return c.finish(ctx, status, why)
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
		return "cancelled in Temporal (Web UI or CLI) before it finished"
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
