package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminAuditEntry is one change made with an admin token: a token created or revoked, a
// tenant created. Changes inside a tenant are in its site history.
type AdminAuditEntry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	TenantID string          `json:"tenant_id,omitempty"`
	Message  string          `json:"message"`
	Details  json.RawMessage `json:"details"`
}

// AddAdminAudit appends an entry to the admin audit trail; details may be nil.
func (s *Store) AddAdminAudit(ctx context.Context, actor, action, tenantID, message string, details any) error {
	d := []byte("{}")
	if details != nil {
		var err error
		if d, err = json.Marshal(details); err != nil {
			return err
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_audit (actor, action, tenant_id, message, details) VALUES ($1, $2, $3, $4, $5)`,
		actor, action, tenantID, message, d)
	return err
}

// ListAdminAudit returns the newest entries first; limit 0 returns all.
func (s *Store) ListAdminAudit(ctx context.Context, limit int) ([]AdminAuditEntry, error) {
	q := `SELECT id, at, actor, action, tenant_id, message, details FROM admin_audit ORDER BY at DESC, id DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT $1`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdminAuditEntry, error) {
		var e AdminAuditEntry
		var d []byte
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.TenantID, &e.Message, &d)
		e.Details = d
		return e, err
	})
}

// HistoryHasRequest reports whether the tenant's site history already holds an entry written
// for the request with this ID (handlers that write history inside their own transaction put
// "request_id" in its details).
func (s *Store) HistoryHasRequest(ctx context.Context, tenantID, requestID string) (bool, error) {
	if requestID == "" {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM site_history
		WHERE tenant_id = $1 AND at > now() - interval '1 hour' AND details->>'request_id' = $2)`, tenantID, requestID).Scan(&ok)
	return ok, err
}
