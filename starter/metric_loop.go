package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// Asking a metric's snapshot loop and reporting what it did. An update is answered by the
// workflow, so it needs a live worker: the starter waits UpdateWait for the loop to take the
// request and to finish it (a *NoWorkerError when no worker took it).

// updateLoopWithStart sends an update to a metric's loop, starting the loop first when it is
// not running (update-with-start, atomic on the workflow ID), and decodes the answer into out.
// accepted reports that the loop took the update but had not finished it within the wait.
func (s *Starter) updateLoopWithStart(ctx context.Context, m store.Metric, name string, arg, out any) (accepted bool, err error) {
	// A loop started by a sync now takes no separate first snapshot: the sync is its first.
	in, err := s.loopInput(ctx, m, false)
	if err != nil {
		return false, err
	}
	opts := s.loopOptions(m)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	op := s.Temporal.NewWithStartWorkflowOperation(opts, workflows.MetricSnapshot, in)
	wait := s.updateWait()
	uctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	h, err := s.Temporal.UpdateWithStartWorkflow(uctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions:          client.UpdateWorkflowOptions{WorkflowID: m.WorkflowID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageAccepted},
	})
	if err != nil {
		return false, s.loopUpdateError(ctx, m.WorkflowID, wait, err)
	}
	return s.awaitAnswer(ctx, uctx, h, m.WorkflowID, wait, out)
}

// updateLoop sends an update to a running loop; a loop that is not running answers
// *serviceerror.NotFound.
func (s *Starter) updateLoop(ctx context.Context, m store.Metric, name string, arg, out any) (accepted bool, err error) {
	wait := s.updateWait()
	uctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: m.WorkflowID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		return false, s.loopUpdateError(ctx, m.WorkflowID, wait, err)
	}
	return s.awaitAnswer(ctx, uctx, h, m.WorkflowID, wait, out)
}

func (s *Starter) awaitAnswer(ctx, uctx context.Context, h client.WorkflowUpdateHandle, workflowID string, wait time.Duration, out any) (bool, error) {
	if err := h.Get(uctx, out); err != nil {
		if timedOut(err) && ctx.Err() == nil {
			return true, nil // taken, still running
		}
		return false, s.loopUpdateError(ctx, workflowID, wait, err)
	}
	return false, nil
}

func (s *Starter) loopUpdateError(ctx context.Context, workflowID string, wait time.Duration, err error) error {
	if timedOut(err) && ctx.Err() == nil {
		return &NoWorkerError{WorkflowID: workflowID, Waited: wait}
	}
	return fmt.Errorf("update %s: %w", workflowID, err)
}

// loopError turns a loop's refusal into the starter's errors.
func (s *Starter) loopError(m store.Metric, err error) error {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err
	}
	switch appErr.Type() {
	case workflows.ErrWeekFrozen:
		var note scorecard.FrozenWeekNote
		_ = appErr.Details(&note)
		return &WeekFrozenError{MetricID: m.ID, Note: note}
	case workflows.ErrSyncTooSoon:
		var last scorecard.SyncRequest
		_ = appErr.Details(&last)
		left := max(last.RequestedAt.Add(scorecard.SyncWindow).Sub(s.now()), time.Second)
		return &store.SyncTooSoonError{LastSyncAt: last.RequestedAt, RetryAfter: left}
	case workflows.ErrMetricGone:
		return fmt.Errorf("metric %s: %w", m.ID, store.ErrNotFound)
	case workflows.ErrSnapshotFailed:
		return &SnapshotFailedError{Reason: appErr.Message()}
	}
	return err
}

// Outcomes of stopping a deleted metric's loop.
const (
	// LoopStopped: the loop stopped; its workflow completed.
	LoopStopped = "stopped"
	// LoopStopping: the loop took the stop but had not finished when the answer was due.
	LoopStopping = "stopping"
	// LoopNotRunning: there was no loop to stop.
	LoopNotRunning = "not_running"
	// LoopNotTold: the loop did not answer (Temporal or its workers are down). It ends by
	// itself at its next snapshot (which finds the metric gone), or when a worker next starts
	// (Runtime.Reconcile).
	LoopNotTold = "not_told"
)

// MetricDeleted says what deleting a metric did.
type MetricDeleted struct {
	store.DeletedMetric
	Loop LoopOutcome `json:"loop"`
}

// LoopOutcome is what became of a deleted metric's snapshot loop.
type LoopOutcome struct {
	WorkflowID string `json:"workflow_id"`
	Outcome    string `json:"outcome"`
	// Snapshots counts the snapshots the loop took over its life (when it answered).
	Snapshots int    `json:"snapshots,omitempty"`
	Message   string `json:"message,omitempty"`
}

// DeleteMetric deletes a metric and its check-ins (store.DeleteMetric: typed confirmation,
// site history kept), and once that is committed stops its snapshot loop with the stop
// update, so the loop ends cleanly (its workflow completes, not cancelled or terminated).
// When Temporal does not answer the metric stays deleted and the loop stops by itself (its
// next snapshot finds the metric gone) or when a worker next starts.
func (s *Starter) DeleteMetric(ctx context.Context, d store.MetricDeletion) (MetricDeleted, error) {
	del, err := s.Store.DeleteMetric(ctx, d)
	if err != nil {
		return MetricDeleted{}, err
	}
	out := MetricDeleted{DeletedMetric: del, Loop: LoopOutcome{WorkflowID: del.Metric.WorkflowID}}
	var stopped workflows.LoopStopped
	accepted, err := s.updateLoop(ctx, del.Metric, workflows.UpdateStopLoop, workflows.StopLoopRequest{Actor: d.Actor}, &stopped)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil && accepted:
		out.Loop.Outcome = LoopStopping
		out.Loop.Message = "the loop took the stop and ends as soon as the snapshot it was taking is cancelled"
	case err == nil:
		out.Loop.Outcome, out.Loop.Snapshots = LoopStopped, stopped.Snapshots
	case errors.As(err, &notFound):
		out.Loop.Outcome = LoopNotRunning
	default:
		slog.Default().Warn("snapshot loop of a deleted metric not told to stop", "tenant", d.TenantID, "metric", d.MetricID, "err", err)
		out.Loop.Outcome = LoopNotTold
		out.Loop.Message = "the loop did not answer (Temporal or its workers are down); it ends by itself at its next snapshot, which finds the metric gone, or when a worker next starts"
		if herr := s.Store.AddNote(context.WithoutCancel(ctx), store.Note{TenantID: d.TenantID, Severity: store.SeverityWarning, Actor: store.ActorAutomatic,
			Action: "metric.loop_not_told", Message: fmt.Sprintf("the snapshot loop of deleted metric %q was not told to stop (it did not answer); it ends at its next snapshot or when a worker next starts", del.Metric.Name),
			Details: map[string]any{"metric_id": del.Metric.ID, "workflow_id": del.Metric.WorkflowID}}); herr != nil {
			slog.Default().Error("site history not written", "tenant", d.TenantID, "metric", d.MetricID, "err", herr)
		}
	}
	return out, nil
}
