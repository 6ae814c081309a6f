package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// dashboard answers the tenant's figures at a glance: pending, unmapped and error counts,
// last refresh and last sync times, the last sync's statistics (updated, already up to
// date, errors) and alerts. store.Dashboard documents how each figure is defined.
func (s *server) dashboard(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	d, err := s.store.GetDashboard(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}
