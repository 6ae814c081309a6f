package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/tenant"
)

// errSchedulesNotUpdated is the API's answer when settings were saved but Temporal did not
// take the schedules.
var errSchedulesNotUpdated = fmt.Errorf("settings were saved, but the schedules could not be updated in Temporal; save again")

// updateTenant changes the tenant's settings the way the API's PATCH does: the change and the
// settings' own rules (tenant.Settings.Validate) in one transaction, a site-history and an
// admin-audit row, then the Temporal Schedules brought in line. A *tenant.FieldError names
// the refused setting.
func (c *Console) updateTenant(g *gin.Context, section string, change func(t *tenant.Tenant) error) (tenant.Tenant, error) {
	ctx := g.Request.Context()
	before, after, err := c.Store.UpdateTenant(ctx, g.Param("tenant"), func(t *tenant.Tenant) error {
		if err := change(t); err != nil {
			return err
		}
		return t.Settings.Validate()
	})
	if err != nil {
		return after, err
	}
	if fmt.Sprint(before.Settings, before.TimeZone) != fmt.Sprint(after.Settings, after.TimeZone) {
		details := map[string]any{"changed": []string{section}}
		c.audit(g, "settings.saved", "settings saved ("+section+")", details)
		c.adminAudit(g, "settings.saved", after.ID, "settings saved ("+section+")", details)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Starter.SyncSchedules(sctx, after); err != nil {
		c.Logger.Error("console: schedules not updated", "tenant", after.ID, "err", err)
		return after, schedulesProblem{}
	}
	return after, nil
}

// schedulesProblem reads as the API's schedules_not_updated answer.
type schedulesProblem struct{}

func (schedulesProblem) Error() string { return errSchedulesNotUpdated.Error() }

// settingsRefused re-shows a settings form with the problem next to its field, or the page's
// error for anything else.
func (c *Console) settingsRefused(g *gin.Context, err error, show func(*page, int), p *page) {
	if _, ok := err.(schedulesProblem); ok {
		g.Header("Retry-After", "5")
		p.FormError = sentence(err.Error())
		show(p, http.StatusServiceUnavailable)
		return
	}
	if fe, ok := err.(*tenant.FieldError); ok {
		p.Errors[fieldName(fe.Field)] = fe.Reason
		show(p, http.StatusUnprocessableEntity)
		return
	}
	field, msg, status, ok := c.problem(g, err)
	if !ok {
		c.fail(g, err)
		return
	}
	if field != "" {
		p.Errors[fieldName(field)] = msg
	} else {
		p.FormError = msg
	}
	show(p, status)
}

// fieldName is the form field of a settings rule's field.
func fieldName(field string) string { return form.SettingsField(field) }

// posted reads the request's form into the page, to show it again if it is refused.
func posted(g *gin.Context, p *page) url.Values {
	_ = g.Request.ParseForm()
	p.Form = g.Request.PostForm
	p.Posted = true
	return p.Form
}

// errFormRefused stops a settings change whose form had problems (shown per field).
var errFormRefused = errors.New("the form has problems")
