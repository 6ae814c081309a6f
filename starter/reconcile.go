package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/workflows"
)

// ReconcileEvery is how often the reconciler looks for cycles whose workflow ended outside
// workflow code.
const ReconcileEvery = 10 * time.Minute

// EnsureReconcileSchedule creates the schedule that runs workflows.ReconcileCycles every
// ReconcileEvery on the starter's task queue, unless it exists. Each deployment (task queue)
// has its own, since each reconciles its own database. Overlap SKIP: one pass at a time.
func (s *Starter) EnsureReconcileSchedule(ctx context.Context) error {
	id := workflows.ReconcileScheduleID(s.taskQueue())
	_, err := s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   id,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: ReconcileEvery}}},
		Action: &client.ScheduleWorkflowAction{
			ID: id + "/run", Workflow: workflows.ReconcileCycles, Args: []any{workflows.ReconcileInput{}},
			TaskQueue: s.taskQueue(), WorkflowRunTimeout: 30 * time.Minute,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: ReconcileEvery,
		Note:          "closes cycles whose workflow was terminated, timed out or hit the history limit (workflows.ReconcileCycles)",
	})
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	return nil
}

// CycleWorkflowEnded reports whether the workflow chain of a cycle (its first run is the
// cycle's ID) has ended, and how, as people read it. The chain is looked up by workflow ID
// (its current run, wherever resets and continue-as-new took it); when a later cycle runs
// under the same ID, this cycle's chain ended before that one started.
func (s *Starter) CycleWorkflowEnded(ctx context.Context, workflowID, cycleID string) (bool, string, error) {
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return true, "its workflow " + workflowID + " no longer exists in Temporal", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("describe %s: %w", workflowID, err)
	}
	info := d.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	if info.GetFirstRunId() != cycleID && runID != cycleID {
		d, err = s.Temporal.DescribeWorkflowExecution(ctx, workflowID, cycleID)
		if errors.As(err, &notFound) {
			return true, "its workflow " + workflowID + " ended and a later cycle runs under that ID", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("describe %s run %s: %w", workflowID, cycleID, err)
		}
		info, runID = d.GetWorkflowExecutionInfo(), cycleID
	}
	st := info.GetStatus()
	if st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return false, "", nil
	}
	if st == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		return true, "its workflow " + workflowID + " ended and a later cycle runs under that ID", nil
	}
	return true, s.howItEnded(ctx, workflowID, runID, st), nil
}

// howItEnded reads a closed run's close event for the words people need: who terminated it
// and why, or what failed.
func (s *Starter) howItEnded(ctx context.Context, workflowID, runID string, st enumspb.WorkflowExecutionStatus) string {
	it := s.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	if it.HasNext() {
		if e, err := it.Next(); err == nil {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
				a := e.GetWorkflowExecutionTerminatedEventAttributes()
				msg := "its workflow was terminated"
				if a.GetIdentity() != "" {
					msg += " by " + a.GetIdentity()
				}
				if a.GetReason() != "" {
					msg += ": " + a.GetReason()
				}
				return msg
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
				return "its workflow timed out before it recorded the cycle"
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
				return "its workflow failed: " + e.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
				return "its workflow was cancelled in Temporal before it recorded the cycle"
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
				return "its workflow completed without recording the cycle"
			}
		}
	}
	return "its workflow ended (" + st.String() + ") without recording the cycle"
}
