package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/workflows"
)

// keep replays a closed run's history on today's code and, when recording, stores it.
func (s *stack) keep(workflowID, runID, name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(s.t, s.temporal.GetWorkflow(ctx, workflowID, runID).GetWithOptions(ctx, nil, client.WorkflowRunGetOptions{DisableFollowingRuns: true}))
	replayAndKeep(s.t, history(s.t, s.temporal, workflowID, runID), name)
}

// Histories of every way a billing cycle ends, recorded on the real server: reminders and
// the deadline, a failure, an already-published period, a cancel, a supersede, the scheduled
// sync, and the reconciler closing a terminated cycle. They replay on today's code; with
// METERBRIDGE_RECORD_HISTORIES=1 they are written to workflows/testdata.
func TestRealHistoriesReplayCycleEndings(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()

	// Reminders, then the deadline approves what the rule allows and skips the rest.
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "rule", "max_units": "1", "max_percent": "1",
		"reminder_hours": 24, "deadline_hours": 72, "deadline_action": "apply_rule_skip_rest"}}}}`)
	s.starter.ReminderEvery, s.starter.DeadlineAfter = 300*time.Millisecond, 1500*time.Millisecond
	id := s.publish(map[string]any{"period": "2026-08"})
	c := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 3, c.Counts.Rejected, "outside the rule at the deadline: skipped")
	require.Positive(t, s.reminderSubjects())
	s.keep(c.WorkflowID, id, "billing_cycle_reminders_deadline")
	s.starter.ReminderEvery, s.starter.DeadlineAfter = 0, 0
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "manual", "reminder_hours": 0, "deadline_hours": 0, "deadline_action": "hold_and_alert"}}}}`)

	// A failure: the PSA refuses the credentials.
	s.world.ConnectWise.Faults().Set(fault.Settings{RejectCredentials: true})
	id = s.publish(map[string]any{"period": "2026-07"})
	c = s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Failed, c.Status)
	s.keep(c.WorkflowID, id, "billing_cycle_failed")
	s.world.ConnectWise.Faults().Set(fault.Settings{})

	// Cancelled through the API while it waits.
	id = s.publish(map[string]any{"period": "2026-05"})
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/cycles/"+id+"/cancel", s.approverToken, `{"reason": "recorded"}`, nil))
	c = s.waitCycle(id, 30*time.Second)
	require.Equal(t, billing.Cancelled, c.Status)
	s.keep(c.WorkflowID, id, "billing_cycle_cancelled")

	// The reconciler closes a terminated cycle.
	id = s.publish(map[string]any{"period": "2026-04"})
	c = s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	require.NoError(t, s.temporal.TerminateWorkflow(ctx, c.WorkflowID, "", "recorded"))
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "reconcile-" + uuid.NewString(), TaskQueue: s.taskQueue},
		workflows.ReconcileCycles, workflows.ReconcileInput{MinAge: time.Nanosecond})
	require.NoError(t, err)
	var res workflows.ReconcileResult
	require.NoError(t, run.Get(ctx, &res))
	require.Len(t, res.Closed, 1)
	s.keep(run.GetID(), run.GetRunID(), "reconcile_cycles")

	// Already published: a second automatic run of a published period. (Its push makes the
	// additions hold this usage, so it comes after the cycles that need pending updates.)
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	req := starter.StartRequest{TenantID: s.tenantID, Kind: billing.UsagePublish, Trigger: billing.Automatic, Period: "2026-06"}
	first, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	require.Equal(t, billing.Completed, s.waitCycle(first.RunID, 60*time.Second).Status)
	second, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	require.Equal(t, billing.AlreadyPublished, s.waitCycle(second.RunID, 60*time.Second).Status)
	s.keep(second.WorkflowID, second.RunID, "billing_cycle_already_published")
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "manual"}}}}`)

	// Superseded: a licence cycle approved but not synced, replaced by the next day's refresh.
	older, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual,
		StartedBy: "ann@demo-msp.example", Period: "2026-11-23"})
	require.NoError(t, err)
	s.waitStatus(older.RunID, billing.AwaitingApproval, 30*time.Second)
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": s.pendingIDs(older.RunID)}, nil))
	s.waitStatus(older.RunID, billing.AwaitingSync, 30*time.Second)
	newer, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual,
		StartedBy: "ann@demo-msp.example", Period: "2026-11-24"})
	require.NoError(t, err)
	c = s.waitCycle(older.RunID, 30*time.Second)
	require.Contains(t, c.Error, "superseded")
	s.keep(older.WorkflowID, older.RunID, "billing_cycle_superseded")

	// The scheduled sync: the newer cycle's approvals carried over; the sync schedule's run
	// tells it to push (a signal: a workflow cannot send an update).
	s.waitStatus(newer.RunID, billing.AwaitingSync, 30*time.Second)
	s.patchSettings(`{"settings": {"licences": {"sync": {"enabled": true, "cadence": "daily", "hour": 5}}}}`)
	h := s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, workflows.ActionSync))
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}))
	c = s.waitCycle(newer.RunID, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Positive(t, c.Counts.Applied)
	s.keep(newer.WorkflowID, newer.RunID, "billing_cycle_scheduled_sync")

}

// The runs of a wait that continued as new, and a run reset by an operator, replay on
// today's code (and are recorded with METERBRIDGE_RECORD_HISTORIES=1).
func TestRealHistoriesReplayContinuedAndReset(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"settings": {"publish": {"approval": {"reminder_hours": 24}}}}`)
	s.starter.ReminderEvery, s.starter.CycleMaxEvents = 300*time.Millisecond, 60
	s.startWorker()
	ctx := context.Background()

	id := s.publish(map[string]any{"period": "2026-09"})
	c := s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	eventually(t, 60*time.Second, "the wait to continue as new", func() bool {
		d, err := s.temporal.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != id
	})
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, nil))
	require.Equal(t, billing.Completed, s.waitCycle(id, 60*time.Second).Status)
	first := history(t, s.temporal, c.WorkflowID, id)
	replayAndKeep(t, first, "billing_cycle_continued_first_run")
	next := first.Events[len(first.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	last := next
	for {
		h := history(t, s.temporal, c.WorkflowID, last)
		n := h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		if n == "" {
			break
		}
		last = n
	}
	s.keep(c.WorkflowID, last, "billing_cycle_continued_last_run")

	// Reset to the end of its first workflow task while it waits, then approved. (Usage of
	// another month, so updates wait again after the first cycle's push.)
	s.starter.ReminderEvery, s.starter.CycleMaxEvents = 0, 0
	for _, cl := range demo.BackupClients() {
		require.NoError(t, s.world.Backup.SetUsage(cl.ClientID, 2026, time.October, cl.UsageGB.Add(decimal.NewFromInt(7))))
	}
	id = s.publish(map[string]any{"period": "2026-10"})
	c = s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	var firstTask int64
	for _, e := range history(t, s.temporal, c.WorkflowID, id).Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			firstTask = e.GetEventId()
			break
		}
	}
	reset, err := s.temporal.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: temporalenv.Server(t).Namespace(), WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: c.WorkflowID, RunId: id},
		Reason: "recorded", WorkflowTaskFinishEventId: firstTask, RequestId: uuid.NewString(),
	})
	require.NoError(t, err)
	eventually(t, 30*time.Second, "the reset run to wait", func() bool {
		return s.historyHas(c.WorkflowID, reset.GetRunId(), enumspb.EVENT_TYPE_MARKER_RECORDED) &&
			s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, nil) == http.StatusOK
	})
	require.Equal(t, billing.Completed, s.waitCycle(id, 60*time.Second).Status)
	s.keep(c.WorkflowID, reset.GetRunId(), "billing_cycle_reset")
}
