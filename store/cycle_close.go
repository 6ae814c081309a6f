package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
)

// Closing a cycle from outside its workflow. What it still held (pending and approved items,
// an automatic period claim) is let go in the same transaction that closes its record (see
// finishCycle), so no record reads as if it still waits and no claim blocks a month that was
// never published.

// CycleClose closes an open cycle's record from outside its workflow: the reconciler, after
// the workflow ended without recording (terminated, timed out, history limit), or a person
// cancelling a cycle whose workflow no longer runs.
type CycleClose struct {
	CycleID string
	Status  billing.Status // Failed or Cancelled
	Error   string
	// Severity, Actor and Action are the site-history row written with the close; Message
	// composes its text from the closed cycle (its final counts).
	Severity, Actor, Action string
	Message                 func(Cycle) string
}

// CloseOpenCycle closes the record of c.CycleID if it is still open, as FinishCycle does (the
// pending and approved items become abandoned with the reason, the period claim is given
// back), and writes the site-history row — one transaction. It reports false (and changes nothing) when the cycle was
// already closed, so two reconcilers never record or notify one cycle twice.
func (s *Store) CloseOpenCycle(ctx context.Context, c CycleClose) (Cycle, bool, error) {
	if c.Status != billing.Failed && c.Status != billing.Cancelled {
		return Cycle{}, false, fmt.Errorf("close cycle as %q: only failed or cancelled", c.Status)
	}
	var out Cycle
	closed := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := scanCycle(tx.QueryRow(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE id = $1 FOR UPDATE`, c.CycleID))
		if err != nil {
			return err
		}
		if cur.FinishedAt != nil {
			out = cur
			return nil
		}
		if out, err = finishCycle(ctx, tx, c.CycleID, c.Status, c.Error); err != nil {
			return err
		}
		closed = true
		if c.Message != nil {
			return insertNote(ctx, tx, Note{TenantID: out.TenantID, Severity: c.Severity, Actor: c.Actor, Action: c.Action, Message: c.Message(out),
				Details: map[string]any{"cycle_id": out.ID, "workflow_id": out.WorkflowID, "counts": out.Counts, "reason": c.Error}})
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return out, closed, err
}

// OpenCyclesStartedBefore returns up to limit open cycles of every tenant that started
// before t, oldest first: the reconciler's candidates.
func (s *Store) OpenCyclesStartedBefore(ctx context.Context, t time.Time, limit int) ([]Cycle, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE finished_at IS NULL AND started_at < $1
		ORDER BY started_at, id LIMIT $2`, t, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
}

// ItemRef is where one item stands: its cycle, its state, and whether the cycle is open.
type ItemRef struct {
	ID         int64
	CycleID    string
	WorkflowID string
	State      billing.ItemState
	CycleOpen  bool
}

// ItemRefs looks up items of a tenant by ID; IDs that are not the tenant's are missing from
// the result.
func (s *Store) ItemRefs(ctx context.Context, tenantID string, ids []int64) (map[int64]ItemRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT i.id, i.cycle_id::text, c.workflow_id, i.state, c.finished_at IS NULL
		FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
		WHERE i.tenant_id = $1 AND c.tenant_id = $1 AND i.id = ANY($2)`, tenantID, ids)
	if err != nil {
		return nil, err
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ItemRef, error) {
		var x ItemRef
		return x, r.Scan(&x.ID, &x.CycleID, &x.WorkflowID, &x.State, &x.CycleOpen)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]ItemRef, len(refs))
	for _, r := range refs {
		out[r.ID] = r
	}
	return out, nil
}
