package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
)

// updateResult collects one update's outcome in the test environment.
type updateResult struct {
	accepted bool
	rejected error
	done     bool
	value    any
	err      error
}

func (r *updateResult) callbacks() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnAccept:   func() { r.accepted = true },
		OnReject:   func(err error) { r.rejected = err },
		OnComplete: func(v any, err error) { r.done, r.value, r.err = true, v, err },
	}
}

// into decodes the update's result (a value in the test environment, payloads elsewhere).
func (r *updateResult) into(t *testing.T, out any) {
	t.Helper()
	require.True(t, r.done, "the update did not complete (rejected: %v)", r.rejected)
	require.NoError(t, r.err)
	if p, ok := r.value.(*commonpb.Payloads); ok {
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(p, out))
		return
	}
	raw, err := converter.GetDefaultDataConverter().ToPayloads(r.value)
	require.NoError(t, err)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(raw, out))
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func TestApproveUpdateAnswersWhatThisDecisionDid(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(3, 0, 0, "")}}
	f.register(env)
	var first, second updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u1", first.callbacks(), billing.Decision{IDs: []int64{1, 2}, Actor: "ann@example.com"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u2", second.callbacks(), billing.Decision{IDs: []int64{2, 3}, Actor: "bob@example.com"})
	}, 2*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())

	var a1, a2 DecisionAnswer
	first.into(t, &a1)
	second.into(t, &a2)
	require.Equal(t, DecisionAnswer{CycleID: a1.CycleID, Decided: 2, Counts: billing.Counts{Pending: 1, Approved: 2}}, a1)
	require.Equal(t, 1, a2.Decided, "item 3 was pending")
	require.Equal(t, 1, a2.AlreadyDecided, "item 2 was approved by Ann")
	require.Equal(t, 2, f.pushes, "pushed once nothing was pending, in pages of 2")
	require.True(t, f.decisions[0].Approve && f.decisions[1].Approve)
}

// Two people decide the same items in the same instant: the cycle applies one decision after
// the other, so one answer has them and the other says they were already decided.
func TestRacingDecisionsAreAppliedOneAtATime(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(3, 0, 0, "")}}
	f.register(env)
	var approve, reject updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "a", approve.callbacks(), billing.Decision{IDs: []int64{1, 2, 3}, Actor: "ann@example.com"})
		env.UpdateWorkflow(UpdateReject, "r", reject.callbacks(), billing.Decision{IDs: []int64{1, 2, 3}, Actor: "bob@example.com"})
	}, time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	var a, r DecisionAnswer
	approve.into(t, &a)
	if reject.rejected != nil {
		// The approval ended the wait before the rejection was looked at: the cycle had moved on.
		require.Equal(t, ErrPastApproval, errType(reject.rejected))
	} else if reject.err != nil {
		require.Equal(t, ErrPastApproval, errType(reject.err))
	} else {
		reject.into(t, &r)
		require.Zero(t, r.Decided)
		require.Equal(t, 3, r.AlreadyDecided)
	}
	require.Equal(t, 3, a.Decided)
	require.Equal(t, 2, f.pushes, "3 approved in pages of 2")
}

func TestCancelUpdateStopsAWaitingCycleAndAnswersOnceRecorded(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 0, 0, "")}, begin: billing.BeginResult{ReminderHours: 24}}
	f.register(env)
	var cancel, late updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "c", cancel.callbacks(), CancelRequest{Actor: "ann@example.com", Reason: "wrong month"})
		env.UpdateWorkflow(UpdateApprove, "late", late.callbacks(), billing.Decision{All: true, Actor: "bob@example.com"})
	}, 30*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	var ans CancelAnswer
	cancel.into(t, &ans)
	require.Equal(t, billing.Cancelled, ans.Status)
	require.Equal(t, billing.Cancelled, f.finished.Status)
	require.Equal(t, "cancelled by ann@example.com: wrong month", f.finished.Error)
	require.Zero(t, f.pushes)
	require.Empty(t, f.decisions)
	require.Equal(t, ErrPastApproval, errType(late.rejected), "a decision after the cancel is refused")
	require.Equal(t, []string{billing.NoticeReminder, billing.NoticeFinished}, f.notices)
}

func TestSyncUpdateAnswersHowManyUpdatesItPushes(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(1, 2, 0, "")}}
	f.register(env)
	in := manualInput
	in.Kind = billing.LicenceSync
	var sync, syncAgain updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateSync, "s1", sync.callbacks(), SyncRequest{Actor: "ann@example.com"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateSync, "s2", syncAgain.callbacks(), SyncRequest{Actor: "ann@example.com"})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalReject, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 3*time.Hour)
	env.ExecuteWorkflow(BillingCycle, in)
	require.NoError(t, env.GetWorkflowError())
	var a1, a2 SyncAnswer
	sync.into(t, &a1)
	syncAgain.into(t, &a2)
	require.Equal(t, SyncAnswer{CycleID: a1.CycleID, Period: in.Period, Joined: true, Pushing: 2, Pending: 1}, a1)
	require.Zero(t, a2.Pushing, "nothing approved is left to push")
	require.Equal(t, 1, a2.Pending)
	require.Equal(t, 1, f.pushes)
}

func TestSyncUpdateIsRefusedByAUsagePublish(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(1, 0, 0, "")}}
	f.register(env)
	var sync updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateSync, "s", sync.callbacks(), SyncRequest{Actor: "ann@example.com"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalApprove, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 2*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, ErrBadRequest, errType(sync.rejected))
}

// A run recorded before the cycle answered updates refuses them with a type the starter
// recognises (it then sends the signal), and still serves the signals.
func TestRunsFromBeforeUpdatesRefuseThemAndTakeSignals(t *testing.T) {
	env := newEnv(t)
	env.OnGetVersion(changeAnsweredDecisions, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 0, 0, "")}}
	f.register(env)
	var approve updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u", approve.callbacks(), billing.Decision{All: true, Actor: "ann@example.com"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalApprove, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 2*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, ErrSignalsOnly, errType(approve.rejected))
	require.Equal(t, 1, f.pushes)
}

// The run after a continue-as-new waits on where the last one stopped: no new refresh, the
// same reminders count and times, and decisions still push.
func TestContinuedWaitCarriesOnWhereTheLastRunStopped(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pending: 2}
	f.register(env)
	timers := watchTimers(env)
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	in := manualInput
	in.Resume = &CycleState{
		Settings: billing.BeginResult{Mode: "advanced", ReminderHours: 24},
		Progress: Progress{CycleID: "11111111-2222-3333-4444-555555555555", Phase: billing.PhaseApproval, Status: billing.AwaitingApproval,
			Counts: billing.Counts{Total: 2, Pending: 2}, WaitingSince: start.Add(-50 * time.Hour), Reminders: 2, Run: 1},
		NextReminderAt: start.Add(22 * time.Hour),
	}
	var approve updateResult
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryProgress)
		require.NoError(t, err)
		var p Progress
		require.NoError(t, v.Get(&p))
		require.Equal(t, 2, p.Run)
		require.Equal(t, 3, p.Reminders)
		env.UpdateWorkflow(UpdateApprove, "u", approve.callbacks(), billing.Decision{All: true, Actor: "ann@example.com"})
	}, 30*time.Hour)
	env.ExecuteWorkflow(BillingCycle, in)
	require.NoError(t, env.GetWorkflowError())
	var a DecisionAnswer
	approve.into(t, &a)
	require.Equal(t, "11111111-2222-3333-4444-555555555555", a.CycleID, "the cycle keeps its ID across runs")
	require.Equal(t, 2, a.Decided)
	require.Equal(t, 22*time.Hour, timers.starts[0], "the next reminder stays where it was planned")
	require.Equal(t, []string{billing.NoticeReminder, billing.NoticeFinished}, f.notices)
	require.Equal(t, 1, f.pushes)
	require.Zero(t, f.refreshes, "a continued run does not refresh again")
}
