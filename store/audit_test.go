package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
)

// The admin audit trail is append-only for the application's own role: what it records
// cannot be rewritten or removed through the same connection that writes it.
func TestAdminAuditRowsCannotBeUpdatedOrDeleted(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	require.NoError(t, s.AddAdminAudit(ctx, "admin@msp.example", "token.created", "", "token created", map[string]any{"token_id": "t1"}))
	for _, stmt := range []string{
		`UPDATE admin_audit SET actor = 'someone-else@msp.example'`,
		`DELETE FROM admin_audit`,
		`TRUNCATE admin_audit`,
	} {
		_, err := s.Pool().Exec(ctx, stmt)
		var pe *pgconn.PgError
		require.ErrorAs(t, err, &pe, stmt)
		require.Equal(t, "42501", pe.Code, "%s: %v", stmt, err)
		require.Contains(t, pe.Message, "append-only")
	}
	entries, err := s.ListAdminAudit(ctx, 0)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "admin@msp.example", entries[0].Actor)
	require.NoError(t, s.AddAdminAudit(ctx, "admin@msp.example", "token.revoked", "", "token revoked", nil), "appending still works")
}
