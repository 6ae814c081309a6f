package console

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// PendingPageSize is how many pending updates one page of the grid shows.
const PendingPageSize = 100

// showPending shows the pending updates grid: account, what is counted, where it goes in the
// PSA, old, new and delta; zero-change rows only when asked for; a page at a time.
func (c *Console) showPending(g *gin.Context) {
	all := g.Query("all") == "1"
	pageNo, _ := strconv.Atoi(g.Query("page"))
	if pageNo < 1 {
		pageNo = 1
	}
	list, err := c.Store.PendingItemsPage(g.Request.Context(), g.Param("tenant"), all, (pageNo-1)*PendingPageSize, PendingPageSize)
	if err != nil {
		c.fail(g, err)
		return
	}
	open, err := c.Store.OpenCycles(g.Request.Context(), g.Param("tenant"))
	if err != nil {
		c.fail(g, err)
		return
	}
	cycles := map[string]store.Cycle{}
	for _, cy := range open {
		cycles[cy.ID] = cy
	}
	total := list.Pending
	if all {
		total += list.Unchanged
	}
	pages := (total + PendingPageSize - 1) / PendingPageSize
	p := c.newPage(g, "Pending updates", "pending")
	p.Data = pendingView{List: list, All: all, Page: pageNo, Pages: pages, First: (pageNo-1)*PendingPageSize + 1,
		Last: (pageNo-1)*PendingPageSize + len(list.Items), Total: total, Cycles: cycles, Back: g.Request.URL.RequestURI()}
	c.render(g, http.StatusOK, "pending", p)
}

type pendingView struct {
	List               store.PendingPage
	All                bool
	Page, Pages        int
	First, Last, Total int
	Cycles             map[string]store.Cycle
	Back               string
}

// PageLink is the address of another page of the grid.
func (v pendingView) PageLink(n int) string {
	s := "?page=" + strconv.Itoa(n)
	if v.All {
		s += "&all=1"
	}
	return s
}
