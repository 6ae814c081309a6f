package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/billing"
)

// ReconcileInput tunes one reconciler pass.
type ReconcileInput struct {
	// MinAge skips cycles younger than this (default two minutes), so a cycle is never
	// judged while its first workflow task is still on its way.
	MinAge time.Duration `json:",omitempty"`
	// Limit bounds the open cycles looked at in one pass, oldest first (default 500); the
	// next pass takes the rest.
	Limit int `json:",omitempty"`
}

// WithDefaults fills the zero fields.
func (in ReconcileInput) WithDefaults() ReconcileInput {
	if in.MinAge <= 0 {
		in.MinAge = 2 * time.Minute
	}
	if in.Limit <= 0 {
		in.Limit = 500
	}
	return in
}

// ReconcileResult lists the cycles a pass closed.
type ReconcileResult struct {
	Closed []billing.OrphanedCycle
}

// ReconcileCycles closes the cycles whose workflow ended outside workflow code. A cycle's
// workflow records its own end — completed, failed, cancelled — but an operator terminating
// it, a run timeout or Temporal's history limit stop it before it can, leaving its record
// open, its items pending and its period claimed. A Temporal Schedule (ReconcileScheduleID)
// runs this every few minutes — one pass at a time however many workers run, visible and
// triggerable in the Web UI — and each orphan is recorded as failed with how its workflow
// ended, lets go of what it held, and its tenant's managers are told.
func ReconcileCycles(ctx workflow.Context, in ReconcileInput) (ReconcileResult, error) {
	var res ReconcileResult
	var found []billing.OrphanedCycle
	lookCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
	if err := workflow.ExecuteActivity(lookCtx, ActivityFindOrphanedCycles, in).Get(ctx, &found); err != nil {
		return res, err
	}
	var notices []workflow.Future
	for _, o := range found {
		var closed bool
		if err := workflow.ExecuteActivity(storeOptions(ctx), ActivityCloseOrphanedCycle, o).Get(ctx, &closed); err != nil {
			workflow.GetLogger(ctx).Error("orphaned cycle not closed", "cycle", o.CycleID, "error", err)
			continue
		}
		if !closed {
			continue
		}
		res.Closed = append(res.Closed, o)
		in := billing.NotifyInput{CycleID: o.CycleID, TenantID: o.TenantID, Notice: billing.NoticeFinished}
		notices = append(notices, workflow.ExecuteActivity(notifyOptions(ctx), ActivityNotify, in))
	}
	for i, f := range notices {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("notice about a closed cycle not sent", "cycle", res.Closed[i].CycleID, "error", err)
		}
	}
	return res, nil
}
