package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// signOut ends the session.
func (c *Console) signOut(g *gin.Context) {
	if id := g.GetString(sessionIDKey); id != "" {
		if err := c.Store.EndSession(g.Request.Context(), id); err != nil {
			c.fail(g, err)
			return
		}
	}
	c.clearCookie(g)
	g.Redirect(http.StatusSeeOther, "/signin?reason=signedout")
}
