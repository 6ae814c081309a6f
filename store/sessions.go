package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session is a signed-in console session and the live token it speaks for.
type Session struct {
	// CSRFToken is the session's anti-forgery token, sent back with every form.
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	Token      Token
}

// ErrSessionExpired means the session existed but was idle too long; it has been deleted.
var ErrSessionExpired = errors.New("the session ended after a time without activity")

func hashSessionID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateSession opens a session for a live token at now and returns its ID (the cookie's
// value, 256 random bits, stored only as a SHA-256 hash) and the session. Sessions idle
// longer than idle are swept on the way.
func (s *Store) CreateSession(ctx context.Context, tokenID string, now time.Time, idle time.Duration, clientIP, userAgent string) (string, Session, error) {
	id, err := randomString()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomString()
	if err != nil {
		return "", Session{}, err
	}
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE last_seen_at < $1`, now.Add(-idle)); err != nil {
		return "", Session{}, err
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO console_sessions (id_hash, token_id, csrf_token, created_at, last_seen_at, client_ip, user_agent)
		SELECT $1, id, $3, $4, $4, $5, $6 FROM api_tokens WHERE id = $2 AND revoked_at IS NULL`,
		hashSessionID(id), tokenID, csrf, now, clientIP, userAgent)
	if err != nil {
		return "", Session{}, err
	}
	if tag.RowsAffected() == 0 {
		return "", Session{}, ErrNotFound
	}
	sess, err := s.sessionOf(ctx, hashSessionID(id))
	return id, sess, err
}

// TouchSession finds the session with this ID at now: ErrNotFound when there is none or its
// token is revoked, ErrSessionExpired (and the session deleted) when it was last used more
// than idle before now; otherwise its last use becomes now.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time, idle time.Duration) (Session, error) {
	h := hashSessionID(id)
	var sess Session
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var last time.Time
		err := tx.QueryRow(ctx, `SELECT s.last_seen_at FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id
			WHERE s.id_hash = $1 AND t.revoked_at IS NULL FOR UPDATE OF s`, h).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if now.Sub(last) > idle {
			if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, h); err != nil {
				return err
			}
			return ErrSessionExpired
		}
		if _, err := tx.Exec(ctx, `UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1`, h, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() FROM console_sessions s
			WHERE s.id_hash = $1 AND api_tokens.id = s.token_id`, h); err != nil {
			return err
		}
		sess, err = sessionOf(ctx, tx, h)
		return err
	})
	if errors.Is(err, ErrSessionExpired) {
		// The delete above was rolled back with the transaction; make it stick.
		_, derr := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, h)
		if derr != nil {
			return Session{}, derr
		}
	}
	return sess, err
}

// EndSession deletes a session (signing out); ending one that is gone is not an error.
func (s *Store) EndSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, hashSessionID(id))
	return err
}

func (s *Store) sessionOf(ctx context.Context, h []byte) (Session, error) {
	return sessionOf(ctx, s.pool, h)
}

func sessionOf(ctx context.Context, db rowQuerier, h []byte) (Session, error) {
	var sess Session
	t := &sess.Token
	err := db.QueryRow(ctx, `SELECT s.csrf_token, s.created_at, s.last_seen_at,
			t.id::text, COALESCE(t.tenant_id, ''), t.role, t.owner_email, t.name, t.created_at, t.created_by, t.last_used_at, t.revoked_at
		FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id WHERE s.id_hash = $1`, h).
		Scan(&sess.CSRFToken, &sess.CreatedAt, &sess.LastSeenAt,
			&t.ID, &t.TenantID, &t.Role, &t.OwnerEmail, &t.Name, &t.CreatedAt, &t.CreatedBy, &t.LastUsedAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sess, ErrNotFound
	}
	return sess, err
}
