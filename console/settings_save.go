package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/tenant"
)

// saveNotify saves the time zone, the notification recipients and the chat webhook; a new
// webhook URL must be one the outbound policy allows, as through the API.
func (c *Console) saveNotify(g *gin.Context) {
	c.saveSettingsForm(g, "notify", "Notification settings saved.", func(v formValues, t *tenant.Tenant) form.Errors {
		tz, s, errs := form.Notify(v, *t)
		if u := s.Notify.WebhookURL; errs.OK() && u != "" && u != t.Settings.Notify.WebhookURL {
			if err := c.Connector.Policy().CheckURL(u); err != nil {
				errs.Add("notify.webhook_url", err.Error())
			}
		}
		if errs.OK() {
			t.TimeZone, t.Settings = tz, s
		}
		return errs
	})
}

// saveApproval saves the approval mode, rule, reminders and deadline.
func (c *Console) saveApproval(g *gin.Context) {
	c.saveSettingsForm(g, "approval", "Approval settings saved.", func(v formValues, t *tenant.Tenant) form.Errors {
		s, errs := form.Approval(v, t.Settings)
		if errs.OK() {
			t.Settings = s
		}
		return errs
	})
}

type formValues = map[string][]string

// saveSettingsForm applies one settings form with updateTenant and shows problems next to
// their fields on the settings page.
func (c *Console) saveSettingsForm(g *gin.Context, section, ok string, apply func(formValues, *tenant.Tenant) form.Errors) {
	p := c.newPage(g, "Settings", "settings")
	v := posted(g, p)
	show := func(p *page, status int) { c.settingsPage(g, p, status) }
	var errs form.Errors
	_, err := c.updateTenant(g, section, func(t *tenant.Tenant) error {
		if errs = apply(v, t); !errs.OK() {
			return errFormRefused
		}
		return nil
	})
	if err == errFormRefused {
		p.Errors = errs
		show(p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		c.settingsRefused(g, err, show, p)
		return
	}
	c.done(g, "ok", ok, "/tenants/"+g.Param("tenant")+"/settings#"+section)
}
