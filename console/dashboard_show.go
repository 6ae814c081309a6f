package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// showDashboard shows the tenant's figures at a glance (store.Dashboard defines them) and its
// accounts by mapping status.
func (c *Console) showDashboard(g *gin.Context) {
	ctx := g.Request.Context()
	id := g.Param("tenant")
	d, err := c.Store.GetDashboard(ctx, id)
	if err != nil {
		c.fail(g, err)
		return
	}
	accounts, err := c.Store.ListAccounts(ctx, id, store.AccountFilter{})
	if err != nil {
		c.fail(g, err)
		return
	}
	p := c.newPage(g, "Dashboard", "dashboard")
	p.Data = map[string]any{"D": d, "Accounts": accounts.Counts}
	c.render(g, http.StatusOK, "dashboard", p)
}
