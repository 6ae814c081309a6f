package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// route is one page or action with the least role that may use it. Tenant routes are under
// /tenants/:tenant and go through access.Guard.Scope, the API's own tenant rule.
type route struct {
	Method string
	Path   string
	// Role is the least role; "" for pages open without a session (sign-in, static files).
	Role    string
	Tenant  bool
	Handler func(*Console, *gin.Context)
}

func routes() []route {
	const (
		admin    = store.RoleAdmin
		approver = store.RoleApprover
		viewer   = store.RoleViewer
	)
	t := "/tenants/:tenant"
	return []route{
		{"GET", "/", "", false, (*Console).home},
		{"GET", "/signin", "", false, (*Console).showSignIn},
		{"POST", "/signin", "", false, (*Console).checkSignIn},
		{"POST", "/signout", viewer, false, (*Console).signOut},
		{"GET", "/tenants", admin, false, (*Console).showTenants},
		{"GET", "/tokens", admin, false, (*Console).showAllTokens},
		{"POST", "/tokens", admin, false, (*Console).createToken},
		{"POST", "/tokens/:token/revoke", admin, false, (*Console).revokeToken},

		{"GET", t, viewer, true, (*Console).showDashboard},

		{"GET", t + "/pending", viewer, true, (*Console).showPending},
		{"POST", t + "/pending/decide", approver, true, (*Console).decidePending},

		{"GET", t + "/publish", viewer, true, (*Console).showPublish},
		{"POST", t + "/publish", approver, true, (*Console).publishNow},
		{"POST", t + "/publish/settings", admin, true, (*Console).savePublishSettings},
		{"POST", t + "/clients/:client", admin, true, (*Console).saveClient},
		{"POST", t + "/clients/:client/publish", approver, true, (*Console).publishClient},
		{"GET", t + "/cycles/:cycle", viewer, true, (*Console).showCycle},

		{"GET", t + "/licences", viewer, true, (*Console).showLicences},
		{"POST", t + "/licences/refresh", approver, true, (*Console).refreshLicences},
		{"POST", t + "/licences/sync", approver, true, (*Console).syncLicences},
		{"POST", t + "/licences/settings", admin, true, (*Console).saveLicenceSettings},

		{"GET", t + "/scorecard", viewer, true, (*Console).showScorecard},
		{"POST", t + "/scorecard/:metric/sync", approver, true, (*Console).syncMetric},
		{"POST", t + "/scorecard/:metric/schedule", approver, true, (*Console).saveMetricSchedule},
		{"POST", t + "/scorecard/:metric/weeks/:week", approver, true, (*Console).overrideWeek},
		{"POST", t + "/scorecard/:metric/weeks/:week/clear", approver, true, (*Console).clearWeek},

		{"GET", t + "/settings", viewer, true, (*Console).showSettings},
		{"POST", t + "/settings/psa", admin, true, (*Console).savePSA},
		{"POST", t + "/settings/psa/test", approver, true, (*Console).testPSA},
		{"POST", t + "/settings/sources/:kind", admin, true, (*Console).saveSource},
		{"POST", t + "/settings/sources/:kind/test", approver, true, (*Console).testSource},
		{"POST", t + "/settings/notify", admin, true, (*Console).saveNotify},
		{"POST", t + "/settings/approval", admin, true, (*Console).saveApproval},

		{"GET", t + "/history", viewer, true, (*Console).showHistory},
		{"GET", t + "/history.csv", viewer, true, (*Console).downloadHistory},
		{"POST", t + "/history/clear", admin, true, (*Console).clearHistory},

		{"GET", t + "/tokens", approver, true, (*Console).showTenantTokens},
		{"POST", t + "/tokens", admin, true, (*Console).createToken},
		{"POST", t + "/tokens/:token/revoke", admin, true, (*Console).revokeToken},

		{"GET", t + "/mappings", viewer, true, (*Console).showMappings},
		{"GET", t + "/mappings/new", admin, true, (*Console).editMapping},
		{"GET", t + "/mappings/:mapping/edit", admin, true, (*Console).editMapping},
		{"POST", t + "/mappings", admin, true, (*Console).saveMapping},
		{"POST", t + "/mappings/:mapping/delete", admin, true, (*Console).deleteMapping},
		{"GET", t + "/lookups/companies", admin, true, (*Console).suggestCompanies},
		{"GET", t + "/lookups/agreements", admin, true, (*Console).listAgreements},
		{"GET", t + "/lookups/additions", admin, true, (*Console).listAdditions},
	}
}

func (c *Console) register(r *gin.Engine) {
	r.GET("/static/*file", func(g *gin.Context) {
		g.Header("Cache-Control", "public, max-age=3600")
		securityHeaders(g)
		c.static.ServeHTTP(g.Writer, g.Request)
	})
	r.HEAD("/static/*file", func(g *gin.Context) { c.static.ServeHTTP(g.Writer, g.Request) })
	for _, rt := range routes() {
		h := rt.Handler
		chain := []gin.HandlerFunc{c.recovery, securityHeaders}
		if rt.Method != http.MethodGet {
			chain = append(chain, c.refuseCrossOrigin, readForm)
		}
		if rt.Role != "" {
			chain = append(chain, c.requireSession)
			if rt.Method != http.MethodGet {
				chain = append(chain, c.checkCSRFToken)
			}
			if rt.Tenant {
				chain = append(chain, c.tenantScope(rt.Role))
			} else {
				chain = append(chain, c.requireRole(rt.Role))
			}
		}
		chain = append(chain, func(g *gin.Context) { h(c, g) })
		r.Handle(rt.Method, rt.Path, chain...)
	}
}

// Routes lists the console's pages and actions with their least role, for tests.
func Routes() []struct{ Method, Path, Role string } {
	var out []struct{ Method, Path, Role string }
	for _, r := range routes() {
		out = append(out, struct{ Method, Path, Role string }{r.Method, r.Path, r.Role})
	}
	return out
}

// maxFormBytes bounds a posted form (the largest, the pending grid's 1,000 IDs, is ~20 KB).
const maxFormBytes = 256 << 10

// readForm reads a posted form once, bounded, before the handlers look at it.
func readForm(g *gin.Context) {
	g.Request.Body = http.MaxBytesReader(g.Writer, g.Request.Body, maxFormBytes)
	if err := g.Request.ParseForm(); err != nil {
		g.AbortWithStatus(http.StatusRequestEntityTooLarge)
		return
	}
	g.Next()
}
