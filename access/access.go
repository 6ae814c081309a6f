// Package access decides who is calling and what they may do. The JSON API and the console
// both use it, so a role or a tenant boundary is enforced by one piece of code whichever way
// a person comes in: tokens resolve to a Principal, Scope applies the tenant rule (another
// tenant's resources are "not found", too small a role is "forbidden"), and the limits slow
// down token guessing and over-eager callers.
package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/store"
)

// Principal is who is calling: the token's role, tenant and owner.
type Principal struct {
	TokenID  string
	Role     string
	TenantID string // empty for admin tokens
	Email    string
}

// IsAdmin reports an admin token, which reaches every tenant.
func (p Principal) IsAdmin() bool { return p.Role == store.RoleAdmin }

// Can reports whether the principal's role is at least role.
func (p Principal) Can(role string) bool { return Rank(p.Role) >= Rank(role) }

// Rank orders roles: each role may do what the ones below it may.
func Rank(role string) int {
	switch role {
	case store.RoleAdmin:
		return 3
	case store.RoleApprover:
		return 2
	case store.RoleViewer:
		return 1
	}
	return 0
}

// Kind says why access was refused.
type Kind int

// Kinds of refusal; callers map them to their own answers (HTTP status, page).
const (
	// Unauthenticated: no token, or an unknown or revoked one.
	Unauthenticated Kind = iota + 1
	// Forbidden: the caller's role is too small.
	Forbidden
	// NotFound: the tenant does not exist or is not the caller's.
	NotFound
	// RateLimited: too many requests; RetryAfter says when to try again.
	RateLimited
)

// Error is a refusal.
type Error struct {
	Kind       Kind
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// ErrUnknownToken is the refusal of an unknown or revoked token.
var ErrUnknownToken = &Error{Kind: Unauthenticated, Message: "the token is unknown or revoked"}

// Guard authenticates tokens and enforces roles, tenant scope and rate limits.
type Guard struct {
	store    *store.Store
	tokens   *tokenLimiter
	failures *failureLimiter
}

// NewGuard builds a guard: ratePerSec requests per second per token (burst twice that, at
// least 5), failureBurst failed token look-ups per client address before it is slowed down
// (0 for the default of 20).
func NewGuard(st *store.Store, ratePerSec float64, failureBurst int) *Guard {
	if ratePerSec <= 0 {
		ratePerSec = 20
	}
	return &Guard{store: st, tokens: newTokenLimiter(ratePerSec), failures: newFailureLimiter(failureBurst)}
}

// maxTokenLen bounds what is hashed and looked up; meterbridge's own tokens are 47
// characters and imported ones rarely longer than 100.
const maxTokenLen = 512

// Authenticate resolves a token secret sent from the client address ip (the TCP peer, or
// through trusted proxies the address they report). A valid token is never refused for
// what others sent from the same address; an unknown one counts against the address, and
// once its budget is used up is refused as RateLimited instead of Unauthenticated.
func (g *Guard) Authenticate(ctx context.Context, ip, secret string) (Principal, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return Principal{}, &Error{Kind: Unauthenticated, Message: "a token is required"}
	}
	if len(secret) > maxTokenLen {
		return Principal{}, g.Refuse(ip)
	}
	tok, err := g.store.LookupToken(ctx, secret)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, g.Refuse(ip)
	}
	if err != nil {
		return Principal{}, err
	}
	return PrincipalOf(tok), nil
}

// PrincipalOf is the principal a token makes.
func PrincipalOf(tok store.Token) Principal {
	return Principal{TokenID: tok.ID, Role: tok.Role, TenantID: tok.TenantID, Email: tok.OwnerEmail}
}

// CheckAddress refuses an address that has used up its failed look-ups. It is for
// attempts without a credential to look up; Authenticate never refuses a valid token.
func (g *Guard) CheckAddress(ip string) error {
	if wait, blocked := g.failures.blocked(ip); blocked {
		return &Error{Kind: RateLimited, RetryAfter: wait,
			Message: "too many attempts with unknown tokens from this address; wait and check the token"}
	}
	return nil
}

// Failed counts a failed attempt from ip that did not go through Authenticate (an unknown
// console session, say).
func (g *Guard) Failed(ip string) { g.failures.failed(ip) }

// Refuse counts a failed attempt from ip and returns its refusal: ErrUnknownToken, or
// RateLimited with the wait once the address has used up its budget.
func (g *Guard) Refuse(ip string) error {
	err := g.CheckAddress(ip)
	g.failures.failed(ip)
	if err != nil {
		return err
	}
	return ErrUnknownToken
}

// Used records that the principal's token was used, at most once a minute per token (and
// only after Admit let the request through, so refused requests write nothing).
func (g *Guard) Used(ctx context.Context, p Principal) error {
	if p.TokenID == "" || !g.tokens.touchDue(p.TokenID, time.Now()) {
		return nil
	}
	return g.store.TouchToken(ctx, p.TokenID)
}

// Admit counts one request against the principal's token rate.
func (g *Guard) Admit(p Principal) error {
	if !g.tokens.allow(p.TokenID) {
		return &Error{Kind: RateLimited, RetryAfter: time.Second, Message: "too many requests for this token; slow down"}
	}
	return nil
}

// Require refuses a principal whose role is below role (routes outside any tenant).
func Require(p Principal, role string) error {
	if !p.Can(role) {
		return &Error{Kind: Forbidden, Message: "this needs a " + role + " token"}
	}
	return nil
}

// Scope applies the tenant rule to a request for tenantID that needs role: a token of another
// tenant gets the same NotFound as a tenant that does not exist, so tokens cannot probe which
// tenants exist; a token of this tenant with too small a role is Forbidden.
func (g *Guard) Scope(ctx context.Context, p Principal, tenantID, role string) error {
	if !p.IsAdmin() && p.TenantID != tenantID {
		return &Error{Kind: NotFound, Message: "tenant not found"}
	}
	if _, err := g.store.GetTenant(ctx, tenantID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &Error{Kind: NotFound, Message: "tenant not found"}
		}
		return fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	return Require(p, role)
}

// AuditDetails adds who acted, and through which request, to a history row's details.
func (p Principal) AuditDetails(requestID string, details map[string]any) map[string]any {
	if details == nil {
		details = map[string]any{}
	}
	details["request_id"] = requestID
	if p.TokenID != "" {
		details["by_token"] = p.TokenID
		details["by_role"] = p.Role
		if p.TenantID != "" {
			details["by_tenant"] = p.TenantID
		}
	}
	return details
}
