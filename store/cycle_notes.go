package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
)

// The changes activities make to a cycle, each with its site-history row in the same
// transaction: either both are stored or neither, so an activity retried after a failure
// finds its change undone and writes both again, and one retried after its transaction
// committed (the worker died before Temporal heard back) finds the change done and writes
// no second row. A nil note writes none.

// CreateCycleWithNote is CreateCycle, writing note's row when this call created the cycle.
func (s *Store) CreateCycleWithNote(ctx context.Context, c Cycle, note func(Cycle) Note) (out Cycle, created bool, err error) {
	if _, err := uuid.Parse(c.ID); err != nil {
		return Cycle{}, false, fmt.Errorf("cycle ID %q is not a UUID", c.ID)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO cycles (id, tenant_id, kind, period, mode, trigger, started_by, workflow_id, status, phase, clients)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.TenantID, c.Kind, c.Period, c.Mode, c.Trigger, c.StartedBy, c.WorkflowID, billing.Running, billing.PhaseStarting, clientsColumn(c.Clients))
		if isForeignKeyViolation(err) {
			return fmt.Errorf("tenant %q: %w", c.TenantID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		created = tag.RowsAffected() == 1
		if out, err = scanCycle(tx.QueryRow(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE tenant_id = $1 AND id = $2`, c.TenantID, c.ID)); err != nil {
			return err
		}
		if created && note != nil {
			return insertNote(ctx, tx, note(out))
		}
		return nil
	})
	if err != nil {
		return Cycle{}, false, err
	}
	if out.FinishedAt == nil {
		out.Counts, err = s.CycleCounts(ctx, out.ID)
	}
	return out, created, err
}

// DecideItemsWithNote is DecideItems, writing note's row when the decision moved any item.
func (s *Store) DecideItemsWithNote(ctx context.Context, cycleID string, d billing.Decision, note func(c Cycle, moved int) Note) (moved int, err error) {
	state := billing.Rejected
	if d.Approve {
		state = billing.Approved
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE cycle_items SET state = $2, decided_by = $3, decided_at = now()
			WHERE cycle_id = $1 AND state = 'pending' AND ($4 OR id = ANY($5))`,
			cycleID, state, d.Actor, d.All, d.IDs)
		if err != nil {
			return err
		}
		moved = int(tag.RowsAffected())
		if moved == 0 || note == nil {
			return nil
		}
		c, err := scanCycle(tx.QueryRow(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE id = $1`, cycleID))
		if err != nil {
			return err
		}
		return insertNote(ctx, tx, note(c, moved))
	})
	return moved, err
}

// ApplyDeadlineWithNote is ApplyDeadline, writing note's row once per cycle: a cycle's
// deadline passes once.
func (s *Store) ApplyDeadlineWithNote(ctx context.Context, cycleID string, policy billing.ApprovalPolicy, note func(c Cycle, approved, removed int) Note) (approved, removed int, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if approved, removed, err = applyDeadline(ctx, tx, cycleID, policy); err != nil || note == nil {
			return err
		}
		c, err := scanCycle(tx.QueryRow(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE id = $1`, cycleID))
		if err != nil {
			return err
		}
		n := note(c, approved, removed)
		n.Once = "deadline/" + cycleID
		return insertNote(ctx, tx, n)
	})
	return approved, removed, err
}

// FinishCycleWithNote is FinishCycle (the outcome, and the period claim given back unless the
// cycle published the period), writing note's row when this call finished the cycle (a cycle
// finishes once; finishing it again keeps the first finish time and writes none).
func (s *Store) FinishCycleWithNote(ctx context.Context, id string, status billing.Status, errMsg string, note func(Cycle) Note) (Cycle, error) {
	var out Cycle
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var open bool
		if err := tx.QueryRow(ctx, `SELECT finished_at IS NULL FROM cycles WHERE id = $1 FOR UPDATE`, id).Scan(&open); err != nil {
			return cycleNotFound(id, err)
		}
		var err error
		if out, err = finishCycle(ctx, tx, id, status, errMsg); err != nil {
			return err
		}
		if !open || note == nil {
			return nil
		}
		return insertNote(ctx, tx, note(out))
	})
	return out, err
}

// finishCycle records a cycle's end inside tx (its row locked): a failed or cancelled cycle
// first lets go of the updates it still held — pending and approved items become abandoned,
// with the reason — then the final counts are stored, and the period claim is given back
// unless the cycle published the period. Abandoning waits for a push of one of those items
// that is under way (PushItem holds the item's row until its outcome is stored), so the
// record counts every write that reached the PSA, and a push that comes later finds the item
// abandoned and writes nothing.
func finishCycle(ctx context.Context, tx pgx.Tx, id string, status billing.Status, errMsg string) (Cycle, error) {
	if status == billing.Failed || status == billing.Cancelled {
		why := "not pushed: the cycle failed"
		if status == billing.Cancelled {
			why = "not pushed: the cycle was cancelled"
		}
		if errMsg != "" {
			why += " — " + errMsg
		}
		if _, err := tx.Exec(ctx, `UPDATE cycle_items SET state = 'abandoned', reason = $2
			WHERE cycle_id = $1 AND state IN ('pending', 'approved')`, id, why); err != nil {
			return Cycle{}, fmt.Errorf("abandon the updates of cycle %s: %w", id, err)
		}
	}
	counts, err := cycleCounts(ctx, tx, id)
	if err != nil {
		return Cycle{}, err
	}
	cj, _ := json.Marshal(counts)
	out, err := scanCycle(tx.QueryRow(ctx, `
		UPDATE cycles SET status = $2, phase = $3, error = $4, counts = $5, finished_at = COALESCE(finished_at, now())
		WHERE id = $1 RETURNING `+cycleColumns, id, status, billing.PhaseDone, errMsg, cj))
	if err != nil {
		return Cycle{}, err
	}
	if !ClaimKeptWhen(status) {
		// Only this cycle's own claim: an already-published duplicate holds none.
		if _, err := tx.Exec(ctx, `DELETE FROM period_claims WHERE cycle_id = $1`, id); err != nil {
			return Cycle{}, err
		}
	}
	return out, nil
}

func cycleNotFound(id string, err error) error {
	if err == pgx.ErrNoRows {
		return fmt.Errorf("cycle %s: %w", id, ErrNotFound)
	}
	return err
}

// cycleCounts is CycleCounts on a pool or in a transaction.
func cycleCounts(ctx context.Context, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, cycleID string) (billing.Counts, error) {
	var c billing.Counts
	rows, err := db.Query(ctx, `SELECT state, count(*) FROM cycle_items WHERE cycle_id = $1 GROUP BY state`, cycleID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var st billing.ItemState
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return c, err
		}
		c.Add(st, n)
	}
	return c, rows.Err()
}

// clientsColumn stores a cycle's clients: NULL for every client.
func clientsColumn(clients []string) []string {
	if len(clients) == 0 {
		return nil
	}
	return clients
}
