package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
)

// Cycle is one publish or sync run.
type Cycle struct {
	ID         string          `json:"id"`
	TenantID   string          `json:"tenant_id"`
	Kind       billing.Kind    `json:"kind"`
	Period     billing.Period  `json:"period"`
	Mode       string          `json:"mode"`
	Trigger    billing.Trigger `json:"trigger"`
	StartedBy  string          `json:"started_by"`
	WorkflowID string          `json:"workflow_id"`
	// Clients lists the backup clients a publish of some clients covered; empty for the
	// period's publish of every client.
	Clients    []string       `json:"clients,omitempty"`
	Status     billing.Status `json:"status"`
	Phase      billing.Phase  `json:"phase"`
	Error      string         `json:"error,omitempty"`
	Counts     billing.Counts `json:"counts"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
}

// StartedByLabel is who started the cycle as people read it: an e-mail or "automatic".
func (c Cycle) StartedByLabel() string {
	if c.Trigger != billing.Manual || c.StartedBy == "" {
		return ActorAutomatic
	}
	return c.StartedBy
}

// CreateCycle inserts the cycle unless it exists (a retried activity) and returns the row;
// created is false when it existed.
func (s *Store) CreateCycle(ctx context.Context, c Cycle) (out Cycle, created bool, err error) {
	return s.CreateCycleWithNote(ctx, c, nil)
}

// Period claims. An automatic (scheduled or backfilled) cycle claims its (tenant, kind,
// period) before it changes anything, and a second automatic run that finds the claim ends
// as already published. A claim means "published, or being published" — never "tried once".
// What FinishCycle does with the claim, by how the cycle ended:
//
//   - completed: kept. The period is published (items applied, already right, or removed by
//     people).
//   - partial: kept. The period is published; the clients that failed alone are in the
//     notice and the history, for people to fix and publish by hand.
//   - failed before any write (credentials, vendor down, not configured): released, so the
//     next automatic run of the period publishes it.
//   - failed after some writes: released too. Writes are absolute and read back, and each
//     applied item is recorded; the next run reads the PSA again, finds those items already
//     holding their value (unchanged) and writes only the rest. Keeping the claim would
//     leave the month half published for good.
//   - cancelled (by a person, or recorded as failed by whatever closes a run from outside):
//     released, as failed — whatever was written stands and is recorded.
//   - superseded (licence cycles): kept. The changes it waited on moved to the newer refresh
//     that superseded it, and that cycle publishes them; running this period again would
//     only read today's counts a second time and supersede the cycle people now work on.
//     A superseded cycle ends completed (its superseded items are not failures).
//   - already published: the claim is another cycle's and is left alone.
//
// Any other end state releases the claim: only completed and partial keep it.
//
// A publish of some clients (publish now of a client added mid-month, Cycle.Clients) is
// manual and never claims: it publishes those clients, not the period. It runs under its
// own workflow ID, so the month's run starts beside it, and PeriodPublisher does not count
// it, so a schedule change still publishes the month.

// ClaimPeriod records that cycleID publishes (tenant, kind, period) automatically. It returns
// the ID of the cycle holding the claim: cycleID itself when the claim is new or already its
// own (a retried activity), another cycle's ID when that one got there first.
func (s *Store) ClaimPeriod(ctx context.Context, tenantID string, kind billing.Kind, period billing.Period, cycleID string) (string, error) {
	var holder string
	err := s.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO period_claims (tenant_id, kind, period, cycle_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, kind, period) DO NOTHING RETURNING cycle_id
		)
		SELECT cycle_id::text FROM ins
		UNION ALL
		SELECT cycle_id::text FROM period_claims WHERE tenant_id = $1 AND kind = $2 AND period = $3
		LIMIT 1`, tenantID, kind, period, cycleID).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another claim committed after this statement's snapshot was taken: the insert
		// found the conflict but the snapshot cannot see the row. A new statement can.
		err = s.pool.QueryRow(ctx, `SELECT cycle_id::text FROM period_claims WHERE tenant_id = $1 AND kind = $2 AND period = $3`,
			tenantID, kind, period).Scan(&holder)
	}
	return holder, err
}

// SetCycleStatus records where a running cycle stands; ErrNotFound when there is no such
// cycle (a finished one is left as it is).
func (s *Store) SetCycleStatus(ctx context.Context, id string, status billing.Status, phase billing.Phase) error {
	tag, err := s.pool.Exec(ctx, `UPDATE cycles SET status = $2, phase = $3 WHERE id = $1 AND finished_at IS NULL`, id, status, phase)
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	_, err = s.CycleByID(ctx, id)
	return err
}

// FinishCycle records how a cycle ended, with its final counts, and gives its period claim
// back unless it published the period (see "Period claims" above), in one transaction.
// Finishing twice keeps the first finish time.
func (s *Store) FinishCycle(ctx context.Context, id string, status billing.Status, errMsg string) (Cycle, error) {
	return s.FinishCycleWithNote(ctx, id, status, errMsg, nil)
}

// ClaimKeptWhen reports whether a cycle that ended in status keeps its period claim: only a
// completed or partial cycle published its period.
func ClaimKeptWhen(status billing.Status) bool {
	return status == billing.Completed || status == billing.Partial
}

// GetCycle reads one cycle of a tenant, with live counts while it runs.
func (s *Store) GetCycle(ctx context.Context, tenantID, id string) (Cycle, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Cycle{}, ErrNotFound
	}
	c, err := scanCycle(s.pool.QueryRow(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return c, err
	}
	if c.FinishedAt == nil {
		c.Counts, err = s.CycleCounts(ctx, id)
	}
	return c, err
}

// ListCycles returns a tenant's newest cycles first; limit 0 returns all.
func (s *Store) ListCycles(ctx context.Context, tenantID string, limit int) ([]Cycle, error) {
	q := `SELECT ` + cycleColumns + ` FROM cycles WHERE tenant_id = $1 ORDER BY started_at DESC, id`
	args := []any{tenantID}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	cycles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
	if err != nil {
		return nil, err
	}
	for i := range cycles {
		if cycles[i].FinishedAt == nil {
			if cycles[i].Counts, err = s.CycleCounts(ctx, cycles[i].ID); err != nil {
				return nil, err
			}
		}
	}
	return cycles, nil
}

// OpenCycles returns a tenant's cycles that have not finished, oldest first.
func (s *Store) OpenCycles(ctx context.Context, tenantID string) ([]Cycle, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE tenant_id = $1 AND finished_at IS NULL ORDER BY started_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
}

// CycleCounts tallies a cycle's items by state.
func (s *Store) CycleCounts(ctx context.Context, cycleID string) (billing.Counts, error) {
	return cycleCounts(ctx, s.pool, cycleID)
}

const cycleColumns = `id::text, tenant_id, kind, period, mode, trigger, started_by, workflow_id, status, phase, error, counts, started_at, finished_at, clients`

func scanCycle(row pgx.Row) (Cycle, error) {
	var c Cycle
	var counts []byte
	err := row.Scan(&c.ID, &c.TenantID, &c.Kind, &c.Period, &c.Mode, &c.Trigger, &c.StartedBy, &c.WorkflowID,
		&c.Status, &c.Phase, &c.Error, &counts, &c.StartedAt, &c.FinishedAt, &c.Clients)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(counts, &c.Counts)
}

// CycleByID reads a cycle by its ID alone, for activities that hold only the ID.
func (s *Store) CycleByID(ctx context.Context, id string) (Cycle, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Cycle{}, ErrNotFound
	}
	return scanCycle(s.pool.QueryRow(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE id = $1`, id))
}
