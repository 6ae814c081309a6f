package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
)

// fakeCycle stands in for the activities: a few items per page and an in-memory state.
type fakeCycle struct {
	pages        []billing.RefreshResult
	pending      int
	approved     int
	decisions    []billing.Decision
	pushes       int
	finished     billing.FinishInput
	notices      []string
	alreadyBy    string
	refreshErr   error
	approvalMode string
	begin        billing.BeginResult
	deadlines    []billing.DeadlineInput
	// ruleApproves is how many pending items the deadline's rule approves.
	ruleApproves int
	refreshes    int
}

func (f *fakeCycle) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.BeginInput) (billing.BeginResult, error) {
		r := f.begin
		r.AlreadyPublishedBy, r.Mode, r.Approval = f.alreadyBy, "advanced", billing.ApprovalPolicy{Mode: f.approvalMode}
		return r, nil
	}, activity.RegisterOptions{Name: ActivityBeginCycle})
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.DeadlineInput) (billing.Counts, error) {
		f.deadlines = append(f.deadlines, in)
		f.approved += f.ruleApproves
		f.pending = 0
		return billing.Counts{Approved: f.approved}, nil
	}, activity.RegisterOptions{Name: ActivityApplyDeadline})
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.MarkInput) error { return nil }, activity.RegisterOptions{Name: ActivityMarkCycle})
	page := 0
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.RefreshInput) (billing.RefreshResult, error) {
		f.refreshes++
		if f.refreshErr != nil {
			return billing.RefreshResult{}, f.refreshErr
		}
		r := f.pages[page]
		page++
		f.pending += r.Counts.Pending
		f.approved += r.Counts.Approved
		return r, nil
	}, activity.RegisterOptions{Name: ActivityRefreshPage})
	decide := func(in billing.DecideInput) billing.DecideResult {
		if len(in.Decision.IDs) == 0 && !in.Decision.All {
			// A counts-only call (reloading the stored counts): nothing is decided.
			return billing.DecideResult{Counts: billing.Counts{Pending: f.pending, Approved: f.approved}}
		}
		f.decisions = append(f.decisions, in.Decision)
		n := len(in.Decision.IDs)
		if in.Decision.All || n > f.pending {
			n = f.pending
		}
		f.pending -= n
		if in.Decision.Approve {
			f.approved += n
		}
		already := 0
		if !in.Decision.All {
			already = len(in.Decision.IDs) - n
		}
		return billing.DecideResult{Changed: n, AlreadyDecided: already, Counts: billing.Counts{Pending: f.pending, Approved: f.approved}}
	}
	// Decide serves runs recorded before the cycle answered updates; DecideItems the others.
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.DecideInput) (billing.Counts, error) {
		return decide(in).Counts, nil
	}, activity.RegisterOptions{Name: ActivityDecide})
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.DecideInput) (billing.DecideResult, error) {
		return decide(in), nil
	}, activity.RegisterOptions{Name: ActivityDecideItems})
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.PushInput) (billing.PushResult, error) {
		f.pushes++
		n := min(f.approved, in.PageSize)
		f.approved -= n
		return billing.PushResult{Applied: n, Done: f.approved == 0}, nil
	}, activity.RegisterOptions{Name: ActivityPushPage})
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.FinishInput) (billing.FinishResult, error) {
		f.finished = in
		st := in.Status
		if st == "" {
			st = billing.Completed
		}
		return billing.FinishResult{Status: st}, nil
	}, activity.RegisterOptions{Name: ActivityFinishCycle})
	env.RegisterActivityWithOptions(func(_ context.Context, in billing.NotifyInput) error {
		f.notices = append(f.notices, in.Notice)
		return nil
	}, activity.RegisterOptions{Name: ActivityNotify})
}

func pageOf(pending, approved, unchanged int, next string) billing.RefreshResult {
	return billing.RefreshResult{Next: next, Items: pending + approved + unchanged,
		Counts: billing.Counts{Total: pending + approved + unchanged, Pending: pending, Approved: approved, Unchanged: unchanged}}
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BillingCycle)
	return env
}

var manualInput = CycleInput{TenantID: "acme", Kind: billing.UsagePublish, Period: "2026-11", Trigger: billing.Manual, StartedBy: "ann@example.com", PageSize: 2}

func TestCycleWaitsForApprovalThenPushesOncePerPage(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 0, 0, "p2"), pageOf(1, 0, 1, "")}}
	f.register(env)
	env.RegisterDelayedCallback(func() {
		res, err := env.QueryWorkflow(QueryProgress)
		require.NoError(t, err)
		var p Progress
		require.NoError(t, res.Get(&p))
		require.Equal(t, billing.PhaseApproval, p.Phase)
		require.Equal(t, 3, p.Counts.Pending)
		require.Equal(t, 0, f.pushes, "nothing may be pushed before approval")
		env.SignalWorkflow(SignalApprove, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 48*time.Hour)

	env.ExecuteWorkflow(BillingCycle, manualInput)

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res CycleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, billing.Completed, res.Status)
	require.Len(t, f.decisions, 1)
	require.Equal(t, 2, f.pushes, "3 approved items in pages of 2")
	require.Equal(t, []string{billing.NoticeFinished}, f.notices)
}

func TestCycleAppliesPartialDecisionsUntilNothingIsPending(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(3, 0, 0, "")}}
	f.register(env)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalApprove, billing.Decision{IDs: []int64{1}, Actor: "ann@example.com"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		res, _ := env.QueryWorkflow(QueryProgress)
		var p Progress
		require.NoError(t, res.Get(&p))
		require.Equal(t, billing.PhaseApproval, p.Phase, "two items still wait")
		env.SignalWorkflow(SignalReject, billing.Decision{IDs: []int64{2, 3}, Actor: "bob@example.com"})
	}, 2*time.Hour)

	env.ExecuteWorkflow(BillingCycle, manualInput)

	require.NoError(t, env.GetWorkflowError())
	require.Len(t, f.decisions, 2)
	require.True(t, f.decisions[0].Approve)
	require.False(t, f.decisions[1].Approve)
	require.Equal(t, 1, f.pushes)
}

func TestCycleWithoutPendingItemsNeverWaits(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{approvalMode: billing.ApproveAutomatic, pages: []billing.RefreshResult{pageOf(0, 2, 1, "")}}
	f.register(env)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	require.Empty(t, f.decisions)
	require.Equal(t, 1, f.pushes)
}

func TestDuplicateAutomaticCycleEndsAsAlreadyPublished(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{alreadyBy: "11111111-1111-1111-1111-111111111111"}
	f.register(env)
	in := manualInput
	in.Trigger = billing.Automatic
	env.ExecuteWorkflow(BillingCycle, in)
	require.NoError(t, env.GetWorkflowError())
	var res CycleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, billing.AlreadyPublished, res.Status)
	require.Equal(t, billing.AlreadyPublished, f.finished.Status)
	require.Zero(t, f.pushes)
}

func TestBadCredentialsFailTheCycleVisibly(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{refreshErr: temporal.NewNonRetryableApplicationError("connectwise GET /company/companies: credentials (HTTP 401)", ErrCredentials, errors.New("401"))}
	f.register(env)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError(), "a failed cycle is recorded, not crashed")
	var res CycleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, billing.Failed, res.Status)
	require.Contains(t, f.finished.Error, "credentials need attention")
	require.Equal(t, []string{billing.NoticeFinished}, f.notices, "the failure is notified")
}

// timerLog records every durable timer the workflow starts, with the workflow clock.
type timerLog struct {
	env    *testsuite.TestWorkflowEnvironment
	starts []time.Duration
}

func watchTimers(env *testsuite.TestWorkflowEnvironment) *timerLog {
	l := &timerLog{env: env}
	env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { l.starts = append(l.starts, d) })
	return l
}

func TestRemindersRepeatWhileUpdatesWaitThenStop(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 0, 0, "")}, begin: billing.BeginResult{ReminderHours: 24}}
	f.register(env)
	timers := watchTimers(env)
	env.RegisterDelayedCallback(func() {
		require.Equal(t, []string{billing.NoticeReminder, billing.NoticeReminder, billing.NoticeReminder}, f.notices, "a reminder each day for 3 days")
		env.SignalWorkflow(SignalApprove, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 80*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{billing.NoticeReminder, billing.NoticeReminder, billing.NoticeReminder, billing.NoticeFinished}, f.notices)
	require.Equal(t, []time.Duration{24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour}, timers.starts,
		"one reminder timer at a time, re-armed after it fires; the fourth is cancelled by the approval")
	require.Equal(t, 1, f.pushes)
}

func TestDeadlineHoldsAndAlertsOnce(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(1, 0, 0, "")},
		begin: billing.BeginResult{ReminderHours: 24, DeadlineHours: 48, DeadlineAction: billing.DeadlineHold}}
	f.register(env)
	env.RegisterDelayedCallback(func() {
		res, _ := env.QueryWorkflow(QueryProgress)
		var p Progress
		require.NoError(t, res.Get(&p))
		require.True(t, p.DeadlinePast)
		require.Equal(t, billing.PhaseApproval, p.Phase, "hold keeps waiting for a person")
		env.SignalWorkflow(SignalReject, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 100*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	require.Empty(t, f.deadlines, "hold approves nothing")
	deadlineAlerts := 0
	for _, n := range f.notices {
		if n == billing.NoticeDeadline {
			deadlineAlerts++
		}
	}
	require.Equal(t, 1, deadlineAlerts)
	require.Contains(t, f.notices, billing.NoticeReminder)
	require.Zero(t, f.pushes, "rejected: nothing to push")
}

func TestDeadlineAppliesTheRuleAndSkipsTheRest(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(3, 0, 0, "")}, ruleApproves: 2, approvalMode: billing.ApproveRule,
		begin: billing.BeginResult{DeadlineHours: 72, DeadlineAction: billing.DeadlineApplyRule}}
	f.register(env)
	timers := watchTimers(env)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, f.deadlines, 1)
	require.Equal(t, billing.DeadlineApplyRule, f.deadlines[0].Action)
	require.Equal(t, []time.Duration{72 * time.Hour}, timers.starts)
	require.Equal(t, 1, f.pushes, "what the rule approved is pushed without a person")
	require.Equal(t, []string{billing.NoticeDeadline, billing.NoticeFinished}, f.notices)
}

func TestLicenceCycleWaitsForTheSyncSignalAfterApproval(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 1, 0, "")}}
	f.register(env)
	in := manualInput
	in.Kind = billing.LicenceSync
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalApprove, billing.Decision{IDs: []int64{1}, Actor: "ann@example.com"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		require.Zero(t, f.pushes, "approved licence updates wait for the sync")
		env.SignalWorkflow(SignalSync, nil)
	}, 5*time.Hour)
	env.RegisterDelayedCallback(func() {
		require.Equal(t, 1, f.pushes, "sync pushed what was approved while one update still waits")
		res, _ := env.QueryWorkflow(QueryProgress)
		var p Progress
		require.NoError(t, res.Get(&p))
		require.Equal(t, billing.PhaseApproval, p.Phase)
		env.SignalWorkflow(SignalApprove, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 6*time.Hour)
	env.RegisterDelayedCallback(func() {
		res, _ := env.QueryWorkflow(QueryProgress)
		var p Progress
		require.NoError(t, res.Get(&p))
		require.Equal(t, billing.PhaseAwaitSync, p.Phase)
		env.SignalWorkflow(SignalSync, nil)
	}, 30*time.Hour)
	env.ExecuteWorkflow(BillingCycle, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 2, f.pushes)
}

func TestSupersededLicenceCycleFinishesWithoutPushing(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(1, 1, 0, "")}}
	f.register(env)
	in := manualInput
	in.Kind = billing.LicenceSync
	env.RegisterDelayedCallback(func() {
		// The newer cycle's BeginCycle already moved this cycle's items to superseded.
		f.pending, f.approved = 0, 0
		env.SignalWorkflow(SignalSupersede, billing.SupersedeInput{By: "newer", Period: "2026-11-24"})
	}, 20*time.Hour)
	env.ExecuteWorkflow(BillingCycle, in)
	require.NoError(t, env.GetWorkflowError())
	var res CycleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Zero(t, f.pushes)
	require.Contains(t, res.Error, "superseded")
}

// Cancelling a cycle in Temporal while it waits for people ends the wait and records the
// cycle as cancelled, instead of looping on cancelled timers.
func TestCancellingAWaitingCycleRecordsIt(t *testing.T) {
	for _, reminders := range []int{0, 24} {
		env := newEnv(t)
		f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 0, 0, "")}, begin: billing.BeginResult{ReminderHours: reminders, DeadlineHours: 72, DeadlineAction: billing.DeadlineHold}}
		f.register(env)
		env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Hour)
		env.ExecuteWorkflow(BillingCycle, manualInput)
		require.True(t, env.IsWorkflowCompleted())
		require.Equal(t, billing.Cancelled, f.finished.Status, "reminders every %d h", reminders)
		require.Contains(t, f.finished.Error, "cancelled")
		require.Zero(t, f.pushes)
	}
}

// Point 6 of issue 9: reminders are bounded. A cycle nobody decides for weeks sends at most
// billing.MaxReminders reminders, not one per interval forever.
func TestRemindersStopAfterTheBound(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(1, 0, 0, "")}, begin: billing.BeginResult{ReminderHours: 1}}
	f.register(env)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalReject, billing.Decision{All: true, Actor: "ann@example.com"})
	}, 200*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	require.NoError(t, env.GetWorkflowError())
	reminders := 0
	for _, n := range f.notices {
		if n == billing.NoticeReminder {
			reminders++
		}
	}
	require.Equal(t, 10, reminders, "ten reminders, then silence")
}

// Point 6 of issue 9: a long approval wait continues as new before its history grows large,
// and the next run carries the wait's state.
func TestLongApprovalWaitContinuesAsNew(t *testing.T) {
	env := newEnv(t)
	f := &fakeCycle{pages: []billing.RefreshResult{pageOf(2, 0, 0, "")}, begin: billing.BeginResult{ReminderHours: 24}}
	f.register(env)
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 50*time.Hour)
	env.ExecuteWorkflow(BillingCycle, manualInput)
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.True(t, workflow.IsContinueAsNewError(err), "%v", err)
	require.Zero(t, f.pushes)
	require.Empty(t, f.finished.Status, "a continuing cycle is not recorded as ended")

	var cont *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &cont))
	var next CycleInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next))
	require.NotNil(t, next.Resume, "the wait's state travels in the input")
	st := next.Resume
	require.Equal(t, 2, st.Progress.Counts.Pending)
	// The suggestion is looked at when the wait wakes next: the reminder at 72 h.
	require.Equal(t, 3, st.Progress.Reminders, "reminders at 24, 48 and 72 h")
	require.Equal(t, st.Progress.WaitingSince.Add(96*time.Hour), st.NextReminderAt)
	require.Equal(t, 24, st.Settings.ReminderHours)
	require.Equal(t, manualInput.Period, next.Period)
}
