package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/workflows"
)

// Sending updates to cycles, and what can come back. An update is answered by the workflow,
// so it needs a live worker: the starter waits UpdateWait for the cycle to take it (the
// "accepted" stage, after which it is durable and will be carried out) and to finish it.

// DefaultUpdateWait is how long a request waits for a cycle's answer.
const DefaultUpdateWait = 10 * time.Second

// Outcomes of a request a cycle was sent.
const (
	// OutcomeDone: the cycle did it, and the answer says what it did.
	OutcomeDone = "done"
	// OutcomeAccepted: the cycle took the request — it is recorded in its history and will
	// be carried out — but had not finished it when the answer was due (it was pushing, say).
	OutcomeAccepted = "accepted"
	// OutcomeSignalled: the cycle started before it answered requests; it was sent the
	// signal of the same name, which it applies without saying what it did.
	OutcomeSignalled = "signalled"
)

// NoWorkerError means no worker took the request in time: the request was not confirmed.
// The workflow may still take it if a worker comes back soon; repeating it is harmless
// (items already decided are reported as such).
type NoWorkerError struct {
	WorkflowID string
	Waited     time.Duration
}

func (e *NoWorkerError) Error() string {
	return fmt.Sprintf("no worker took the request to %s within %s, so it is not confirmed: it is applied only if a worker picks it up shortly. "+
		"Check that meterbridge workers run, then repeat it — repeating is harmless", e.WorkflowID, e.Waited)
}

// PastApprovalError means the cycle no longer takes decisions or sync requests.
type PastApprovalError struct {
	CycleID, WorkflowID string
	Status              billing.Status
	Reason              string
}

func (e *PastApprovalError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return fmt.Sprintf("cycle %s has moved past approval (%s); its updates can no longer be decided", e.CycleID, e.Status)
}

// NotCancellableError means the cycle cannot be cancelled now.
type NotCancellableError struct {
	CycleID string
	Status  billing.Status
	Reason  string
}

func (e *NotCancellableError) Error() string { return e.Reason }

// CycleNotRunningError means the cycle's record is open but its workflow no longer runs
// (terminated, timed out): it cannot act. The reconciler records it as failed; cancelling it
// closes it at once.
type CycleNotRunningError struct {
	CycleID, WorkflowID string
}

func (e *CycleNotRunningError) Error() string {
	return fmt.Sprintf("the workflow %s of cycle %s no longer runs; the reconciler records the cycle as failed within minutes, or cancel it now",
		e.WorkflowID, e.CycleID)
}

// gone reports a workflow that no longer runs (terminated by an operator, say).
func gone(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}

// errSignalsOnly: the cycle's run started before it answered updates.
var errSignalsOnly = errors.New("the cycle takes signals only")

func (s *Starter) updateWait() time.Duration {
	if s.UpdateWait > 0 {
		return s.UpdateWait
	}
	return DefaultUpdateWait
}

// updateCycle sends an update to the current run of a cycle's workflow chain (the chain
// whose first run is the cycle: a later cycle under the same workflow ID is never reached)
// and decodes the answer into out. accepted reports that the cycle took the update but did
// not finish it within the wait.
func (s *Starter) updateCycle(ctx context.Context, workflowID, cycleID, name string, arg, out any) (accepted bool, err error) {
	wait := s.updateWait()
	uctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, FirstExecutionRunID: cycleID, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		return false, s.updateError(ctx, workflowID, cycleID, wait, err)
	}
	if err := h.Get(uctx, out); err != nil {
		if timedOut(err) && ctx.Err() == nil {
			return true, nil
		}
		return false, s.updateError(ctx, workflowID, cycleID, wait, err)
	}
	return false, nil
}

func timedOut(err error) bool {
	var to *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.As(err, &to) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var de *serviceerror.DeadlineExceeded
	if errors.As(err, &de) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.DeadlineExceeded
}

// updateError turns what an update call returned into the starter's errors.
func (s *Starter) updateError(ctx context.Context, workflowID, cycleID string, wait time.Duration, err error) error {
	var notFound *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case timedOut(err) && ctx.Err() == nil:
		return &NoWorkerError{WorkflowID: workflowID, Waited: wait}
	case errors.As(err, &notFound):
		return &CycleNotRunningError{CycleID: cycleID, WorkflowID: workflowID}
	case errors.As(err, &appErr):
		var st billing.Status
		switch appErr.Type() {
		case workflows.ErrSignalsOnly:
			return errSignalsOnly
		case workflows.ErrPastApproval:
			_ = appErr.Details(&st)
			return &PastApprovalError{CycleID: cycleID, WorkflowID: workflowID, Status: st, Reason: appErr.Message()}
		case workflows.ErrNotCancellable:
			return &NotCancellableError{CycleID: cycleID, Reason: appErr.Message()}
		case workflows.ErrBadRequest:
			return fmt.Errorf("%s refused the request: %s", workflowID, appErr.Message())
		}
	}
	return fmt.Errorf("update %s: %w", workflowID, err)
}
