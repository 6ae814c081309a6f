package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
)

// ListCyclesOfKind returns a tenant's newest cycles of one kind first, at most limit of them,
// and whether there are more.
func (s *Store) ListCyclesOfKind(ctx context.Context, tenantID string, kind billing.Kind, limit int) ([]Cycle, bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE tenant_id = $1 AND kind = $2
		ORDER BY started_at DESC, id LIMIT $3`, tenantID, kind, limit+1)
	if err != nil {
		return nil, false, err
	}
	cycles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
	if err != nil {
		return nil, false, err
	}
	more := len(cycles) > limit
	if more {
		cycles = cycles[:limit]
	}
	for i := range cycles {
		if cycles[i].FinishedAt == nil {
			if cycles[i].Counts, err = s.CycleCounts(ctx, cycles[i].ID); err != nil {
				return nil, false, err
			}
		}
	}
	return cycles, more, nil
}

// SyncedItem is one licence update that a sync wrote (or failed to write), for the sync
// history across cycles.
type SyncedItem struct {
	Item
	Period billing.Period `json:"period"`
	// At is when it was written, or when its cycle finished for a failure.
	At *time.Time `json:"at"`
}

// SyncHistory returns the licence updates syncs wrote or failed to write, newest first,
// across every cycle of the tenant: at most limit of them, and whether there are more.
func (s *Store) SyncHistory(ctx context.Context, tenantID string, limit int) ([]SyncedItem, bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT i.id, c.period, COALESCE(i.applied_at, c.finished_at)
		FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
		WHERE i.tenant_id = $1 AND c.kind = $2 AND i.state IN ('applied', 'failed')
		ORDER BY COALESCE(i.applied_at, c.finished_at) DESC NULLS LAST, i.id DESC LIMIT $3`, tenantID, billing.LicenceSync, limit+1)
	if err != nil {
		return nil, false, err
	}
	type ref struct {
		id     int64
		period billing.Period
		at     *time.Time
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ref, error) {
		var x ref
		return x, r.Scan(&x.id, &x.period, &x.at)
	})
	if err != nil {
		return nil, false, err
	}
	more := len(refs) > limit
	if more {
		refs = refs[:limit]
	}
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.id
	}
	// The items themselves through the one item scanner, so their columns stay in step.
	rows, err = s.pool.Query(ctx, `SELECT `+itemColumns+` FROM cycle_items WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, false, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanItem(r) })
	if err != nil {
		return nil, false, err
	}
	byID := make(map[int64]Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	out := make([]SyncedItem, 0, len(refs))
	for _, r := range refs {
		if it, ok := byID[r.id]; ok {
			out = append(out, SyncedItem{Item: it, Period: r.period, At: r.at})
		}
	}
	return out, more, nil
}

// prefixed qualifies each of a column list's columns with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
