package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// FindOrphanedCycles lists open cycles whose workflow has ended without recording them:
// terminated by an operator, timed out, stopped at Temporal's history limit, or gone. It
// looks at up to in.Limit open cycles that started at least in.MinAge ago, oldest first.
func (a *Activities) FindOrphanedCycles(ctx context.Context, in workflows.ReconcileInput) ([]billing.OrphanedCycle, error) {
	if a.Workflows == nil {
		return nil, temporal.NewNonRetryableApplicationError("the worker was built without a Temporal client for the reconciler", workflows.ErrNotConfigured, nil)
	}
	in = in.WithDefaults()
	open, err := a.Store.OpenCyclesStartedBefore(ctx, time.Now().Add(-in.MinAge), in.Limit)
	if err != nil {
		return nil, fmt.Errorf("list open cycles: %w", err)
	}
	var out []billing.OrphanedCycle
	for i, c := range open {
		activity.RecordHeartbeat(ctx, i)
		ended, how, err := a.Workflows.CycleWorkflowEnded(ctx, c.WorkflowID, c.ID)
		if err != nil {
			return nil, fmt.Errorf("look up the workflow of cycle %s (%s): %w", c.ID, c.WorkflowID, err)
		}
		if ended {
			out = append(out, billing.OrphanedCycle{CycleID: c.ID, TenantID: c.TenantID, WorkflowID: c.WorkflowID, Kind: c.Kind, Reason: how})
		}
	}
	return out, nil
}

// CloseOrphanedCycle records an orphaned cycle as failed with the reason, lets go of what it
// held (its pending and approved items, its period claim when nothing was published) and
// writes the site history, in one transaction. It reports whether this call closed it (false
// when another reconciler, or the cycle itself, got there first), so the caller notifies once.
func (a *Activities) CloseOrphanedCycle(ctx context.Context, o billing.OrphanedCycle) (bool, error) {
	why := o.Reason
	_, closed, err := a.Store.CloseOpenCycle(ctx, store.CycleClose{
		CycleID: o.CycleID, Status: billing.Failed, Error: why,
		Severity: store.SeverityError, Actor: store.ActorAutomatic, Action: string(o.Kind) + "." + string(billing.Failed),
		Message: func(c store.Cycle) string { return endWords(c, why) },
	})
	if err != nil {
		return false, cycleError("close cycle "+o.CycleID, err)
	}
	if closed {
		a.log().Warn("cycle closed by the reconciler", "tenant", o.TenantID, "cycle", o.CycleID, "workflow", o.WorkflowID, "reason", why)
	}
	return closed, nil
}
