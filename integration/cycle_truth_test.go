package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// decisionAnswer is what POST …/pending/approve and …/reject answer.
type decisionAnswer struct {
	Decision       string `json:"decision"`
	Approved       int    `json:"approved"`
	Rejected       int    `json:"rejected"`
	AlreadyDecided int    `json:"already_decided"`
	Pending        int    `json:"pending"`
	Cycles         []struct {
		CycleID        string `json:"cycle_id"`
		WorkflowID     string `json:"workflow_id"`
		Outcome        string `json:"outcome"`
		Approved       int    `json:"approved"`
		Rejected       int    `json:"rejected"`
		AlreadyDecided int    `json:"already_decided"`
		Pending        int    `json:"pending"`
	} `json:"cycles"`
}

// cancelAnswer is what POST …/cycles/{cycle}/cancel answers.
type cancelAnswer struct {
	Outcome string `json:"outcome"`
	Cycle   struct {
		store.Cycle
		StartedBy string `json:"started_by"`
	} `json:"cycle"`
}

func (s *stack) pendingIDs(cycleID string) []int64 {
	s.t.Helper()
	var ids []int64
	for _, it := range s.items(cycleID) {
		if it.State == billing.Pending {
			ids = append(ids, it.ID)
		}
	}
	return ids
}

func (s *stack) historyHas(workflowID, runID string, typ enumspb.EventType) bool {
	s.t.Helper()
	for _, e := range history(s.t, s.temporal, workflowID, runID).Events {
		if e.GetEventType() == typ {
			return true
		}
	}
	return false
}

// Point 7 of issue 9: an operator resets a waiting cycle's workflow after a bad deploy (the
// new run has a new run ID). The cycle keeps its identity: the reset run addresses the same
// record, approving reaches it, and every quantity is pushed exactly once.
func TestResetWaitingCycleStillPushesOnceWhenApproved(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	id := s.publish(nil)
	c := s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)

	// Reset to the end of the first workflow task, as after a deploy that broke later steps.
	var firstTask int64
	for _, e := range history(t, s.temporal, c.WorkflowID, c.ID).Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			firstTask = e.GetEventId()
			break
		}
	}
	require.NotZero(t, firstTask)
	reset, err := s.temporal.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 temporalenv.Server(t).Namespace(),
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: c.WorkflowID, RunId: c.ID},
		Reason:                    "bad deploy",
		WorkflowTaskFinishEventId: firstTask,
		RequestId:                 uuid.NewString(),
	})
	require.NoError(t, err)
	require.NotEqual(t, c.ID, reset.GetRunId())

	// The reset run reads again and waits again — as the same cycle.
	eventually(t, 30*time.Second, "the reset run to wait for approval", func() bool {
		v, err := s.temporal.QueryWorkflow(ctx, c.WorkflowID, reset.GetRunId(), workflows.QueryProgress)
		if err != nil {
			return false
		}
		var p workflows.Progress
		require.NoError(t, v.Get(&p))
		require.Equal(t, c.ID, p.CycleID, "the reset run must keep the cycle's identity")
		return p.Phase == billing.PhaseApproval
	})

	var ans decisionAnswer
	var e errorAnswer
	code := s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, &ans)
	if code != http.StatusOK {
		s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, &e)
	}
	require.Equal(t, http.StatusOK, code, "approve after the reset: %+v", e)
	require.Equal(t, 3, ans.Approved)

	done := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Completed, done.Status, done.Error)
	require.Equal(t, 3, done.Counts.Applied)
	s.assertPublishedOnce()
}

// Point 4 of issue 9: an operator cancels a cycle in Temporal while a PSA write is in
// flight. The cycle is recorded only after the push activity stopped, and the record holds
// exactly what reached the PSA. People cannot cancel a pushing cycle through the API.
func TestCancellingDuringPushRecordsOnlyAfterThePushStopped(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	s.starter.HeartbeatTimeout = 2 * time.Second
	s.startWorker()
	ctx := context.Background()

	s.cwWrites.close()
	id := s.publish(nil)
	select {
	case <-s.cwWrites.held:
	case <-time.After(60 * time.Second):
		t.Fatal("no ConnectWise write arrived")
	}
	c, err := s.store.GetCycle(ctx, s.tenantID, id)
	require.NoError(t, err)

	var e errorAnswer
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/cycles/"+id+"/cancel", s.approverToken, nil, &e), "%+v", e)
	require.Equal(t, "cycle_not_cancellable", e.Error.Code)

	require.NoError(t, s.temporal.CancelWorkflow(ctx, c.WorkflowID, ""))
	eventually(t, 30*time.Second, "the run to ask its push to stop", func() bool {
		return s.historyHas(c.WorkflowID, "", enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
	})
	// Give the activity a few heartbeats to learn of the cancellation while its write is in
	// flight; it then finishes that write, records it and stops before the next item. (Had it
	// not learned yet, it would push the page to the end and record it: the checks below hold
	// either way.)
	time.Sleep(3 * s.starter.HeartbeatTimeout)
	s.cwWrites.open()
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range history(t, s.temporal, c.WorkflowID, "").Events {
				t.Logf("%d %s %v", e.GetEventId(), e.GetEventType(), e.GetEventTime().AsTime().Format("15:04:05.000"))
			}
		}
	})

	done := s.waitCycle(id, 60*time.Second)
	written := 0
	for _, cl := range demo.BackupClients() {
		written += s.world.ConnectWise.Writes(cwemu.Additions, cl.Target.AdditionID)
	}
	require.Positive(t, written, "the write in flight when the cancel came was not aborted")
	t.Logf("%d of 3 written before the push stopped", written)
	require.Equal(t, written, done.Counts.Applied, "the record holds every write the push made")
	require.Equal(t, billing.Status("cancelled"), done.Status, done.Error)
	require.Contains(t, done.Error, "cancelled")
	byAccount := map[string]store.Item{}
	for _, it := range s.items(id) {
		byAccount[it.AccountID] = it
	}
	for _, cl := range demo.BackupClients() {
		a, _ := s.world.ConnectWise.Addition(cl.Target.AgreementID, cl.Target.AdditionID)
		it := byAccount[cl.ClientID]
		if a.Writes > 0 {
			require.Equal(t, billing.Applied, it.State, "%s was written", cl.Name)
			require.True(t, a.Quantity.Equal(cl.UsageGB))
		} else {
			require.NotEqual(t, billing.Applied, it.State, "%s was not written", cl.Name)
			require.True(t, a.Quantity.Equal(cl.BilledGB), "%s unchanged", cl.Name)
		}
	}
	// Nothing writes after the record.
	require.NoError(t, s.temporal.GetWorkflow(ctx, c.WorkflowID, "").Get(ctx, nil))
	after := 0
	for _, cl := range demo.BackupClients() {
		after += s.world.ConnectWise.Writes(cwemu.Additions, cl.Target.AdditionID)
	}
	require.Equal(t, written, after)
}

// Point 4 of issue 9: people stop a waiting cycle through the API, without Temporal access.
// The answer says what happened; nothing is pushed; the items no longer wait; the managers
// are told; a second cancel is a conflict.
func TestCancellingAWaitingCycleThroughTheAPIRecordsIt(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	id := s.publish(nil)
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)

	var ans cancelAnswer
	var e errorAnswer
	code := s.call("POST", s.tp+"/cycles/"+id+"/cancel", s.approverToken, `{"reason": "wrong month"}`, &ans)
	if code != http.StatusOK {
		s.call("POST", s.tp+"/cycles/"+id+"/cancel", s.approverToken, `{"reason": "wrong month"}`, &e)
	}
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, "cancelled", ans.Outcome)
	require.Equal(t, billing.Status("cancelled"), ans.Cycle.Status)
	require.Equal(t, id, ans.Cycle.ID)

	c := s.waitCycle(id, 30*time.Second)
	require.Equal(t, billing.Status("cancelled"), c.Status)
	require.Contains(t, c.Error, "ann@demo-msp.example")
	require.Contains(t, c.Error, "wrong month")
	for _, it := range s.items(id) {
		require.Equal(t, billing.ItemState("abandoned"), it.State, "%s", it.AccountName)
	}
	var pending pendingAnswer
	s.call("GET", s.tp+"/pending", s.viewerToken, nil, &pending)
	require.Empty(t, pending.Pending)
	for _, cl := range demo.BackupClients() {
		require.Zero(t, s.world.ConnectWise.Writes(cwemu.Additions, cl.Target.AdditionID))
	}
	require.Contains(t, s.historyActions(), "usage_publish.cancelled")
	msgs, err := s.mail.WaitFor(context.Background(), 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Subject, "cancelled")

	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/cycles/"+id+"/cancel", s.approverToken, nil, &e))
	require.Equal(t, "cycle_not_cancellable", e.Error.Code)
}

// Point 4 of issue 9: an open licence cycle no longer blocks a PSA switch forever. The 409
// names the open cycles and how to cancel them; cancelling them lets the switch through.
func TestOpenLicenceCycleNoLongerBlocksAPSASwitch(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	var started struct {
		CycleID string `json:"cycle_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	s.waitStatus(started.CycleID, billing.AwaitingApproval, 30*time.Second)

	body := map[string]any{"kind": "autotask", "confirm_reset": true, "credentials": map[string]any{
		"zone_discovery_url": s.urls.Autotask + "/atservicesrest", "user_name": "api@example.com", "secret": "s3cret-s3cret", "integration_code": "CODE"}}
	var refused struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Cycles []struct {
					CycleID string `json:"cycle_id"`
					Cancel  string `json:"cancel"`
				} `json:"cycles"`
			} `json:"details"`
		} `json:"error"`
	}
	require.Equal(t, http.StatusConflict, s.call("PUT", s.tp+"/psa", s.adminToken, body, &refused))
	require.Equal(t, "cycles_open", refused.Error.Code)
	require.Len(t, refused.Error.Details.Cycles, 1)
	require.Equal(t, started.CycleID, refused.Error.Details.Cycles[0].CycleID)
	cancelPath := refused.Error.Details.Cycles[0].Cancel
	require.Equal(t, s.tp+"/cycles/"+started.CycleID+"/cancel", cancelPath)

	var e errorAnswer
	require.Equal(t, http.StatusOK, s.call("POST", cancelPath, s.approverToken, nil, &e), "%+v", e)
	var switched struct {
		Switched bool `json:"switched"`
	}
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken, body, &switched))
	require.True(t, switched.Switched)
}

// Point 6 of issue 9: a cycle whose workflow was terminated (or timed out, or hit the history
// limit) is found by the reconciler, recorded as failed with the reason, stops holding its
// items and its period claim, and the managers are told — once.
func TestTerminatedCycleIsRecordedAsFailedAndLetGo(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	req := starter.StartRequest{TenantID: s.tenantID, Kind: billing.UsagePublish, Trigger: billing.Automatic, Period: "2026-10"}
	first, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	s.waitStatus(first.RunID, billing.AwaitingApproval, 30*time.Second)
	require.NoError(t, s.temporal.TerminateWorkflow(ctx, first.WorkflowID, "", "bad deploy: stuck"))

	s.reconcile()
	c, err := s.store.GetCycle(ctx, s.tenantID, first.RunID)
	require.NoError(t, err)
	require.Equal(t, billing.Failed, c.Status)
	require.NotNil(t, c.FinishedAt)
	require.Contains(t, c.Error, "terminated")
	require.Contains(t, c.Error, "bad deploy: stuck")
	for _, it := range s.items(first.RunID) {
		require.Equal(t, billing.ItemState("abandoned"), it.State)
	}
	var claims int
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM period_claims WHERE cycle_id = $1`, first.RunID).Scan(&claims))
	require.Zero(t, claims, "a cycle that published nothing holds no claim")
	msgs, err := s.mail.WaitFor(ctx, 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Subject, "failed")
	require.Contains(t, msgs[0].Text, "bad deploy: stuck")

	// A second pass changes nothing and tells nobody again.
	s.reconcile()
	again, err := s.store.GetCycle(ctx, s.tenantID, first.RunID)
	require.NoError(t, err)
	require.Equal(t, c.FinishedAt, again.FinishedAt)
	require.Len(t, s.mail.Messages(), 1)

	// The month can be published automatically again.
	second, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	s.waitStatus(second.RunID, billing.AwaitingApproval, 30*time.Second)
}

// reconcile runs the reconciler once, as its schedule does, and waits for it.
func (s *stack) reconcile() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "reconcile-" + uuid.NewString(), TaskQueue: s.taskQueue},
		workflows.ReconcileCycles, workflows.ReconcileInput{MinAge: time.Nanosecond})
	require.NoError(s.t, err)
	require.NoError(s.t, run.Get(ctx, nil))
}

// Point 12 of issue 9: two approvers deciding the same updates at once get answers that add
// up — one decided them, the other learns they were already decided — and the items end as
// the winner said.
func TestTwoApproversRacingGetConsistentAnswers(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	var started struct {
		CycleID string `json:"cycle_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	s.waitStatus(started.CycleID, billing.AwaitingApproval, 30*time.Second)
	ids := s.pendingIDs(started.CycleID)
	require.Len(t, ids, 3)
	bob := s.token(store.Token{TenantID: s.tenantID, Role: store.RoleApprover, OwnerEmail: "bob@demo-msp.example"})

	race := func(verbA, verbB string) [2]decisionAnswer {
		var raw [2]json.RawMessage
		var codes [2]int
		var wg sync.WaitGroup
		for i, who := range []struct{ verb, token string }{{verbA, s.approverToken}, {verbB, bob}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = s.call("POST", s.tp+"/pending/"+who.verb, who.token, map[string]any{"ids": ids}, &raw[i])
			}()
		}
		wg.Wait()
		require.Equal(t, [2]int{http.StatusOK, http.StatusOK}, codes, "%s | %s", raw[0], raw[1])
		var out [2]decisionAnswer
		for i := range raw {
			require.NoError(t, json.Unmarshal(raw[i], &out[i]))
		}
		return out
	}

	// Two approvals of the same three updates: three approvals in all, and the other three
	// reported as already decided.
	got := race("approve", "approve")
	require.Equal(t, 3, got[0].Approved+got[1].Approved)
	require.Equal(t, 3, got[0].AlreadyDecided+got[1].AlreadyDecided)
	for _, a := range got {
		require.Equal(t, 3, a.Approved+a.AlreadyDecided)
		require.Zero(t, a.Rejected)
	}
	for _, it := range s.items(started.CycleID) {
		if it.State != billing.Unchanged {
			require.Equal(t, billing.Approved, it.State)
		}
	}
}

// Point 12 of issue 9: an approve and a reject of the same updates at once: exactly one of
// them decides each update, the other says the update was already decided, and the stored
// states are the winner's.
func TestApproveAndRejectRacingAgreeOnTheWinner(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	var started struct {
		CycleID string `json:"cycle_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	s.waitStatus(started.CycleID, billing.AwaitingApproval, 30*time.Second)
	ids := s.pendingIDs(started.CycleID)
	bob := s.token(store.Token{TenantID: s.tenantID, Role: store.RoleApprover, OwnerEmail: "bob@demo-msp.example"})

	var approveRaw, rejectRaw json.RawMessage
	var approveCode, rejectCode int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		approveCode = s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": ids}, &approveRaw)
	}()
	go func() {
		defer wg.Done()
		rejectCode = s.call("POST", s.tp+"/pending/reject", bob, map[string]any{"ids": ids}, &rejectRaw)
	}()
	wg.Wait()
	var approve, reject decisionAnswer
	require.NoError(t, json.Unmarshal(approveRaw, &approve), "%s", approveRaw)
	require.NoError(t, json.Unmarshal(rejectRaw, &reject), "%s", rejectRaw)
	states := map[billing.ItemState]int{}
	for _, it := range s.items(started.CycleID) {
		states[it.State]++
	}
	// The loser either learned the updates were already decided or, when the winner's
	// decision ended the cycle (all removed, nothing to push), that the cycle moved on.
	switch {
	case approveCode == http.StatusOK && approve.Approved == 3:
		require.Equal(t, 3, states[billing.Approved])
		require.Equal(t, http.StatusOK, rejectCode)
		require.Equal(t, 3, reject.AlreadyDecided)
		require.Zero(t, reject.Rejected)
	case rejectCode == http.StatusOK && reject.Rejected == 3:
		require.Equal(t, 3, states[billing.Rejected])
		if approveCode == http.StatusOK {
			require.Equal(t, 3, approve.AlreadyDecided)
			require.Zero(t, approve.Approved)
		} else {
			require.Equal(t, http.StatusConflict, approveCode)
		}
	default:
		t.Fatalf("no clear winner: approve %d %+v, reject %d %+v, states %v", approveCode, approve, rejectCode, reject, states)
	}
}

// Point 12 of issue 9: a decision needs a live worker. Without one the API answers 503 with
// Retry-After after its wait, says the decision was not confirmed, and nothing reaches the
// PSA; once a worker runs, deciding again finishes the cycle with every quantity written once.
func TestDecisionWithoutAWorkerAnswers503(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	id := s.publish(nil)
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	ids := s.pendingIDs(id)
	s.stopWorker()

	var e errorAnswer
	code := s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": ids}, &e)
	require.Equal(t, http.StatusServiceUnavailable, code, "%+v", e)
	require.Equal(t, "no_worker", e.Error.Code)
	require.Contains(t, e.Error.Message, "not confirmed")
	for _, cl := range demo.BackupClients() {
		require.Zero(t, s.world.ConnectWise.Writes(cwemu.Additions, cl.Target.AdditionID), "nothing may be written without a worker")
	}

	s.startWorker()
	// The unconfirmed decision may still reach the workflow now; deciding again is harmless.
	var ans decisionAnswer
	code = s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": ids}, &ans)
	if code == http.StatusOK {
		require.Equal(t, 3, ans.Approved+ans.AlreadyDecided)
	} else {
		require.Equal(t, http.StatusConflict, code, "the first decision finished the cycle meanwhile")
	}
	c := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	s.assertPublishedOnce()
}

// Point 12 of issue 9: approving updates of a cycle that has moved past approval is a 409
// that names the cycle, not a silent 202.
func TestDecidingAfterTheCycleMovedOnIsAConflict(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	id := s.publish(nil)
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	ids := s.pendingIDs(id)
	var ans decisionAnswer
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": ids}, &ans))
	require.Equal(t, 3, ans.Approved)
	require.Zero(t, ans.AlreadyDecided)
	require.Len(t, ans.Cycles, 1)
	require.Equal(t, id, ans.Cycles[0].CycleID)
	s.waitCycle(id, 60*time.Second)

	var e errorAnswer
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/pending/reject", s.approverToken, map[string]any{"ids": ids[:1]}, &e))
	require.Equal(t, "cycle_past_approval", e.Error.Code)
	require.Contains(t, e.Error.Message, id)
	s.assertPublishedOnce()
}

// syncAnswer is what "sync now" (POST …/publish {"kind": "licence_sync"}) answers.
type syncAnswer struct {
	CycleID    string `json:"cycle_id"`
	WorkflowID string `json:"workflow_id"`
	Period     string `json:"period"`
	Started    *bool  `json:"started"`
	Outcome    string `json:"outcome"`
	Pushing    int    `json:"pushing"`
	Pending    int    `json:"pending"`
}

// Point 12 of issue 9: "sync now" starts the licence cycle or joins the open one in one
// step (update-with-start), and says what it did: started, or pushing N approved updates.
func TestSyncNowStartsOrJoinsTheLicenceCycle(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	sync := func() (int, syncAnswer) {
		var a syncAnswer
		code := s.call("POST", s.tp+"/publish", s.approverToken, map[string]any{"kind": "licence_sync"}, &a)
		return code, a
	}
	code, first := sync()
	require.Equal(t, http.StatusOK, code, "the demo refresh answers within the wait")
	require.NotNil(t, first.Started)
	require.True(t, *first.Started)
	require.NotEmpty(t, first.CycleID)
	require.Equal(t, workflows.LicenceSyncID(s.tenantID, billing.Period(first.Period)), first.WorkflowID)
	s.waitStatus(first.CycleID, billing.AwaitingApproval, 30*time.Second)

	ids := s.pendingIDs(first.CycleID)
	require.Len(t, ids, 3)
	var ans decisionAnswer
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": ids[:2]}, &ans))
	require.Equal(t, 2, ans.Approved)
	require.Equal(t, 1, ans.Pending)

	code, second := sync()
	require.Equal(t, http.StatusOK, code)
	require.NotNil(t, second.Started)
	require.False(t, *second.Started, "the open cycle is joined, not doubled")
	require.Equal(t, first.CycleID, second.CycleID)
	require.Equal(t, 2, second.Pushing)
	require.Equal(t, 1, second.Pending)
	eventually(t, 30*time.Second, "the two approved updates applied", func() bool {
		n := 0
		for _, it := range s.items(first.CycleID) {
			if it.State == billing.Applied {
				n++
			}
		}
		return n == 2
	})
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/reject", s.approverToken, map[string]any{"ids": ids[2:]}, &ans))
	c := s.waitCycle(first.CycleID, 30*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 2, c.Counts.Applied)
	require.Equal(t, 1, c.Counts.Rejected)
}

// reminderSubjects counts the reminder e-mails received.
func (s *stack) reminderSubjects() int {
	n := 0
	for _, m := range s.mail.Messages() {
		if strings.Contains(m.Subject, "wait for approval") {
			n++
		}
	}
	return n
}

// Point 6 of issue 9 on the real server: a wait with many reminders continues as new before
// its history grows large (here at 60 events), more than once; the runs carry the wait — the
// same cycle, its reminders counted across runs and stopping at the bound — and an approval
// sent to the workflow ID reaches the current run and pushes every quantity once.
func TestLongApprovalWaitContinuesAsNewAndStillWorks(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"settings": {"publish": {"approval": {"reminder_hours": 24}}}}`)
	s.starter.ReminderEvery = 300 * time.Millisecond
	s.starter.CycleMaxEvents = 60
	s.startWorker()
	ctx := context.Background()
	id := s.publish(nil)
	c := s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)

	eventually(t, 60*time.Second, "all the reminders", func() bool { return s.reminderSubjects() >= billing.MaxReminders })
	d, err := s.temporal.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
	require.NoError(t, err)
	current := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	require.NotEqual(t, id, current, "the wait continued as new")
	require.Equal(t, id, d.GetWorkflowExecutionInfo().GetFirstRunId())
	v, err := s.temporal.QueryWorkflow(ctx, c.WorkflowID, "", workflows.QueryProgress)
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, v.Get(&p))
	require.Equal(t, id, p.CycleID)
	require.GreaterOrEqual(t, p.Run, 3, "continued as new more than once")
	require.Equal(t, billing.MaxReminders, p.Reminders)
	require.Equal(t, 3, p.Counts.Pending)
	// No run grew past the cap by more than one wake-up's events.
	for run := id; run != ""; {
		h := history(t, s.temporal, c.WorkflowID, run)
		require.Less(t, len(h.Events), 60+20, "run %s", run)
		last := h.Events[len(h.Events)-1]
		run = last.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}

	var ans decisionAnswer
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, &ans))
	require.Equal(t, 3, ans.Approved)
	done := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Completed, done.Status, done.Error)
	s.assertPublishedOnce()
	require.Equal(t, billing.MaxReminders, s.reminderSubjects(), "reminders stop at the bound")
}

// The reconciler runs from its own Temporal Schedule, one per deployment (task queue): the
// worker creates it at start (again harmlessly), it runs a pass every ReconcileEvery, one at
// a time, and triggering it in the Web UI runs a pass now.
func TestReconcilerScheduleRunsPasses(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	require.NoError(t, s.starter.EnsureReconcileSchedule(ctx))
	require.NoError(t, s.starter.EnsureReconcileSchedule(ctx), "a second worker start finds it there")
	h := s.temporal.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID(s.taskQueue))
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	require.Len(t, d.Schedule.Spec.Intervals, 1)
	require.Equal(t, starter.ReconcileEvery, d.Schedule.Spec.Intervals[0].Every)
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, s.taskQueue, action.TaskQueue)

	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var run client.ScheduleActionResult
	eventually(t, 30*time.Second, "the triggered pass", func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		run = d.Info.RecentActions[0]
		return true
	})
	var res workflows.ReconcileResult
	require.NoError(t, s.temporal.GetWorkflow(ctx, run.StartWorkflowResult.WorkflowID, run.StartWorkflowResult.FirstExecutionRunID).Get(ctx, &res))
	require.Empty(t, res.Closed)
}
