package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/billing"
)

// SupersedeOpenCycles marks the pending and approved items of the tenant's other open cycles
// of a kind as superseded by cycleID, and returns those cycles so the caller can tell them.
// Only cycles that started before cycleID and bill a period not later than its own are
// superseded: a refresh of a past period (a manual replay, a backfill) leaves the current
// period's open cycle alone, which would otherwise end "completed", keep its claim, and
// leave the current month unpublished for good. Approvals stay recorded on the superseded
// items (decided_by) so the newer cycle can carry an identical change's approval forward.
func (s *Store) SupersedeOpenCycles(ctx context.Context, tenantID string, kind billing.Kind, cycleID string) ([]Cycle, error) {
	var out []Cycle
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+cycleColumns+` FROM cycles
			WHERE tenant_id = $1 AND kind = $2 AND id <> $3 AND finished_at IS NULL
				AND started_at <= (SELECT started_at FROM cycles WHERE id = $3)
				AND meterbridge_period_start(period) <= (SELECT meterbridge_period_start(period) FROM cycles WHERE id = $3)
			ORDER BY started_at FOR UPDATE`, tenantID, kind, cycleID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
		if err != nil {
			return err
		}
		for _, c := range out {
			if _, err := tx.Exec(ctx, `UPDATE cycle_items SET state = 'superseded', superseded_by = $2,
					reason = 'superseded by a newer refresh'
				WHERE cycle_id = $1 AND state IN ('pending', 'approved')`, c.ID, cycleID); err != nil {
				return fmt.Errorf("supersede cycle %s: %w", c.ID, err)
			}
		}
		return nil
	})
	return out, err
}

// CarriedApproval is an earlier approval of the same change.
type CarriedApproval struct {
	Actor  string
	Period billing.Period
}

// CarriedApprovals finds, for the given account items, a person's approvals of identical changes
// (same target, old and new quantity) on the items that cycleID itself superseded when it
// began (SupersedeOpenCycles): only an approval that was still waiting to be synced when
// this refresh replaced it carries over. An approval superseded by an earlier refresh was
// either carried into that refresh's cycle already (and, if still waiting, is superseded
// again by this one) or was dropped there; it never reaches further, so a change approved
// in January cannot approve the same numbers in June. The key of the result is account ID
// + "\x00" + item.
func (s *Store) CarriedApprovals(ctx context.Context, tenantID, cycleID string, keys []ItemKey) (map[string]CarriedApproval, error) {
	out := map[string]CarriedApproval{}
	if len(keys) == 0 {
		return out, nil
	}
	if _, err := uuid.Parse(cycleID); err != nil {
		return nil, fmt.Errorf("cycle ID %q is not a UUID", cycleID)
	}
	accounts := make([]string, len(keys))
	items := make([]string, len(keys))
	targets := make([]string, len(keys))
	olds := make([]decimal.Decimal, len(keys))
	news := make([]decimal.Decimal, len(keys))
	for i, k := range keys {
		target, err := json.Marshal(k.Target)
		if err != nil {
			return nil, err
		}
		accounts[i], items[i], targets[i], olds[i], news[i] = k.AccountID, k.Item, string(target), k.Old, k.New
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT ON (k.account_id, k.item) k.account_id, k.item, i.decided_by, c.period
		FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::numeric[], $7::numeric[]) AS k(account_id, item, target, old_qty, new_qty)
		JOIN cycle_items i ON i.tenant_id = $1 AND i.superseded_by = $2 AND i.state = 'superseded'
			AND i.decided_by NOT IN ('', 'automatic', 'rule', 'deadline')
			AND i.account_id = k.account_id AND i.item = k.item AND i.target = k.target
			AND i.old_qty = k.old_qty AND i.new_qty = k.new_qty
		JOIN cycles c ON c.id = i.cycle_id
		ORDER BY k.account_id, k.item, i.decided_at DESC`, tenantID, cycleID, accounts, items, targets, olds, news)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var account, item string
		var ca CarriedApproval
		if err := rows.Scan(&account, &item, &ca.Actor, &ca.Period); err != nil {
			return nil, err
		}
		out[account+"\x00"+item] = ca
	}
	return out, rows.Err()
}

// ItemKey names one account item's change and where it goes.
type ItemKey struct {
	AccountID, Item string
	Target          ItemTarget
	Old, New        decimal.Decimal
}

// ApplyDeadline approves the pending items of a cycle that the rule allows and removes the
// rest, recording "deadline" as who decided. It returns how many of each.
func (s *Store) ApplyDeadline(ctx context.Context, cycleID string, policy billing.ApprovalPolicy) (approved, removed int, err error) {
	return s.ApplyDeadlineWithNote(ctx, cycleID, policy, nil)
}

func applyDeadline(ctx context.Context, tx pgx.Tx, cycleID string, policy billing.ApprovalPolicy) (approved, removed int, err error) {
	rows, err := tx.Query(ctx, `SELECT id, old_qty, new_qty FROM cycle_items WHERE cycle_id = $1 AND state = 'pending' FOR UPDATE`, cycleID)
	if err != nil {
		return 0, 0, err
	}
	type row struct {
		id       int64
		old, new decimal.NullDecimal
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.old, &x.new)
	})
	if err != nil {
		return 0, 0, err
	}
	var ok, no []int64
	for _, x := range all {
		if x.old.Valid && x.new.Valid && policy.WithinRule(x.old.Decimal, x.new.Decimal) {
			ok = append(ok, x.id)
		} else {
			no = append(no, x.id)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE cycle_items SET state = 'approved', decided_by = $2, decided_at = now(),
		reason = 'approved by the rule at the approval deadline' WHERE id = ANY($1)`, ok, billing.ActorDeadline); err != nil {
		return 0, 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE cycle_items SET state = 'rejected', decided_by = $2, decided_at = now(),
		reason = 'skipped: outside the approval rule when the deadline passed' WHERE id = ANY($1)`, no, billing.ActorDeadline); err != nil {
		return 0, 0, err
	}
	return len(ok), len(no), nil
}
