package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// auditedKey marks a request whose handler already wrote its own, more detailed, site
// history row; adminAuditedKey one that wrote its admin audit row.
const (
	auditedKey      = "meterbridge.audited"
	adminAuditedKey = "meterbridge.admin_audited"
)

// auditTrail is applied by the router to every state-changing route (any method but GET and
// HEAD), so a new route is audited without remembering to. After a successful answer (2xx)
// it records who did what, unless the handler already did with a message of its own:
//   - a tenant route in the tenant's site history (audit);
//   - an admin-only route, and every route outside a tenant, also in the admin audit trail
//     (adminAudit), which tenants cannot clear, unlike site history.
//
// Request bodies are never recorded: they may hold credentials.
func (s *server) auditTrail(tenantScoped bool, leastRole string) gin.HandlerFunc {
	adminTrail := !tenantScoped || leastRole == store.RoleAdmin
	return func(c *gin.Context) {
		c.Next()
		status := c.Writer.Status()
		if status < 200 || status > 299 {
			return
		}
		action := routeAction(c.Request.Method, c.FullPath())
		message := c.Request.Method + " " + c.Request.URL.Path
		details := map[string]any{"route": c.Request.Method + " " + c.FullPath(), "status": status}
		for _, p := range c.Params {
			if p.Key != "tenant" {
				details[p.Key] = p.Value
			}
		}
		if tenantScoped && !c.GetBool(auditedKey) {
			// Some handlers write their history row inside the store's transaction, naming
			// the request; one row per request is enough.
			if done, err := s.store.HistoryHasRequest(c.Request.Context(), c.Param("tenant"), requestID(c)); err != nil || !done {
				s.audit(c, c.Param("tenant"), action, message, details)
			}
		}
		if adminTrail && !c.GetBool(adminAuditedKey) {
			s.adminAudit(c, action, c.Param("tenant"), message, details)
		}
	}
}

// routeAction names what a route does in history: "PUT /api/v1/tenants/:tenant/mappings/:mapping"
// becomes "api.put.mappings".
func routeAction(method, fullPath string) string {
	var parts []string
	for _, seg := range strings.Split(strings.TrimPrefix(fullPath, "/api/v1/"), "/") {
		if seg == "" || strings.HasPrefix(seg, ":") || seg == "tenants" {
			continue
		}
		parts = append(parts, seg)
	}
	if len(parts) == 0 {
		parts = []string{"tenant"}
	}
	return "api." + strings.ToLower(method) + "." + strings.Join(parts, ".")
}

// auditDetails adds who called, and through which request, to a history row's details.
func auditDetails(c *gin.Context, details map[string]any) map[string]any {
	return caller(c).AuditDetails(c.Writer.Header().Get("X-Request-ID"), details)
}

// adminAudit writes an admin-trail row (and a log line) for a change made with an admin token
// outside any one tenant's routes; tenantID names the tenant concerned, if any.
func (s *server) adminAudit(c *gin.Context, action, tenantID, message string, details map[string]any) {
	c.Set(adminAuditedKey, true)
	details = auditDetails(c, details)
	logger(c).Info("admin audit", "action", action, "actor", caller(c).Email, "tenant", tenantID, "message", message)
	if err := s.store.AddAdminAudit(c.Request.Context(), caller(c).Email, action, tenantID, message, details); err != nil {
		logger(c).Error("admin audit not written", "err", err, "action", action)
	}
}

func (s *server) listAdminAudit(c *gin.Context) {
	if err := rejectUnknownQuery(c, "limit"); err != nil {
		fail(c, err)
		return
	}
	limit, err := queryInt(c, "limit", 100, 1, 1000)
	if err != nil {
		fail(c, err)
		return
	}
	entries, err := s.store.ListAdminAudit(c.Request.Context(), limit)
	if err != nil {
		fail(c, err)
		return
	}
	if entries == nil {
		entries = []store.AdminAuditEntry{}
	}
	c.JSON(http.StatusOK, gin.H{"audit": entries})
}
