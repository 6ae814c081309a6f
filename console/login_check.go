package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/console/form"
)

// checkSignIn signs in with an API token: the token is checked by access.Guard exactly as an
// API request's would be (unknown and revoked tokens refused, guessing slowed down per
// address), and a session is opened for it. The token travels only in the form's body,
// never in a URL, and is not kept: the session refers to the token's record.
func (c *Console) checkSignIn(g *gin.Context) {
	if err := g.Request.ParseForm(); err != nil {
		c.showError(g, http.StatusBadRequest, "Could not read the form", "The form could not be read. Reload the page and try again.")
		return
	}
	f, errs := form.ParseSignIn(g.Request.PostForm)
	p := c.newPage(g, "Sign in", "")
	p.Form.Set("next", safeNext(f.Next))
	if !errs.OK() {
		p.Errors = errs
		c.render(g, http.StatusUnprocessableEntity, "signin", p)
		return
	}
	pr, err := c.Guard.Authenticate(g.Request.Context(), g.ClientIP(), f.Token)
	if err != nil {
		if ae, ok := err.(*access.Error); ok && ae.Kind == access.Unauthenticated {
			p.Errors["token"] = "This token is unknown or has been revoked. Check that you pasted all of it."
			c.render(g, http.StatusUnauthorized, "signin", p)
			return
		}
		c.fail(g, err)
		return
	}
	id, _, err := c.Store.CreateSession(g.Request.Context(), pr.TokenID, c.Now(), IdleTimeout, g.ClientIP(), g.Request.UserAgent())
	if err != nil {
		c.fail(g, err)
		return
	}
	c.setCookie(g, id)
	to := safeNext(f.Next)
	if to == "" || to == "/" {
		to = landing(pr)
	}
	g.Redirect(http.StatusSeeOther, to)
}

// landing is where a person starts: their tenant's dashboard, or the tenant list for admins.
func landing(p access.Principal) string {
	if p.IsAdmin() {
		return "/tenants"
	}
	return "/tenants/" + p.TenantID
}
