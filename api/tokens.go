package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// API tokens are managed by admins. A token's secret is answered once, by POST, and stored
// only as a hash. Every creation and revocation is written to the admin audit trail (which
// tenants cannot clear) and, for a tenant's token, to that tenant's site history, so the
// tenant's people see who was given access.

type createTokenRequest struct {
	Role       string `json:"role" binding:"required,oneof=admin approver viewer"`
	TenantID   string `json:"tenant_id" binding:"omitempty,tenant_id"`
	OwnerEmail string `json:"owner_email" binding:"required,mailaddr"`
	Name       string `json:"name" binding:"max=100,single_line"`
	// TimeZone is the owner's IANA zone: metrics they create without a zone take it.
	TimeZone string `json:"time_zone" binding:"omitempty,iana_tz"`
}

// createdToken is the one answer that holds a token's secret.
type createdToken struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

func (s *server) createToken(c *gin.Context) {
	var req createTokenRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	switch {
	case req.Role == store.RoleAdmin && req.TenantID != "":
		fail(c, errInvalid("tenant_id", "must be empty for an admin token (admin tokens reach every tenant)"))
		return
	case req.Role != store.RoleAdmin && req.TenantID == "":
		fail(c, errInvalid("tenant_id", "is required for %s tokens", req.Role))
		return
	}
	if req.TenantID != "" {
		if _, err := s.store.GetTenant(c.Request.Context(), req.TenantID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				fail(c, errInvalid("tenant_id", "no tenant %q", req.TenantID))
				return
			}
			fail(c, err)
			return
		}
	}
	tok, secret, err := s.store.CreateToken(c.Request.Context(), store.Token{
		TenantID: req.TenantID, Role: req.Role, OwnerEmail: req.OwnerEmail, Name: req.Name, TimeZone: req.TimeZone, CreatedBy: caller(c).Email,
	})
	if err != nil {
		fail(c, err)
		return
	}
	details := map[string]any{"token_id": tok.ID, "token_role": tok.Role, "owner_email": tok.OwnerEmail, "name": tok.Name, "time_zone": tok.TimeZone}
	msg := tok.Role + " token for " + tok.OwnerEmail + " created"
	s.adminAudit(c, "token.created", tok.TenantID, msg, details)
	if tok.TenantID != "" {
		s.audit(c, tok.TenantID, "token.created", msg, details)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, createdToken{Token: tok, Secret: secret})
}

func (s *server) listTokens(c *gin.Context) {
	if err := rejectUnknownQuery(c, "tenant"); err != nil {
		fail(c, err)
		return
	}
	t := c.Query("tenant")
	if t != "" && !tenant.ValidID(t) {
		fail(c, errBadRequest("invalid_query", "tenant", "tenant must be a tenant ID"))
		return
	}
	s.answerTokens(c, t)
}

// listTenantTokens lets a tenant's approvers see who holds access to the tenant (without
// secrets): they approve money changes and should know who else can. Viewers cannot; only
// admins create or revoke.
func (s *server) listTenantTokens(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	s.answerTokens(c, c.Param("tenant"))
}

func (s *server) answerTokens(c *gin.Context, tenantID string) {
	toks, err := s.store.ListTokens(c.Request.Context(), tenantID)
	if err != nil {
		fail(c, err)
		return
	}
	if toks == nil {
		toks = []store.Token{}
	}
	c.JSON(http.StatusOK, gin.H{"tokens": toks})
}

func (s *server) revokeToken(c *gin.Context) {
	tok, err := s.store.RevokeToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			fail(c, errNotFound("token"))
			return
		}
		fail(c, err)
		return
	}
	details := map[string]any{"token_id": tok.ID, "token_role": tok.Role, "owner_email": tok.OwnerEmail}
	msg := tok.Role + " token of " + tok.OwnerEmail + " revoked"
	s.adminAudit(c, "token.revoked", tok.TenantID, msg, details)
	if tok.TenantID != "" {
		s.audit(c, tok.TenantID, "token.revoked", msg, details)
	}
	c.JSON(http.StatusOK, gin.H{"token": tok})
}
