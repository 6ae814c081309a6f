// Package api is meterbridge's HTTP API (Gin). Handlers stay thin: bind and validate,
// authorise against the tenant in the path, then one call — the store for reads, the
// starter for actions.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"strings"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/lookup"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
)

// Deps are what the API needs.
type Deps struct {
	Store    *store.Store
	Starter  *starter.Starter
	Temporal client.Client
	Logger   *slog.Logger
	// RateLimit is requests per second per token (default 20).
	RateLimit float64
	// RequestTimeout bounds each request, Temporal calls included (default 15s).
	RequestTimeout time.Duration
	// AuthFailureBurst is how many unknown or revoked tokens one client address may send
	// before it is answered 429 (default 20; then one more every 2 seconds).
	AuthFailureBurst int
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose X-Forwarded-For
	// (or X-Real-IP) names the client (METERBRIDGE_TRUSTED_PROXIES); empty trusts none and
	// the TCP peer is the client.
	TrustedProxies []string
	// Connector opens tenants' PSA and vendor clients for connection tests and mapping
	// checks; nil builds one over Store that keeps to Outbound.
	Connector *connect.Connector
	// Lookup answers the PSA look-ups of the mapping page; nil builds one over Connector.
	// Share one with the console so both use one cache.
	Lookup *lookup.Service
	// Outbound is the outbound policy URLs are checked against when saved (webhooks here,
	// connection URLs through Connector); nil is the strict production policy. Ignored when
	// Connector is given: its policy is used.
	Outbound *egress.Policy
	// Guard authenticates and authorises; nil builds one from RateLimit and
	// AuthFailureBurst. The console shares it, so both apply one set of rules and limits.
	Guard *access.Guard
	// Pages, when set, adds the console's routes to the API's engine (same port, same
	// process); a path outside /api/ that no route matches is answered by its NotFound.
	Pages Pages
}

// Pages are web pages served beside the API (the console).
type Pages interface {
	Register(r *gin.Engine)
	NotFound(c *gin.Context)
}

type server struct {
	store    *store.Store
	starter  *starter.Starter
	temporal client.Client
	log      *slog.Logger
	guard    *access.Guard
	timeout  time.Duration
	connect  *connect.Connector
	lookup   *lookup.Service
}

// route is one entry of the API surface with the least role that may call it; the router
// and the access tests both read this table.
type route struct {
	Method string
	Path   string
	// Role is the least role allowed; "" for routes without a token.
	Role string
	// Tenant marks routes under /tenants/{tenant}, checked against the token's tenant.
	Tenant  bool
	Handler func(*server, *gin.Context)
}

func routes() []route {
	return []route{
		{"GET", "/healthz", "", false, (*server).healthz},
		{"GET", "/readyz", "", false, (*server).readyz},
		// The API's own OpenAPI 3.1 document (api/openapi.yaml), public like the two above.
		{"GET", "/api/v1/openapi.json", "", false, (*server).openAPI},

		{"POST", "/api/v1/tenants", store.RoleAdmin, false, (*server).createTenant},
		{"GET", "/api/v1/tenants/:tenant", store.RoleViewer, true, (*server).getTenant},
		{"PATCH", "/api/v1/tenants/:tenant", store.RoleAdmin, true, (*server).patchTenant},

		{"POST", "/api/v1/tenants/:tenant/publish", store.RoleApprover, true, (*server).publish},
		{"POST", "/api/v1/tenants/:tenant/refresh", store.RoleApprover, true, (*server).refresh},
		{"GET", "/api/v1/tenants/:tenant/pending", store.RoleViewer, true, (*server).listPending},
		{"POST", "/api/v1/tenants/:tenant/pending/approve", store.RoleApprover, true, (*server).approve},
		{"POST", "/api/v1/tenants/:tenant/pending/reject", store.RoleApprover, true, (*server).reject},
		{"GET", "/api/v1/tenants/:tenant/cycles", store.RoleViewer, true, (*server).listCycles},
		{"GET", "/api/v1/tenants/:tenant/cycles/:cycle", store.RoleViewer, true, (*server).getCycle},
		{"POST", "/api/v1/tenants/:tenant/cycles/:cycle/cancel", store.RoleApprover, true, (*server).cancelCycle},

		// Backup clients of the usage publish (issue 11): which are published and the Managed
		// IDs typed in meterbridge. Choosing them is a setting: admin.
		{"GET", "/api/v1/tenants/:tenant/clients", store.RoleViewer, true, (*server).listClients},
		{"PATCH", "/api/v1/tenants/:tenant/clients/:client", store.RoleAdmin, true, (*server).patchClient},

		// API tokens and the admin audit trail (issue 4). Approvers may see who holds access
		// to their tenant; only admins create and revoke.
		{"POST", "/api/v1/tokens", store.RoleAdmin, false, (*server).createToken},
		{"GET", "/api/v1/tokens", store.RoleAdmin, false, (*server).listTokens},
		{"DELETE", "/api/v1/tokens/:token", store.RoleAdmin, false, (*server).revokeToken},
		{"GET", "/api/v1/tenants/:tenant/tokens", store.RoleApprover, true, (*server).listTenantTokens},
		{"GET", "/api/v1/audit", store.RoleAdmin, false, (*server).listAdminAudit},

		// Tenant administration (issue 5): connections, accounts and mappings, history, dashboard.
		{"PUT", "/api/v1/tenants/:tenant/psa", store.RoleAdmin, true, (*server).putPSA},
		{"POST", "/api/v1/tenants/:tenant/psa/test", store.RoleApprover, true, (*server).testPSA},
		{"PUT", "/api/v1/tenants/:tenant/sources/:kind", store.RoleAdmin, true, (*server).putSource},
		{"POST", "/api/v1/tenants/:tenant/sources/:kind/test", store.RoleApprover, true, (*server).testSource},
		{"GET", "/api/v1/tenants/:tenant/accounts", store.RoleViewer, true, (*server).listAccounts},
		{"GET", "/api/v1/tenants/:tenant/mappings", store.RoleViewer, true, (*server).listMappings},
		{"GET", "/api/v1/tenants/:tenant/mappings/:mapping", store.RoleViewer, true, (*server).getMapping},
		{"PUT", "/api/v1/tenants/:tenant/mappings/:mapping", store.RoleAdmin, true, (*server).putMapping},
		{"DELETE", "/api/v1/tenants/:tenant/mappings/:mapping", store.RoleAdmin, true, (*server).deleteMapping},
		{"GET", "/api/v1/tenants/:tenant/history", store.RoleViewer, true, (*server).listHistory},
		{"DELETE", "/api/v1/tenants/:tenant/history", store.RoleAdmin, true, (*server).clearHistory},
		{"GET", "/api/v1/tenants/:tenant/dashboard", store.RoleViewer, true, (*server).dashboard},

		// PSA look-ups for the mapping page (issue 10): read-only, cached briefly per tenant.
		{"GET", "/api/v1/tenants/:tenant/psa/companies", store.RoleViewer, true, (*server).listPSACompanies},
		{"GET", "/api/v1/tenants/:tenant/psa/companies/:company/agreements", store.RoleViewer, true, (*server).listPSAAgreements},
		{"GET", "/api/v1/tenants/:tenant/psa/agreements/:agreement/additions", store.RoleViewer, true, (*server).listPSAAdditions},

		// Scorecard metrics (issue 6). Creating and re-scheduling a metric is approver work:
		// it moves no money, and a tenant's own tokens go no higher than approver (admin
		// tokens pass too). Sync now and overrides change check-ins: approver. Reads: viewer.
		{"POST", "/api/v1/tenants/:tenant/metrics", store.RoleApprover, true, (*server).createMetric},
		{"GET", "/api/v1/tenants/:tenant/metrics", store.RoleViewer, true, (*server).listMetrics},
		{"GET", "/api/v1/tenants/:tenant/metrics/:metric", store.RoleViewer, true, (*server).getMetric},
		{"PATCH", "/api/v1/tenants/:tenant/metrics/:metric", store.RoleApprover, true, (*server).patchMetric},
		{"POST", "/api/v1/tenants/:tenant/metrics/:metric/sync", store.RoleApprover, true, (*server).syncMetric},
		{"GET", "/api/v1/tenants/:tenant/metrics/:metric/checkins", store.RoleViewer, true, (*server).listCheckins},
		{"PUT", "/api/v1/tenants/:tenant/metrics/:metric/checkins/:week", store.RoleApprover, true, (*server).putCheckin},
		{"DELETE", "/api/v1/tenants/:tenant/metrics/:metric/checkins/:week", store.RoleApprover, true, (*server).deleteCheckin},
		// Issue 11: deleting a metric (admin, typed confirmation) and the week's scorecard.
		{"DELETE", "/api/v1/tenants/:tenant/metrics/:metric", store.RoleAdmin, true, (*server).deleteMetric},
		{"GET", "/api/v1/tenants/:tenant/scorecard", store.RoleViewer, true, (*server).scorecard},
	}
}

// DefaultRequestTimeout bounds each request, Temporal calls included, unless
// Deps.RequestTimeout says otherwise. A stopping server waits at least this long for open
// requests (app.ShutdownGrace).
const DefaultRequestTimeout = 15 * time.Second

// New builds the HTTP handler.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s := &server{store: d.Store, starter: d.Starter, temporal: d.Temporal, log: d.Logger, timeout: d.RequestTimeout, connect: d.Connector, lookup: d.Lookup}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.connect == nil {
		s.connect = connect.New(d.Store, d.Outbound)
	}
	if s.lookup == nil {
		s.lookup = lookup.New(s.connect, lookup.Options{})
	}
	if s.timeout <= 0 {
		s.timeout = DefaultRequestTimeout
	}
	s.guard = d.Guard
	if s.guard == nil {
		s.guard = access.NewGuard(d.Store, d.RateLimit, d.AuthFailureBurst)
	}

	r := gin.New()
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		// config.Load has checked the list; trust none rather than anything unclear.
		s.log.Error("trusted proxies ignored", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.HandleMethodNotAllowed = true
	if telemetry.TracingEnabled() {
		// Each request is a server span named for its route; Temporal and PostgreSQL calls
		// made while serving it are its children.
		r.Use(otelgin.Middleware("meterbridge-api"))
	}
	r.Use(observe, s.requestContext, s.recovery)
	r.NoRoute(func(c *gin.Context) {
		if d.Pages != nil && !strings.HasPrefix(c.Request.URL.Path, "/api/") {
			d.Pages.NotFound(c)
			return
		}
		fail(c, errNotFound("route"))
	})
	r.NoMethod(func(c *gin.Context) {
		fail(c, &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"})
	})
	for _, rt := range routes() {
		h := rt.Handler
		chain := []gin.HandlerFunc{}
		if rt.Role != "" {
			chain = append(chain, s.authenticate)
			if rt.Tenant {
				chain = append(chain, s.tenantScope(rt.Role))
			} else {
				chain = append(chain, requireRole(rt.Role))
			}
			if changesState(rt.Method) {
				chain = append(chain, refuseUnknownQuery(rt.Method+" "+rt.Path), s.auditTrail(rt.Tenant, rt.Role))
			}
		}
		chain = append(chain, func(c *gin.Context) { h(s, c) })
		r.Handle(rt.Method, rt.Path, chain...)
	}
	if d.Pages != nil {
		d.Pages.Register(r)
	}
	return r
}

const loggerKey = "meterbridge.logger"

// observe records every request in the HTTP metrics, labelled by its route template (not
// its path, which holds tenant and record IDs).
func observe(c *gin.Context) {
	done := telemetry.HTTPInFlight()
	defer done()
	start := time.Now()
	c.Next()
	telemetry.HTTPRequest(c.Request.Method, c.FullPath(), c.Writer.Status(), time.Since(start))
}

// requestContext gives each request an ID, a deadline and a logger, and logs it.
func (s *server) requestContext(c *gin.Context) {
	// The ID is always unique (site history rows are matched to requests by it); a plain
	// X-Request-ID from the caller is kept as its prefix for correlation.
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if cid := c.GetHeader("X-Request-ID"); validRequestID(cid) {
		id = cid + "." + id
	}
	c.Header("X-Request-ID", id)
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.timeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	l := s.log.With("request_id", id)
	c.Set(loggerKey, l)
	start := time.Now()
	c.Next()
	attrs := []any{"method", c.Request.Method, "path", c.FullPath(), "status", c.Writer.Status(), "took", time.Since(start).Round(time.Millisecond)}
	if t := c.Param("tenant"); t != "" {
		attrs = append(attrs, "tenant", t)
	}
	if p := caller(c); p.TokenID != "" {
		attrs = append(attrs, "token", p.TokenID)
	}
	l.Info("http request", attrs...)
}

func (s *server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			logger(c).Error("handler panicked", "panic", r)
			fail(c, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"})
		}
	}()
	c.Next()
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when PostgreSQL and Temporal both answer.
func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if err := s.store.Ping(ctx); err != nil {
		// The error names hosts and users; it goes to the log, not to anonymous callers.
		logger(c).Warn("readyz: database not ready", "err", err)
		checks["database"], ok = "unavailable", false
	} else {
		checks["database"] = "ok"
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		logger(c).Warn("readyz: temporal not ready", "err", err)
		checks["temporal"], ok = "unavailable", false
	} else {
		checks["temporal"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

// publicRoutes are the routes anyone may call without a token: health and the API's own
// description. None reads or changes a tenant's data.
var publicRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /api/v1/openapi.json": true}

// RouteInfo describes one route of the API and who may call it, for tests and documentation.
type RouteInfo struct {
	Method string
	Path   string
	// Role is the least role allowed; "" for routes without a token.
	Role string
	// Tenant marks routes scoped to the tenant in the path.
	Tenant bool
}

// Routes lists the API surface as the router registers it.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range routes() {
		out = append(out, RouteInfo{Method: rt.Method, Path: rt.Path, Role: rt.Role, Tenant: rt.Tenant})
	}
	return out
}

// changesState reports whether a method may change state (and so is audited).
func changesState(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// validRequestID accepts a caller's X-Request-ID only when it is short and plain, since it
// is echoed, logged and stored in site history.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return false
		}
	}
	return true
}
