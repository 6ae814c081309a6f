package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// showTenants lets an admin pick the tenant to work on.
func (c *Console) showTenants(g *gin.Context) {
	tenants, err := c.Store.ListTenants(g.Request.Context())
	if err != nil {
		c.fail(g, err)
		return
	}
	p := c.newPage(g, "Tenants", "tenants")
	p.Data = tenants
	c.render(g, http.StatusOK, "tenants", p)
}
