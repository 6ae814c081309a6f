package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/store"
)

// cookieName is the session cookie. Its value is 256 random bits; the server keeps only a
// hash (store.CreateSession).
const cookieName = "meterbridge_session"

const (
	principalKey = "console.principal"
	sessionKey   = "console.session"
	sessionIDKey = "console.session_id"
)

// requireSession finds the request's session. Without one (or with an ended one) a page
// request goes to the sign-in form, which brings the person back afterwards; an htmx request
// is told to reload into it. A session counts against its token's rate like an API request.
func (c *Console) requireSession(g *gin.Context) {
	ck, err := g.Request.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		c.toSignIn(g, "")
		return
	}
	// A live session is never refused for what others sent from the same address; an unknown
	// one counts against the address like an unknown token.
	ip := g.ClientIP()
	sess, err := c.Store.TouchSession(g.Request.Context(), ck.Value, c.Now(), IdleTimeout)
	switch {
	case errors.Is(err, store.ErrSessionExpired):
		c.clearCookie(g)
		c.toSignIn(g, "expired")
		return
	case errors.Is(err, store.ErrNotFound):
		// An unknown session ID costs its sender like an unknown token.
		if err := c.Guard.Refuse(ip); err != nil && !errors.Is(err, access.ErrUnknownToken) {
			c.fail(g, err)
			return
		}
		c.clearCookie(g)
		c.toSignIn(g, "ended")
		return
	case err != nil:
		c.fail(g, err)
		return
	}
	p := access.PrincipalOf(sess.Token)
	if err := c.Guard.Admit(p); err != nil {
		c.fail(g, err)
		return
	}
	_ = c.Guard.Used(g.Request.Context(), p) // a failed record of use does not refuse the page
	g.Set(principalKey, p)
	g.Set(sessionKey, sess)
	g.Set(sessionIDKey, ck.Value)
	g.Next()
}

func principal(g *gin.Context) access.Principal {
	v, _ := g.Get(principalKey)
	p, _ := v.(access.Principal)
	return p
}

func session(g *gin.Context) store.Session {
	v, _ := g.Get(sessionKey)
	s, _ := v.(store.Session)
	return s
}

// toSignIn sends the person to the sign-in form, remembering where they were going.
func (c *Console) toSignIn(g *gin.Context, reason string) {
	q := url.Values{}
	if g.Request.Method == http.MethodGet && g.GetHeader("HX-Request") == "" {
		q.Set("next", g.Request.URL.RequestURI())
	}
	if reason != "" {
		q.Set("reason", reason)
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if g.GetHeader("HX-Request") != "" {
		g.Header("HX-Redirect", target)
		g.AbortWithStatus(http.StatusUnauthorized)
		return
	}
	g.Redirect(http.StatusSeeOther, target)
	g.Abort()
}

// setCookie sets the session cookie: HttpOnly (no script reads it), SameSite=Strict (no
// other site's page makes the browser send it), Secure over TLS, and no expiry, so it ends
// with the browser; the server ends it sooner when idle.
func (c *Console) setCookie(g *gin.Context, id string) {
	http.SetCookie(g.Writer, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(g)})
}

func (c *Console) clearCookie(g *gin.Context) {
	http.SetCookie(g.Writer, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(g)})
}

func (c *Console) secure(g *gin.Context) bool { return g.Request.TLS != nil || c.SecureCookies }

// tenantScope applies the API's tenant rule (access.Guard.Scope): another tenant's pages are
// "not found", exactly like a tenant that does not exist.
func (c *Console) tenantScope(role string) gin.HandlerFunc {
	return func(g *gin.Context) {
		if err := c.Guard.Scope(g.Request.Context(), principal(g), g.Param("tenant"), role); err != nil {
			c.fail(g, err)
			return
		}
		g.Next()
	}
}

func (c *Console) requireRole(role string) gin.HandlerFunc {
	return func(g *gin.Context) {
		if err := access.Require(principal(g), role); err != nil {
			c.fail(g, err)
			return
		}
		g.Next()
	}
}

// safeNext accepts only a path on this site as where to go after signing in.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return ""
	}
	return next
}
