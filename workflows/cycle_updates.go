package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
)

// The billing cycle's updates: what people ask of a running cycle, answered with what the
// cycle did. Validators refuse what the cycle cannot take (no history event is written for
// a refusal); handlers apply what it can, holding the cycle's lock, so concurrent requests
// apply one at a time and each answer counts only its own effect.

// DecisionAnswer is what an approve or reject update did.
type DecisionAnswer struct {
	CycleID string
	// Decided counts the items this decision moved from pending (approved or removed).
	Decided int
	// AlreadyDecided counts the items it named that were no longer pending: someone (or the
	// rule, or the deadline) decided them first.
	AlreadyDecided int
	// Counts are the cycle's counts right after it.
	Counts billing.Counts
}

// SyncRequest asks a licence cycle to push its approved updates now.
type SyncRequest struct {
	Actor string
}

// SyncAnswer says what a sync request made the cycle do.
type SyncAnswer struct {
	CycleID string
	Period  billing.Period
	// Joined is false when the request started the cycle (update-with-start), true when it
	// reached a cycle that was already there.
	Joined bool
	// Pushing counts the approved updates the cycle pushes now; 0 when none was approved.
	Pushing int
	// Pending counts the updates that still wait for a decision.
	Pending int
	// PushesWhenDecided: the cycle pushes by itself once nothing is pending (a cycle that
	// "sync now" started).
	PushesWhenDecided bool
}

// CancelRequest asks a cycle that waits to stop.
type CancelRequest struct {
	Actor  string
	Reason string `json:",omitempty"`
}

func (r CancelRequest) sentence() string {
	s := "cancelled by " + r.Actor
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// CancelAnswer is how the cycle ended after a cancel request: cancelled, or — when the cycle
// ended otherwise before it could take the request — that status.
type CancelAnswer struct {
	CycleID string
	Status  billing.Status
	Counts  billing.Counts
	Error   string `json:",omitempty"`
}

// maxDecisionIDs bounds the items one decision names (the API allows as many).
const maxDecisionIDs = 1000

func (c *cycle) registerUpdates(ctx workflow.Context) error {
	for _, u := range []struct {
		name    string
		approve bool
	}{{UpdateApprove, true}, {UpdateReject, false}} {
		approve := u.approve
		err := workflow.SetUpdateHandlerWithOptions(ctx, u.name,
			func(ctx workflow.Context, d billing.Decision) (DecisionAnswer, error) {
				d.Approve = approve
				return c.onDecision(ctx, d)
			},
			workflow.UpdateHandlerOptions{
				Validator:   func(_ workflow.Context, d billing.Decision) error { return c.validateDecision(d) },
				Description: "decide pending updates; answers how many this decision moved and how many were already decided",
			})
		if err != nil {
			return err
		}
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSync, c.onSync, workflow.UpdateHandlerOptions{
		Validator:   func(_ workflow.Context, r SyncRequest) error { return c.validateSync(r) },
		Description: "push a licence cycle's approved updates now; answers how many it pushes",
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, c.onCancel, workflow.UpdateHandlerOptions{
		Validator:   func(_ workflow.Context, r CancelRequest) error { return c.validateCancel(r) },
		Description: "stop a cycle that waits; answers once the cycle is recorded",
	})
}

func signalsOnly() error {
	return temporal.NewApplicationError("this cycle started before it answered updates; send the signal of the same name", ErrSignalsOnly)
}

func badRequest(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrBadRequest)
}

func (c *cycle) validateDecision(d billing.Decision) error {
	switch {
	case c.legacy:
		return signalsOnly()
	case d.Actor == "":
		return badRequest("a decision names who decided (actor)")
	case !d.All && len(d.IDs) == 0:
		return badRequest("a decision names the items (ids) or all")
	case len(d.IDs) > maxDecisionIDs:
		return badRequest("a decision names at most %d items", maxDecisionIDs)
	}
	return c.takesDecisions()
}

// takesDecisions says whether the cycle still decides items: not once it is being
// cancelled, superseded or finishing, nor while it pushes its last approved updates.
func (c *cycle) takesDecisions() error {
	why := ""
	switch {
	case c.cancel != nil:
		why = "it is being cancelled"
	case c.superseded != nil:
		why = "a newer refresh superseded it"
	case c.closed:
		why = "it is finishing"
	case c.pushing && c.progress.Counts.Pending == 0:
		why = "it is pushing its approved updates"
	default:
		return nil
	}
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("cycle %s has moved past approval: %s", c.progress.CycleID, why),
		ErrPastApproval, temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{c.progress.Status}})
}

// onDecision applies a decision once the cycle's lock is free and answers what it did. The
// cycle may have moved on while the decision waited for the lock; then it is refused.
func (c *cycle) onDecision(ctx workflow.Context, d billing.Decision) (DecisionAnswer, error) {
	if err := c.mu.Lock(ctx); err != nil {
		return DecisionAnswer{}, err
	}
	defer c.mu.Unlock()
	if err := c.takesDecisions(); err != nil {
		return DecisionAnswer{}, err
	}
	res, err := c.decide(ctx, d)
	if err != nil {
		return DecisionAnswer{}, err
	}
	c.poke()
	return DecisionAnswer{CycleID: c.progress.CycleID, Decided: res.Changed, AlreadyDecided: res.AlreadyDecided, Counts: res.Counts}, nil
}

func (c *cycle) validateSync(SyncRequest) error {
	switch {
	case c.legacy:
		return signalsOnly()
	case c.in.Kind != billing.LicenceSync:
		return badRequest("sync applies to licence cycles; a usage publish pushes when its updates are decided")
	}
	return c.takesDecisions()
}

// onSync asks the waiting step to push what is approved and answers once it has: how many
// updates it pushes now, and how many still wait. A request that reaches the cycle while it
// still refreshes is answered when the refresh ends.
func (c *cycle) onSync(ctx workflow.Context, _ SyncRequest) (SyncAnswer, error) {
	joined := c.begun || c.syncAsked > 0 || !c.in.SyncWhenDecided
	c.syncAsked++
	seq := c.syncAsked
	c.poke()
	if err := workflow.Await(ctx, func() bool { return c.syncTaken >= seq || c.closed }); err != nil {
		return SyncAnswer{}, err
	}
	if c.syncTaken < seq {
		return SyncAnswer{}, c.takesDecisions()
	}
	ans := c.lastSync
	ans.Joined = joined
	return ans, nil
}

func (c *cycle) validateCancel(r CancelRequest) error {
	why := ""
	switch {
	case c.legacy:
		return signalsOnly()
	case r.Actor == "":
		return badRequest("a cancel names who cancelled (actor)")
	case c.pushing:
		why = "it is writing approved updates to the PSA; it can be cancelled when the push ends"
	case c.closed:
		why = "it is finishing"
	default:
		return nil
	}
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("cycle %s cannot be cancelled now: %s", c.progress.CycleID, why),
		ErrNotCancellable, temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{c.progress.Phase}})
}

// onCancel asks the cycle to stop and answers once it is recorded: the waiting step ends at
// once (a decision being applied finishes first), nothing more is pushed, and the record
// says who cancelled and why. A second cancel waits for the same end.
func (c *cycle) onCancel(ctx workflow.Context, r CancelRequest) (CancelAnswer, error) {
	if c.cancel == nil {
		c.cancel = &r
	}
	c.poke()
	if err := workflow.Await(ctx, func() bool { return c.recorded }); err != nil {
		return CancelAnswer{}, err
	}
	ans := CancelAnswer{CycleID: c.progress.CycleID, Status: c.progress.Status, Counts: c.progress.Counts}
	if ans.Status != billing.Cancelled {
		ans.Error = fmt.Sprintf("the cycle ended as %s before it could be cancelled", ans.Status)
	}
	return ans, nil
}

// poke wakes the waiting step to look at what a handler changed.
func (c *cycle) poke() { c.wake.SendAsync(struct{}{}) }
