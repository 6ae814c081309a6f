package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/tenant"
)

// Token roles.
const (
	RoleAdmin    = "admin"
	RoleApprover = "approver"
	RoleViewer   = "viewer"
)

// Token is an API token without its secret.
type Token struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id,omitempty"`
	Role       string `json:"role"`
	OwnerEmail string `json:"owner_email"`
	Name       string `json:"name"`
	// TimeZone is the owner's IANA zone, when the token carries one: a metric the owner
	// creates without naming a zone takes it.
	TimeZone   string     `json:"time_zone,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// tokenPrefix makes meterbridge tokens recognisable to secret scanners and people.
const tokenPrefix = "mbt_"

// hashToken hashes a token secret. Tokens are 256 random bits, so a plain SHA-256 is enough:
// there is nothing to brute-force that a slow hash would protect.
func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes a token and returns it with its secret, which is shown this once.
func (s *Store) CreateToken(ctx context.Context, t Token) (Token, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	tok, err := s.insertToken(ctx, t, secret)
	return tok, secret, err
}

// ErrTokenRevoked means an imported secret belongs to a token that was revoked: it stays
// revoked (a restart with the same METERBRIDGE_ADMIN_TOKEN must not bring it back).
var ErrTokenRevoked = errors.New("this token was revoked; choose a new secret")

// ImportToken stores a token whose secret was chosen outside (the bootstrap admin token from
// the environment, the dev stack's demo tokens). Importing the same secret again is a no-op;
// importing a revoked one fails with ErrTokenRevoked.
func (s *Store) ImportToken(ctx context.Context, t Token, secret string) (Token, error) {
	if len(secret) < 24 {
		return Token{}, errors.New("token secret must be at least 24 characters")
	}
	existing, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE secret_hash = $1`, hashToken(secret)))
	switch {
	case err == nil && existing.RevokedAt != nil:
		return existing, ErrTokenRevoked
	case err == nil:
		return existing, nil
	case !errors.Is(err, ErrNotFound):
		return Token{}, err
	}
	return s.insertToken(ctx, t, secret)
}

// ValidateToken checks what a new token may be: a known role, a tenant exactly for approver
// and viewer tokens, and bounded owner and name. Callers check the e-mail's syntax.
func ValidateToken(t Token) error {
	switch t.Role {
	case RoleAdmin:
		if t.TenantID != "" {
			return errors.New("an admin token belongs to no tenant")
		}
	case RoleApprover, RoleViewer:
		if t.TenantID == "" {
			return errors.New("an approver or viewer token needs a tenant")
		}
	default:
		return fmt.Errorf("unknown role %q (admin, approver or viewer)", t.Role)
	}
	if t.OwnerEmail == "" || len(t.OwnerEmail) > 254 {
		return errors.New("owner e-mail is required (at most 254 characters)")
	}
	if len(t.Name) > 100 {
		return errors.New("name is longer than 100 characters")
	}
	if t.TimeZone != "" {
		if err := tenant.ValidateTimeZone("time_zone", t.TimeZone); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertToken(ctx context.Context, t Token, secret string) (Token, error) {
	if err := ValidateToken(t); err != nil {
		return Token{}, err
	}
	var tenantID *string
	if t.TenantID != "" {
		tenantID = &t.TenantID
	}
	row := s.pool.QueryRow(ctx, `
		INSERT INTO api_tokens (id, tenant_id, role, owner_email, name, secret_hash, created_by, time_zone)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+tokenColumns,
		uuid.NewString(), tenantID, t.Role, strings.ToLower(t.OwnerEmail), t.Name, hashToken(secret), t.CreatedBy, t.TimeZone)
	tok, err := scanToken(row)
	if isForeignKeyViolation(err) {
		return Token{}, fmt.Errorf("tenant %q: %w", t.TenantID, ErrNotFound)
	}
	return tok, err
}

// LookupToken finds the live (not revoked) token with this secret. It only reads; the
// caller records the use with TouchToken.
func (s *Store) LookupToken(ctx context.Context, secret string) (Token, error) {
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE secret_hash = $1 AND revoked_at IS NULL`, hashToken(secret)))
}

// TouchToken records that a token was used, unless that was recorded less than a minute ago
// (by this or another process).
func (s *Store) TouchToken(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, id)
	return err
}

// ListTokens lists tokens of one tenant, or every token when tenantID is empty.
func (s *Store) ListTokens(ctx context.Context, tenantID string) ([]Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE $1 = '' OR tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
}

// GetToken reads one token (revoked ones too), never its secret.
func (s *Store) GetToken(ctx context.Context, id string) (Token, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Token{}, ErrNotFound
	}
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
}

// RevokeToken revokes a token; revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, id string) (Token, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Token{}, ErrNotFound
	}
	tok, err := scanToken(s.pool.QueryRow(ctx, `
		UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING `+tokenColumns, id))
	if err != nil {
		return tok, err
	}
	// Its console sessions end with it (they are refused already; this tidies them away).
	_, err = s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE token_id = $1`, id)
	return tok, err
}

const tokenColumns = `id::text, COALESCE(tenant_id, ''), role, owner_email, name, created_at, created_by, last_used_at, revoked_at, time_zone`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.TenantID, &t.Role, &t.OwnerEmail, &t.Name, &t.CreatedAt, &t.CreatedBy, &t.LastUsedAt, &t.RevokedAt, &t.TimeZone)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}
