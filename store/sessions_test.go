package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
)

func TestConsoleSessionEndsWhenIdleRevokedOrSignedOut(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	tok, _, err := s.CreateToken(ctx, store.Token{TenantID: "acme", Role: store.RoleApprover, OwnerEmail: "ann@acme.example"})
	require.NoError(t, err)
	idle := 20 * time.Minute
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	id, sess, err := s.CreateSession(ctx, tok.ID, t0, idle, "127.0.0.1", "test")
	require.NoError(t, err)
	require.Equal(t, "ann@acme.example", sess.Token.OwnerEmail)
	require.NotEmpty(t, sess.CSRFToken)
	var stored int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM console_sessions WHERE id_hash = convert_to($1, 'UTF8')`, id).Scan(&stored))
	require.Zero(t, stored, "the session ID is stored as it is")

	// Activity within 20 minutes keeps it alive and moves the idle clock.
	got, err := s.TouchSession(ctx, id, t0.Add(19*time.Minute), idle)
	require.NoError(t, err)
	require.Equal(t, sess.CSRFToken, got.CSRFToken)
	_, err = s.TouchSession(ctx, id, t0.Add(38*time.Minute), idle)
	require.NoError(t, err)

	// 20 minutes and a second without activity end it, for good.
	_, err = s.TouchSession(ctx, id, t0.Add(58*time.Minute+time.Second), idle)
	require.ErrorIs(t, err, store.ErrSessionExpired)
	_, err = s.TouchSession(ctx, id, t0.Add(58*time.Minute+2*time.Second), idle)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Signing out ends a session.
	id2, _, err := s.CreateSession(ctx, tok.ID, t0, idle, "", "")
	require.NoError(t, err)
	require.NoError(t, s.EndSession(ctx, id2))
	_, err = s.TouchSession(ctx, id2, t0, idle)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Revoking the token ends its sessions, and no new one opens.
	id3, _, err := s.CreateSession(ctx, tok.ID, t0, idle, "", "")
	require.NoError(t, err)
	_, err = s.RevokeToken(ctx, tok.ID)
	require.NoError(t, err)
	_, err = s.TouchSession(ctx, id3, t0.Add(time.Minute), idle)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.CreateSession(ctx, tok.ID, t0, idle, "", "")
	require.ErrorIs(t, err, store.ErrNotFound)
}
