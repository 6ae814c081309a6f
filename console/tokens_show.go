package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// showAllTokens lists every token (admins), with the form to create one.
func (c *Console) showAllTokens(g *gin.Context) {
	c.tokensPage(g, c.newPage(g, "API tokens", "tokens"), http.StatusOK, "")
}

// showTenantTokens lists the tenant's tokens: approvers see who else holds access, admins
// also create and revoke them.
func (c *Console) showTenantTokens(g *gin.Context) {
	c.tokensPage(g, c.newPage(g, "Tokens", "tokens"), http.StatusOK, g.Param("tenant"))
}

func (c *Console) tokensPage(g *gin.Context, p *page, status int, tenantID string) {
	toks, err := c.Store.ListTokens(g.Request.Context(), tenantID)
	if err != nil {
		c.fail(g, err)
		return
	}
	data := map[string]any{"Tokens": toks}
	if tenantID == "" {
		tenants, err := c.Store.ListTenants(g.Request.Context())
		if err != nil {
			c.fail(g, err)
			return
		}
		data["Tenants"] = tenants
	}
	if p.Data != nil {
		data["Created"] = p.Data
	}
	p.Data = data
	c.render(g, status, "tokens", p)
}

// createdToken is the one page that shows a token's secret.
type createdToken struct {
	Token  store.Token
	Secret string
}
