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

// authenticate resolves the bearer token; every /api/v1 route needs one. An address that
// keeps sending unknown tokens is slowed down (429) before its lookups cost the database
// anything more.
func (s *server) authenticate(c *gin.Context) {
	ip := c.RemoteIP()
	if wait, blocked := s.failures.blocked(ip); blocked {
		fail(c, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many requests with unknown tokens from this address; wait and check the token", RetryAfter: wait})
		return
	}
	h := c.GetHeader("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="meterbridge"`)
		fail(c, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "send Authorization: Bearer <token>"})
		return
	}
	secret = strings.TrimSpace(secret)
	if len(secret) > maxTokenLen {
		s.failures.failed(ip)
		fail(c, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the token is unknown or revoked"})
		return
	}
	tok, err := s.store.LookupToken(c.Request.Context(), secret)
	if errors.Is(err, store.ErrNotFound) {
		s.failures.failed(ip)
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

// maxTokenLen bounds what is hashed and looked up; meterbridge's own tokens are 47
// characters and imported ones rarely longer than 100.
const maxTokenLen = 512

// failureLimiter counts failed token lookups per client address (the TCP peer, which a
// client cannot forge with X-Forwarded-For). Each address may fail failureBurst times at
// once, then once per failureEvery; requests from an address over its budget get 429
// without a lookup, so guessing tokens and flooding the database with lookups are both
// slow. Behind a reverse proxy every client shares the proxy's address: there the budget
// is the proxy's, which still bounds the database load.
type failureLimiter struct {
	mu    sync.Mutex
	burst int
	byIP  map[string]*failureEntry
	now   func() time.Time
}

type failureEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	defaultFailureBurst = 20
	failureEvery        = 2 * time.Second
	// maxFailureIPs bounds the table; idle entries (full buckets) are dropped first.
	maxFailureIPs = 10000
)

func newFailureLimiter(burst int) *failureLimiter {
	if burst <= 0 {
		burst = defaultFailureBurst
	}
	return &failureLimiter{burst: burst, byIP: map[string]*failureEntry{}, now: time.Now}
}

// blocked reports whether ip has used up its failures, and how long until it may try again.
func (l *failureLimiter) blocked(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byIP[ip]
	if !ok {
		return 0, false
	}
	tokens := e.lim.TokensAt(l.now())
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) * float64(failureEvery)), true
}

// failed records a failed lookup from ip.
func (l *failureLimiter) failed(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e, ok := l.byIP[ip]
	if !ok {
		if len(l.byIP) >= maxFailureIPs {
			l.prune(now)
		}
		e = &failureEntry{lim: rate.NewLimiter(rate.Every(failureEvery), l.burst)}
		l.byIP[ip] = e
	}
	e.seen = now
	e.lim.AllowN(now, 1)
}

// prune drops addresses whose budget has refilled; if that frees nothing, the oldest half.
func (l *failureLimiter) prune(now time.Time) {
	for ip, e := range l.byIP {
		if e.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.byIP, ip)
		}
	}
	if len(l.byIP) < maxFailureIPs {
		return
	}
	cutoff := now.Add(-failureEvery * time.Duration(l.burst) / 2)
	for ip, e := range l.byIP {
		if e.seen.Before(cutoff) {
			delete(l.byIP, ip)
		}
	}
	if len(l.byIP) >= maxFailureIPs {
		// Everyone is failing at once: forget them all rather than grow without bound.
		clear(l.byIP)
	}
}
