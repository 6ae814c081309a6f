package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/store"
)

// saveClient includes or excludes a backup client, or types (or clears) its Managed ID,
// checked against ConnectWise, as the API's PATCH …/clients/{client} does
// (connect.Connector.SaveBackupClient). A refused Managed ID shows next to its client.
func (c *Console) saveClient(g *gin.Context) {
	p := c.newPage(g, "Publish", "publish")
	v := posted(g, p)
	id := g.Param("client")
	back := "/tenants/" + g.Param("tenant") + "/publish#clients"
	if err := store.CheckClientID(id); err != nil {
		c.NotFound(g)
		return
	}
	refuse := func(field, msg string, status int) {
		p.Errors[clientField(id, field)] = msg
		if field == "" {
			p.FormError = sentence(msg)
		}
		p.Data = nil
		c.publishPage(g, p, status)
	}
	f, errs := form.ParseClient(v)
	if !errs.OK() {
		for field, msg := range errs {
			refuse(field, msg, http.StatusUnprocessableEntity)
			return
		}
	}
	got, err := c.Connector.SaveBackupClient(g.Request.Context(), store.BackupClientChange{TenantID: g.Param("tenant"), ClientID: id,
		Included: f.Included, ManagedID: f.ManagedID, Actor: principal(g).Email,
		Details: principal(g).AuditDetails(g.Writer.Header().Get("X-Request-ID"), map[string]any{"via": "console"})}, time.Now())
	if err != nil {
		field, msg, status, ok := c.problem(g, err)
		if !ok {
			c.fail(g, err)
			return
		}
		refuse(strings.TrimPrefix(field, "client_"), msg, status)
		return
	}
	c.adminAudit(g, "backup_client.saved", g.Param("tenant"), "backup client "+id+" saved", map[string]any{"client_id": id})
	var what string
	switch {
	case f.Included != nil && !*f.Included:
		what = fmt.Sprintf("%s is excluded: publishes leave it out and report it as excluded.", got.Name)
	case f.Included != nil:
		what = fmt.Sprintf("%s is published again.", got.Name)
	case got.TypedManagedID != "":
		what = fmt.Sprintf("%s is published with Managed ID %s (%s).", got.Name, got.ManagedID, got.CompanyName)
	default:
		what = fmt.Sprintf("%s uses the Managed ID the backup service reports%s.", got.Name, orNone(got.ManagedID))
	}
	c.done(g, "ok", what, back)
}

// clientField names a field of one client's form on the publish page.
func clientField(clientID, field string) string {
	if field == "" {
		return "clients." + clientID
	}
	return "clients." + clientID + "." + field
}

func orNone(id string) string {
	if id == "" {
		return " (none: it stays unmapped until one is typed)"
	}
	return " (" + id + ")"
}
