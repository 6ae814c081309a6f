package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// home sends a signed-in person to their tenant (an admin to the tenant list) and anyone
// else to the sign-in form.
func (c *Console) home(g *gin.Context) {
	ck, err := g.Request.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		g.Redirect(http.StatusSeeOther, "/signin")
		return
	}
	c.requireSession(g)
	if g.IsAborted() {
		return
	}
	g.Redirect(http.StatusSeeOther, landing(principal(g)))
}

// showSignIn shows the sign-in form.
func (c *Console) showSignIn(g *gin.Context) {
	p := c.newPage(g, "Sign in", "")
	p.Form.Set("next", safeNext(g.Query("next")))
	switch g.Query("reason") {
	case "expired":
		p.FormError = "You were signed out after 20 minutes without activity. Sign in again to continue."
	case "ended":
		p.FormError = "Your session has ended (signed out, or its token was revoked). Sign in again to continue."
	case "signedout":
		p.Flash = &flash{Kind: "ok", Message: "You are signed out."}
	}
	c.render(g, http.StatusOK, "signin", p)
}
