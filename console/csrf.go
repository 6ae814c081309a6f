package console

import (
	"crypto/subtle"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Cross-site request forgery is refused twice over, on every request that changes state:
//
//  1. net/http's CrossOriginProtection refuses a request a browser marks as coming from
//     another origin (Sec-Fetch-Site, or Origin against Host when that header is missing).
//     It needs no state and also covers the sign-in form, which has no session yet.
//  2. Each session has its own random token, embedded in every form (and sent by htmx as
//     X-CSRF-Token); a state-changing request without it is refused. This holds where the
//     browser sends neither header, and against a page on a sibling port or subdomain
//     that the browser counts as same-site.
//
// The session cookie is also SameSite=Strict, so a browser does not send it with a request
// another site starts at all.

// refuseCrossOrigin is the first check.
func (c *Console) refuseCrossOrigin(g *gin.Context) {
	if err := c.csrf.Check(g.Request); err != nil {
		c.showError(g, http.StatusForbidden, "Request refused",
			"This form was sent from another site, so it was refused. Open meterbridge directly and try again.")
		return
	}
	g.Next()
}

// checkCSRFToken is the second check.
func (c *Console) checkCSRFToken(g *gin.Context) {
	want := session(g).CSRFToken
	got := g.GetHeader("X-CSRF-Token")
	if got == "" {
		got = g.PostForm("csrf")
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		c.showError(g, http.StatusForbidden, "Request refused",
			"This form is out of date or did not come from this console. Reload the page and try again.")
		return
	}
	g.Next()
}

// securityHeaders sets a strict Content-Security-Policy (scripts, styles and everything else
// only from this origin's files; no inline script or style, no frames, forms only here) and
// the usual hardening headers.
func securityHeaders(g *gin.Context) {
	h := g.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	g.Next()
}
