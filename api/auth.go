package api

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/meterbridge/meterbridge/store"
)

const principalKey = "meterbridge.principal"

// principal is who is calling: the token's role, tenant and owner.
type principal struct {
	TokenID  string
	Role     string
	TenantID string // empty for admin tokens
	Email    string
}

func (p principal) isAdmin() bool { return p.Role == store.RoleAdmin }

// rank orders roles: each role may do what the ones below it may.
func rank(role string) int {
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

// authenticate resolves the bearer token; every /api/v1 route needs one.
func (s *server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="meterbridge"`)
		fail(c, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "send Authorization: Bearer <token>"})
		return
	}
	tok, err := s.store.LookupToken(c.Request.Context(), strings.TrimSpace(secret))
	if errors.Is(err, store.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="meterbridge", error="invalid_token"`)
		fail(c, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the token is unknown or revoked"})
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	p := principal{TokenID: tok.ID, Role: tok.Role, TenantID: tok.TenantID, Email: tok.OwnerEmail}
	c.Set(principalKey, p)
	if !s.limiter.allow(p.TokenID) {
		fail(c, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many requests for this token; slow down", RetryAfter: time.Second})
		return
	}
	c.Next()
}

func caller(c *gin.Context) principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(principal)
	return pr
}

// requireRole guards a route that is not scoped to a tenant (creating tenants, tokens).
func requireRole(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if rank(caller(c).Role) < rank(role) {
			fail(c, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "this needs a " + role + " token"})
			return
		}
		c.Next()
	}
}

// tenantScope guards every /tenants/{tenant} route: a token of another tenant gets the same
// 404 as a tenant that does not exist, so tokens cannot probe which tenants exist; a token of
// this tenant with too small a role gets 403.
func (s *server) tenantScope(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := caller(c)
		id := c.Param("tenant")
		if !p.isAdmin() && p.TenantID != id {
			fail(c, errNotFound("tenant"))
			return
		}
		if _, err := s.store.GetTenant(c.Request.Context(), id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				fail(c, errNotFound("tenant"))
				return
			}
			fail(c, err)
			return
		}
		if rank(p.Role) < rank(role) {
			fail(c, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "this needs a " + role + " token"})
			return
		}
		c.Next()
	}
}

// tokenLimiter gives each token its own request rate.
type tokenLimiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   int
	byToken map[string]*rate.Limiter
}

func newTokenLimiter(perSec float64) *tokenLimiter {
	burst := int(perSec * 2)
	if burst < 5 {
		burst = 5
	}
	return &tokenLimiter{perSec: perSec, burst: burst, byToken: map[string]*rate.Limiter{}}
}

func (l *tokenLimiter) allow(tokenID string) bool {
	l.mu.Lock()
	lim, ok := l.byToken[tokenID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.perSec), l.burst)
		l.byToken[tokenID] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}
