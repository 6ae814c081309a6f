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

// Note is a site-history row to write together with the change it records, in the change's
// transaction: the change and its row commit or fail together, so a retried activity never
// finds its change done and its row missing.
type Note struct {
	TenantID string
	Severity string
	Actor    string
	Action   string
	Message  string
	Details  any
	// Once, when set, keeps the row once per tenant and key: writing it again (a retried
	// activity whose transaction had committed) writes nothing.
	Once string
}

// AddNote writes one note on its own.
func (s *Store) AddNote(ctx context.Context, n Note) error {
	return insertNote(ctx, s.pool, n)
}

// insertNote writes a note on a pool or inside a transaction.
func insertNote(ctx context.Context, db execer, n Note) error {
	d := []byte("{}")
	if n.Details != nil {
		var err error
		if d, err = json.Marshal(n.Details); err != nil {
			return err
		}
	}
	var once *string
	if n.Once != "" {
		once = &n.Once
	}
	_, err := db.Exec(ctx, `INSERT INTO site_history (tenant_id, severity, actor, action, message, details, once_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, once_key) WHERE once_key IS NOT NULL DO NOTHING`,
		n.TenantID, n.Severity, n.Actor, n.Action, n.Message, d, once)
	return err
}
