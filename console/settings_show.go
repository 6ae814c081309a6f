package console

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/store"
)

// connectionForm describes one provider's credentials form: its fields in order, which are
// secret (never shown, entered again to change) and the stored status.
type connectionForm struct {
	Role     string
	Provider string
	Title    string
	Fields   []credentialField
	Status   *store.ConnectionStatus
}

type credentialField struct {
	Name, Label, Hint string
	Secret            bool
	Value             string
}

// credentialFields lists each provider's fields as a person fills them in.
var credentialFields = map[string][]credentialField{
	"connectwise": {
		{Name: "site_url", Label: "Site URL", Hint: "The API host, such as https://api-na.myconnectwise.net"},
		{Name: "company_id", Label: "Company ID", Hint: "Your ConnectWise company login ID"},
		{Name: "public_key", Label: "Public key"},
		{Name: "private_key", Label: "Private key", Secret: true},
		{Name: "client_id", Label: "Client ID", Hint: "Your integration's clientId from developer.connectwise.com"},
	},
	"autotask": {
		{Name: "user_name", Label: "API user (e-mail)"},
		{Name: "secret", Label: "Secret", Secret: true},
		{Name: "integration_code", Label: "Integration code", Secret: true},
	},
	"backup":   {{Name: "base_url", Label: "API URL"}, {Name: "api_key", Label: "API key", Secret: true}},
	"licenses": {{Name: "base_url", Label: "API URL"}, {Name: "api_key", Label: "API key", Secret: true}},
	"gauges": {
		{Name: "base_url", Label: "API URL"}, {Name: "token_url", Label: "Token URL (optional)", Hint: "Empty: the API URL + /oauth/token"},
		{Name: "client_id", Label: "Client ID"}, {Name: "client_secret", Label: "Client secret", Secret: true},
	},
}

var providerTitles = map[string]string{"connectwise": "ConnectWise", "autotask": "Autotask", "backup": "Backup usage service",
	"licenses": "Licence portal", "gauges": "Gauge service"}

// showSettings shows the PSA connection, the vendor sources, notifications and approval.
func (c *Console) showSettings(g *gin.Context) {
	c.settingsPage(g, c.newPage(g, "Settings", "settings"), http.StatusOK)
}

func (c *Console) settingsPage(g *gin.Context, p *page, status int) {
	ctx := g.Request.Context()
	id := g.Param("tenant")
	conns, err := c.Store.ConnectionStatuses(ctx, id)
	if err != nil {
		c.fail(g, err)
		return
	}
	byRole := map[string]store.ConnectionStatus{}
	for _, cs := range conns {
		byRole[cs.Role] = cs
	}
	mappings, err := c.Store.ListMappings(ctx, id, "")
	if err != nil {
		c.fail(g, err)
		return
	}
	// The PSA in use is the stored connection's provider (tenants seeded before the kind
	// was recorded on the tenant have only the connection).
	psaKind := p.Tenant.PSAKind
	if st, ok := byRole[store.RolePSA]; ok {
		psaKind = st.Provider
	}
	var psaForms []connectionForm
	for _, kind := range []string{"connectwise", "autotask"} {
		f := connectionForm{Role: store.RolePSA, Provider: kind, Title: providerTitles[kind]}
		if st, ok := byRole[store.RolePSA]; ok && st.Provider == kind {
			f.Status = &st
		}
		f.Fields = fieldsWithValues(kind, f.Status)
		psaForms = append(psaForms, f)
	}
	var sources []connectionForm
	for _, role := range []string{store.RoleBackup, store.RoleLicenses, store.RoleGauges} {
		f := connectionForm{Role: role, Provider: role, Title: providerTitles[role]}
		if st, ok := byRole[role]; ok {
			f.Status = &st
		}
		f.Fields = fieldsWithValues(role, f.Status)
		sources = append(sources, f)
	}
	switchTo := map[string]any{}
	for _, kind := range []string{"connectwise", "autotask"} {
		if psaKind != "" && kind != psaKind {
			_, reset := p.Tenant.Settings.ResetForPSASwitch(kind)
			switchTo[kind] = map[string]any{"Mappings": len(mappings), "Reset": resetWords(reset)}
		}
	}
	webhook := p.Tenant.Settings.Notify.WebhookURL
	if !p.Principal.IsAdmin() {
		webhook = api.MaskURL(webhook)
	}
	p.Data = map[string]any{"PSA": psaForms, "PSAKind": psaKind, "Sources": sources, "Switch": switchTo, "Webhook": webhook,
		"Providers": connect.Providers()}
	c.render(g, status, "settings", p)
}

// fieldsWithValues fills a provider's fields with the stored non-secret values.
func fieldsWithValues(provider string, st *store.ConnectionStatus) []credentialField {
	var stored map[string]any
	if st != nil {
		_ = json.Unmarshal(st.Config, &stored)
	}
	var out []credentialField
	for _, f := range credentialFields[provider] {
		if !f.Secret {
			if v, ok := stored[f.Name].(string); ok {
				f.Value = v
			}
		}
		out = append(out, f)
	}
	return out
}

// resetWords names the settings a PSA switch resets as people read them.
func resetWords(paths []string) []string {
	names := map[string]string{
		"settings.publish.schedule.enabled":          "the automatic publish schedule (turned off)",
		"settings.licences.refresh.enabled":          "the licence refresh schedule (turned off)",
		"settings.licences.sync.enabled":             "the licence sync schedule (turned off)",
		"settings.publish.approval.mode":             "the usage publishes' approval (back to manual)",
		"settings.publish.approval.max_units":        "the usage publishes' rule unit limit (to 0)",
		"settings.publish.approval.max_percent":      "the usage publishes' rule percent limit (to 0)",
		"settings.publish.approval.deadline_hours":   "the usage publishes' approval deadline (removed)",
		"settings.publish.approval.deadline_action":  "the usage publishes' deadline action (back to hold and alert)",
		"settings.licences.approval.mode":            "the licence syncs' approval (back to manual)",
		"settings.licences.approval.max_units":       "the licence syncs' rule unit limit (to 0)",
		"settings.licences.approval.max_percent":     "the licence syncs' rule percent limit (to 0)",
		"settings.licences.approval.deadline_hours":  "the licence syncs' approval deadline (removed)",
		"settings.licences.approval.deadline_action": "the licence syncs' deadline action (back to hold and alert)",
		"settings.publish.mode":                      "the publish mode (to advanced: Autotask has no Backup Stats)",
	}
	var out []string
	for _, p := range paths {
		if n, ok := names[p]; ok {
			out = append(out, n)
		} else {
			out = append(out, p)
		}
	}
	return out
}
