package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// HistoryFilter narrows FilterHistory; its zero value keeps every entry.
type HistoryFilter struct {
	// Limit caps the entries returned; 0 returns all.
	Limit int
	// Severity keeps one severity ("info", "warning", "error"); empty keeps all.
	Severity string
}

// FilterHistory returns a tenant's site history, newest first. It is the one query of the
// history; ListHistory is FilterHistory with only a limit.
func (s *Store) FilterHistory(ctx context.Context, tenantID string, f HistoryFilter) ([]HistoryEntry, error) {
	q := `SELECT ` + historyColumns + ` FROM site_history
		WHERE tenant_id = $1 AND ($2 = '' OR severity = $2) ORDER BY at DESC, id DESC`
	args := []any{tenantID, f.Severity}
	if f.Limit > 0 {
		q += ` LIMIT $3`
		args = append(args, f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEntry, error) { return scanHistory(r) })
}

// ClearHistoryAs deletes a tenant's site history and, in the same transaction, writes the
// one entry that says who cleared it, when, and how many entries went. It returns that
// count and the new entry.
func (s *Store) ClearHistoryAs(ctx context.Context, tenantID, actor string, details map[string]any) (int64, HistoryEntry, error) {
	var n int64
	var h HistoryEntry
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Lock out concurrent writers of this tenant's history for the moment of the clear,
		// so the count is exactly what went.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, tenantID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM site_history WHERE tenant_id = $1`, tenantID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		d := map[string]any{"deleted": n}
		for k, v := range details {
			d[k] = v
		}
		if err := insertHistory(ctx, tx, tenantID, SeverityInfo, actor, "history.cleared",
			fmt.Sprintf("site history cleared by %s (%d entries deleted)", actor, n), d); err != nil {
			return err
		}
		h, err = scanHistory(tx.QueryRow(ctx, `SELECT `+historyColumns+` FROM site_history
			WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1`, tenantID))
		return err
	})
	return n, h, err
}
