package store

import (
	"context"
	"encoding/json"
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
	rows, err := s.pool.Query(ctx, `SELECT `+prefixed("i.", itemColumns)+`, c.period, COALESCE(i.applied_at, c.finished_at)
		FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
		WHERE i.tenant_id = $1 AND c.kind = $2 AND i.state IN ('applied', 'failed')
		ORDER BY COALESCE(i.applied_at, c.finished_at) DESC NULLS LAST, i.id DESC LIMIT $3`, tenantID, billing.LicenceSync, limit+1)
	if err != nil {
		return nil, false, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SyncedItem, error) {
		var si SyncedItem
		var target []byte
		it := &si.Item
		err := r.Scan(&it.ID, &it.CycleID, &it.TenantID, &it.Seq, &it.AccountID, &it.AccountName, &it.Item, &it.MappingID, &target,
			&it.TargetLabel, &it.OldQty, &it.NewQty, &it.Delta, &it.State, &it.Reason, &it.DecidedBy, &it.DecidedAt,
			&it.AppliedQty, &it.AppliedAt, &it.PSAReference, &si.Period, &si.At)
		if err != nil {
			return si, err
		}
		return si, json.Unmarshal(target, &it.Target)
	})
	if err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
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
