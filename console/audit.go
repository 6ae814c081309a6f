package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/store"
)

// audit writes the site-history row of an action done in the console, with the same action
// names and details as the API's, plus "via": "console".
func (c *Console) audit(g *gin.Context, action, message string, details map[string]any) {
	c.auditTenant(g, g.Param("tenant"), action, message, details)
}

// auditTenant is audit for a tenant named otherwise than by the path.
func (c *Console) auditTenant(g *gin.Context, tenantID, action, message string, details map[string]any) {
	p := principal(g)
	details = p.AuditDetails(g.Writer.Header().Get("X-Request-ID"), details)
	details["via"] = "console"
	if err := c.Store.AddHistory(g.Request.Context(), tenantID, store.SeverityInfo, p.Email, action, message, details); err != nil {
		c.Logger.Error("console: site history not written", "err", err, "action", action)
	}
}

// adminAudit writes an admin-trail row for a change only admins may make.
func (c *Console) adminAudit(g *gin.Context, action, tenantID, message string, details map[string]any) {
	p := principal(g)
	details = p.AuditDetails(g.Writer.Header().Get("X-Request-ID"), details)
	details["via"] = "console"
	c.Logger.Info("admin audit", "action", action, "actor", p.Email, "tenant", tenantID, "message", message)
	if err := c.Store.AddAdminAudit(g.Request.Context(), p.Email, action, tenantID, message, details); err != nil {
		c.Logger.Error("console: admin audit not written", "err", err, "action", action)
	}
}

// explain turns an action's error into the message the API would give, for the page the
// action came from, with when to try again. ok is false for errors that are not the
// person's to act on (access refusals, server failures), which get their own page.
func (c *Console) explain(g *gin.Context, err error) (string, bool) {
	var ae *access.Error
	if errors.As(err, &ae) {
		return "", false
	}
	pr := api.Explain(err)
	if pr.Status >= 500 && pr.RetryAfter == 0 {
		return "", false
	}
	msg := sentence(pr.Message)
	if pr.RetryAfter > 0 {
		g.Header("Retry-After", strconv.Itoa(seconds(pr.RetryAfter)))
		msg += " Try again in " + waitWords(pr.RetryAfter) + "."
	}
	return msg, true
}

// problem is explain for forms: the message and the form field it names ("" for the form).
func (c *Console) problem(g *gin.Context, err error) (field, msg string, status int, ok bool) {
	var ae *access.Error
	if errors.As(err, &ae) {
		return "", "", 0, false
	}
	pr := api.Explain(err)
	if pr.Status >= 500 && pr.RetryAfter == 0 {
		return "", "", 0, false
	}
	msg = sentence(pr.Message)
	if pr.RetryAfter > 0 {
		g.Header("Retry-After", strconv.Itoa(seconds(pr.RetryAfter)))
		msg += " Try again in " + waitWords(pr.RetryAfter) + "."
	}
	status = pr.Status
	if status == 0 {
		status = http.StatusUnprocessableEntity
	}
	return pr.Field, msg, status, true
}
