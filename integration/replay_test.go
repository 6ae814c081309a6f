package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/workflows"
)

// recordHistories is set (METERBRIDGE_RECORD_HISTORIES=1) to write the histories this test
// produces into workflows/testdata, where workflows' replay test reads them: a change to a
// workflow that would break runs recorded today then fails that test until it is guarded
// with workflow.GetVersion.
var recordHistories = os.Getenv("METERBRIDGE_RECORD_HISTORIES") == "1"

func history(t *testing.T, c client.Client, workflowID, runID string) *historypb.History {
	t.Helper()
	ctx := context.Background()
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	return h
}

func replayAndKeep(t *testing.T, h *historypb.History, name string) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.BillingCycle)
	r.RegisterWorkflow(workflows.ScheduledCycle)
	r.RegisterWorkflow(workflows.ReconcileCycles)
	require.NoError(t, r.ReplayWorkflowHistory(nil, h), "history %s does not replay on today's code", name)
	if recordHistories {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644))
	}
}

// Histories of real runs on the in-process server replay deterministically on the current
// code: a manual publish with approvals, a licence cycle waiting for its sync, and a
// scheduled run.
func TestRealHistoriesReplay(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()

	// A manual publish: one update approved, two removed.
	id := s.publish(nil)
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	items := s.items(id)
	require.Equal(t, 200, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": []int64{items[0].ID}}, nil))
	require.Equal(t, 200, s.call("POST", s.tp+"/pending/reject", s.approverToken, map[string]any{"all": true}, nil))
	c := s.waitCycle(id, 60*time.Second)
	require.NoError(t, s.temporal.GetWorkflow(ctx, c.WorkflowID, c.ID).Get(ctx, nil))
	replayAndKeep(t, history(t, s.temporal, c.WorkflowID, c.ID), "billing_cycle_manual")

	// A licence cycle: approve all, then sync.
	lic, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual, StartedBy: "ann@demo-msp.example"})
	require.NoError(t, err)
	s.waitStatus(lic.RunID, billing.AwaitingApproval, 30*time.Second)
	require.Equal(t, 200, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, nil))
	s.waitStatus(lic.RunID, billing.AwaitingSync, 30*time.Second)
	require.Equal(t, 200, s.call("POST", s.tp+"/publish", s.approverToken, map[string]any{"kind": "licence_sync"}, nil))
	s.waitCycle(lic.RunID, 60*time.Second)
	require.NoError(t, s.temporal.GetWorkflow(ctx, lic.WorkflowID, lic.RunID).Get(ctx, nil))
	replayAndKeep(t, history(t, s.temporal, lic.WorkflowID, lic.RunID), "billing_cycle_licence_sync")

	// A scheduled run.
	s.patchSettings(`{"settings": {"licences": {"refresh": {"enabled": true, "cadence": "daily", "hour": 4}}}}`)
	h := s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, workflows.ActionRefresh))
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}))
	var run client.ScheduleActionResult
	eventually(t, 30*time.Second, "the scheduled run", func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		run = d.Info.RecentActions[0]
		return true
	})
	exec := run.StartWorkflowResult
	require.NoError(t, s.temporal.GetWorkflow(ctx, exec.WorkflowID, exec.FirstExecutionRunID).Get(ctx, nil))
	replayAndKeep(t, history(t, s.temporal, exec.WorkflowID, exec.FirstExecutionRunID), "scheduled_cycle")
}
