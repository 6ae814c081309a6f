package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// showMappings lists the vendor accounts' items with their mapping status, filtered by
// mapped, unmapped and error, with the actions to map, remap and delete.
func (c *Console) showMappings(g *gin.Context) {
	f := store.AccountFilter{Status: g.Query("status"), Source: g.Query("source")}
	switch f.Status {
	case "", "unmapped", "ok", "error":
	default:
		f.Status = ""
	}
	switch f.Source {
	case "", store.RoleBackup, store.RoleLicenses:
	default:
		f.Source = ""
	}
	ctx := g.Request.Context()
	list, err := c.Store.ListAccounts(ctx, g.Param("tenant"), f)
	if err != nil {
		c.fail(g, err)
		return
	}
	mappings, err := c.Store.ListMappings(ctx, g.Param("tenant"), f.Source)
	if err != nil {
		c.fail(g, err)
		return
	}
	byID := map[string]store.Mapping{}
	for _, m := range mappings {
		byID[m.ID] = m
	}
	p := c.newPage(g, "Mappings", "mappings")
	p.Data = map[string]any{"List": list, "Mappings": byID, "Status": f.Status, "Source": f.Source}
	c.render(g, http.StatusOK, "mappings", p)
}
