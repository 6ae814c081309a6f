package console

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/store"
)

// createToken creates a token and shows its secret this once (the page is not stored by the
// browser, and the secret is nowhere else: the store keeps only its hash).
func (c *Console) createToken(g *gin.Context) {
	tenantID := g.Param("tenant")
	title := "API tokens"
	if tenantID != "" {
		title = "Tokens"
	}
	p := c.newPage(g, title, "tokens")
	v := posted(g, p)
	f, errs := form.ParseToken(v, tenantID)
	if !errs.OK() {
		p.Errors = errs
		c.tokensPage(g, p, http.StatusUnprocessableEntity, tenantID)
		return
	}
	tok, secret, err := c.Store.CreateToken(g.Request.Context(), store.Token{TenantID: f.TenantID, Role: f.Role, OwnerEmail: f.OwnerEmail,
		Name: f.Name, CreatedBy: principal(g).Email})
	if errors.Is(err, store.ErrNotFound) {
		p.Errors["tenant_id"] = "There is no tenant " + f.TenantID
		c.tokensPage(g, p, http.StatusUnprocessableEntity, tenantID)
		return
	}
	if err != nil {
		c.fail(g, err)
		return
	}
	details := map[string]any{"token_id": tok.ID, "token_role": tok.Role, "owner_email": tok.OwnerEmail, "name": tok.Name}
	msg := tok.Role + " token for " + tok.OwnerEmail + " created"
	c.adminAudit(g, "token.created", tok.TenantID, msg, details)
	if tok.TenantID != "" {
		c.auditTenant(g, tok.TenantID, "token.created", msg, details)
	}
	p.Form, p.Posted = nil, false
	p.Data = createdToken{Token: tok, Secret: secret}
	c.tokensPage(g, p, http.StatusCreated, tenantID)
}

// revokeToken revokes a token; its console sessions end with it.
func (c *Console) revokeToken(g *gin.Context) {
	back := "/tokens"
	if t := g.Param("tenant"); t != "" {
		back = "/tenants/" + t + "/tokens"
		// A tenant page revokes only that tenant's tokens.
		toks, err := c.Store.ListTokens(g.Request.Context(), t)
		if err != nil {
			c.fail(g, err)
			return
		}
		found := false
		for _, tk := range toks {
			found = found || tk.ID == g.Param("token")
		}
		if !found {
			c.NotFound(g)
			return
		}
	}
	tok, err := c.Store.RevokeToken(g.Request.Context(), g.Param("token"))
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	details := map[string]any{"token_id": tok.ID, "token_role": tok.Role, "owner_email": tok.OwnerEmail}
	msg := tok.Role + " token of " + tok.OwnerEmail + " revoked"
	c.adminAudit(g, "token.revoked", tok.TenantID, msg, details)
	if tok.TenantID != "" {
		c.auditTenant(g, tok.TenantID, "token.revoked", msg, details)
	}
	c.done(g, "ok", "The "+tok.Role+" token of "+tok.OwnerEmail+" is revoked; it and its console sessions no longer work.", back)
}
