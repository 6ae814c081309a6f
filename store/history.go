package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Severities of site history entries.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// ActorAutomatic is the actor of what schedules and workflows do on their own.
const ActorAutomatic = "automatic"

// HistoryEntry is one line of a tenant's site history.
type HistoryEntry struct {
	ID       int64           `json:"id"`
	TenantID string          `json:"tenant_id"`
	At       time.Time       `json:"at"`
	Severity string          `json:"severity"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Message  string          `json:"message"`
	Details  json.RawMessage `json:"details"`
}

// AddHistory appends an entry; details may be nil.
func (s *Store) AddHistory(ctx context.Context, tenantID, severity, actor, action, message string, details any) error {
	return insertHistory(ctx, s.pool, tenantID, severity, actor, action, message, details)
}

// ListHistory returns the newest entries first; limit 0 returns all.
func (s *Store) ListHistory(ctx context.Context, tenantID string, limit int) ([]HistoryEntry, error) {
	return s.FilterHistory(ctx, tenantID, HistoryFilter{Limit: limit})
}

// historyColumns are the columns of site_history in the order scanHistory reads them.
const historyColumns = `id, tenant_id, at, severity, actor, action, message, details`

func scanHistory(r pgx.Row) (HistoryEntry, error) {
	var h HistoryEntry
	var d []byte
	err := r.Scan(&h.ID, &h.TenantID, &h.At, &h.Severity, &h.Actor, &h.Action, &h.Message, &d)
	h.Details = d
	return h, err
}

// ClearHistory deletes a tenant's site history and returns how many entries went.
func (s *Store) ClearHistory(ctx context.Context, tenantID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM site_history WHERE tenant_id = $1`, tenantID)
	return tag.RowsAffected(), err
}
