package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CheckRecord is the outcome of a connection test of stored credentials.
type CheckRecord struct {
	TenantID string
	Role     string
	// UpdatedAt is when the tested credentials were stored; the outcome is kept only while
	// they are still the stored ones.
	UpdatedAt time.Time
	OK        bool
	Message   string
	Actor     string
	Details   map[string]any
}

// RecordCheck keeps a connection test's outcome on the connection (the dashboard reads it)
// and writes a site-history row, info when it passed and warning when it failed, in one
// transaction. It neither touches the credentials nor moves their updated_at. It returns
// false, writing nothing, when the credentials changed after the test read them.
func (s *Store) RecordCheck(ctx context.Context, r CheckRecord) (bool, error) {
	var kept bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE connections SET checked_at = now(), check_ok = $4, check_message = $5
			WHERE tenant_id = $1 AND role = $2 AND updated_at = $3`, r.TenantID, r.Role, r.UpdatedAt, r.OK, r.Message)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		kept = true
		severity, verb := SeverityInfo, "passed"
		if !r.OK {
			severity, verb = SeverityWarning, "failed"
		}
		d := map[string]any{"role": r.Role, "ok": r.OK}
		for k, v := range r.Details {
			d[k] = v
		}
		return insertHistory(ctx, tx, r.TenantID, severity, r.Actor, "connection.tested",
			fmt.Sprintf("%s connection test %s: %s", r.Role, verb, r.Message), d)
	})
	return kept, err
}
