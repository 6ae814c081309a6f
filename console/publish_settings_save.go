package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/tenant"
)

// savePublishSettings saves the publish mode and schedule.
func (c *Console) savePublishSettings(g *gin.Context) {
	p := c.newPage(g, "Publish", "publish")
	v := posted(g, p)
	show := func(p *page, status int) { c.publishPage(g, p, status) }
	var errs form.Errors
	_, err := c.updateTenant(g, "publish", func(t *tenant.Tenant) error {
		var s tenant.Settings
		s, errs = form.Publish(v, t.Settings)
		if !errs.OK() {
			return errFormRefused
		}
		t.Settings = s
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
	c.done(g, "ok", "Publish settings saved.", "/tenants/"+g.Param("tenant")+"/publish")
}
