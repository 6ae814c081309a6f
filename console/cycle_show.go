package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// showCycle shows one cycle and each client's or account's outcome.
func (c *Console) showCycle(g *gin.Context) {
	ctx := g.Request.Context()
	cy, err := c.Store.GetCycle(ctx, g.Param("tenant"), g.Param("cycle"))
	if err != nil {
		c.fail(g, err)
		return
	}
	items, err := c.Store.CycleItems(ctx, cy.TenantID, cy.ID)
	if err != nil {
		c.fail(g, err)
		return
	}
	p := c.newPage(g, titleWords(cycleWords(cy)), "publish")
	if cy.Kind == "licence_sync" {
		p.Nav = "licences"
	}
	p.Data = map[string]any{"Cycle": cy, "Items": items}
	c.render(g, http.StatusOK, "cycle", p)
}

func titleWords(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
