package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// PendingPage is one page of a tenant's pending updates (PendingItems in pages) and the
// counts of the whole list.
type PendingPage struct {
	Items []Item `json:"pending"`
	// Pending counts every item waiting for a decision; Unchanged the zero-change items
	// of the same open cycles (listed only when asked for).
	Pending   int `json:"pending_count"`
	Unchanged int `json:"unchanged_count"`
}

// PendingItemsPage returns up to limit of the items PendingItems lists, from offset on, in
// the same order, with the counts of the whole list.
func (s *Store) PendingItemsPage(ctx context.Context, tenantID string, includeUnchanged bool, offset, limit int) (PendingPage, error) {
	var out PendingPage
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE i.state = 'pending'), count(*) FILTER (WHERE i.state = 'unchanged')
			FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
			WHERE i.tenant_id = $1 AND i.state IN ('pending', 'unchanged') AND c.finished_at IS NULL`, tenantID).
			Scan(&out.Pending, &out.Unchanged); err != nil {
			return err
		}
		// The page's IDs first (an index-only walk in the grid's order), then their rows.
		rows, err := tx.Query(ctx, `SELECT `+prefixed("i.", itemColumns)+` FROM cycle_items i JOIN (
				SELECT w.id FROM cycle_items w JOIN cycles c ON c.id = w.cycle_id AND c.finished_at IS NULL
				WHERE w.tenant_id = $1 AND w.state IN ('pending', 'unchanged') AND (w.state = 'pending' OR $2)
				ORDER BY w.cycle_id, w.seq LIMIT $3 OFFSET $4) p ON p.id = i.id
			ORDER BY i.cycle_id, i.seq`, tenantID, includeUnchanged, limit, offset)
		if err != nil {
			return err
		}
		out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanItem(r) })
		return err
	})
	return out, err
}
