package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/access"
)

const principalKey = "meterbridge.principal"

// principal is who is calling (see access.Principal).
type principal = access.Principal

// rank orders roles (see access.Rank).
func rank(role string) int { return access.Rank(role) }

// authenticate resolves the bearer token; every /api/v1 route needs one. The rules (failed
// look-ups per client address through the trusted proxies, the token's rate, recording its
// use) are access.Guard's, shared with the console.
func (s *server) authenticate(c *gin.Context) {
	ip := c.ClientIP()
	h := c.GetHeader("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="meterbridge"`)
		fail(c, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "send Authorization: Bearer <token>"})
		return
	}
	p, err := s.guard.Authenticate(c.Request.Context(), ip, secret)
	if err != nil {
		var ae *access.Error
		if errors.As(err, &ae) && ae.Kind == access.Unauthenticated {
			c.Header("WWW-Authenticate", `Bearer realm="meterbridge", error="invalid_token"`)
		}
		fail(c, err)
		return
	}
	c.Set(principalKey, p)
	if err := s.guard.Admit(p); err != nil {
		fail(c, err)
		return
	}
	if err := s.guard.Used(c.Request.Context(), p); err != nil {
		logger(c).Warn("token use not recorded", "token", p.TokenID, "err", err)
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
		if err := access.Require(caller(c), role); err != nil {
			fail(c, err)
			return
		}
		c.Next()
	}
}

// tenantScope guards every /tenants/{tenant} route with access.Guard.Scope: another tenant's
// tenant is 404 like one that does not exist, too small a role 403.
func (s *server) tenantScope(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := s.guard.Scope(c.Request.Context(), caller(c), c.Param("tenant"), role); err != nil {
			fail(c, err)
			return
		}
		c.Next()
	}
}
