package starter

import (
	"context"
	"errors"
	"fmt"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// Outcomes of a cancel besides OutcomeDone and OutcomeAccepted.
const (
	// OutcomeCancelled: the cycle stopped and is recorded as cancelled.
	OutcomeCancelled = "cancelled"
	// OutcomeRequested: the cycle started before it answered requests; its run was asked to
	// cancel in Temporal and records itself as failed ("cancelled") when it stops.
	OutcomeRequested = "requested"
	// OutcomeClosed: the cycle's workflow had already ended without recording it (terminated,
	// say); its record is closed as cancelled now.
	OutcomeClosed = "closed"
)

// Cancelled says what cancelling a cycle did, with the cycle as it now stands.
type Cancelled struct {
	Outcome string      `json:"outcome"`
	Cycle   store.Cycle `json:"cycle"`
}

// CancelCycle stops a cycle that waits — for approval, for the sync, or still refreshing —
// and answers once it is recorded as cancelled: nothing more is pushed, its pending and
// approved updates are abandoned with who cancelled and why, an automatic claim on its
// period is released, and its managers are told. A cycle that is writing to the PSA cannot
// be cancelled until the push ends (*NotCancellableError; an operator may still cancel the
// run in Temporal, and the cycle then stops after the write in flight), nor one that has
// ended. A cycle whose workflow no longer runs is closed as cancelled at once.
func (s *Starter) CancelCycle(ctx context.Context, tenantID, cycleID, actor, reason string) (Cancelled, error) {
	c, err := s.Store.GetCycle(ctx, tenantID, cycleID)
	if err != nil {
		return Cancelled{}, err
	}
	if c.FinishedAt != nil {
		return Cancelled{}, &NotCancellableError{CycleID: c.ID, Status: c.Status,
			Reason: fmt.Sprintf("cycle %s cannot be cancelled: it has ended (%s)", c.ID, c.Status)}
	}
	req := workflows.CancelRequest{Actor: actor, Reason: reason}
	var ans workflows.CancelAnswer
	accepted, err := s.updateCycle(ctx, c.WorkflowID, c.ID, workflows.UpdateCancel, req, &ans)
	var gone *CycleNotRunningError
	out := Cancelled{Outcome: OutcomeCancelled}
	switch {
	case errors.Is(err, errSignalsOnly):
		if err := s.Temporal.CancelWorkflow(ctx, c.WorkflowID, ""); err != nil {
			return Cancelled{}, fmt.Errorf("cancel %s: %w", c.WorkflowID, err)
		}
		out.Outcome = OutcomeRequested
	case errors.As(err, &gone):
		closed, err := s.closeGone(ctx, c, req)
		if err != nil {
			return Cancelled{}, err
		}
		if !closed {
			return Cancelled{}, gone
		}
		out.Outcome = OutcomeClosed
	case err != nil:
		return Cancelled{}, err
	case accepted:
		out.Outcome = OutcomeAccepted
	case ans.Status != billing.Cancelled:
		return Cancelled{}, &NotCancellableError{CycleID: c.ID, Status: ans.Status, Reason: ans.Error}
	}
	out.Cycle, err = s.Store.GetCycle(ctx, tenantID, cycleID)
	return out, err
}

// closeGone closes the record of a cycle whose workflow ended without recording it, as
// cancelled by the person asking. It reports false when the workflow turns out to run.
func (s *Starter) closeGone(ctx context.Context, c store.Cycle, req workflows.CancelRequest) (bool, error) {
	ended, how, err := s.CycleWorkflowEnded(ctx, c.WorkflowID, c.ID)
	if err != nil || !ended {
		return false, err
	}
	why := "cancelled by " + req.Actor
	if req.Reason != "" {
		why += ": " + req.Reason
	}
	why += " (" + how + ")"
	_, _, err = s.Store.CloseOpenCycle(ctx, store.CycleClose{
		CycleID: c.ID, Status: billing.Cancelled, Error: why,
		Severity: store.SeverityWarning, Actor: req.Actor, Action: string(c.Kind) + "." + string(billing.Cancelled),
		Message: func(c store.Cycle) string {
			return fmt.Sprintf("%s of %s cancelled: %d applied, %d not pushed — %s", c.Kind, c.Period, c.Counts.Applied, c.Counts.Abandoned, why)
		},
	})
	return err == nil, err
}
