package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/tenant"
)

// renderer holds one template set per page (the shared layout and partials, plus the page)
// and the partials alone for htmx fragments.
type renderer struct {
	pages    map[string]*template.Template
	partials *template.Template
}

var funcs = template.FuncMap{
	"qty":   qty,
	"trend": trend,
	"add":   func(a, b int) int { return a + b },
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + strings.ReplaceAll(s[1:], "_", " ")
	},
	"words":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"itemWords": itemWords,
	"fid":       fieldID,
	"contains":  func(list []string, s string) bool { return contains(list, s) },
	"join":      strings.Join,
	"split":     strings.Split,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"pathEscape": url.PathEscape,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func newRenderer() *renderer {
	base := template.New("").Funcs(funcs)
	partials, err := fs.Glob(templateFS, "templates/_*.html")
	if err != nil {
		panic(err)
	}
	base = template.Must(base.ParseFS(templateFS, append([]string{"templates/layout.html"}, partials...)...))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	r := &renderer{pages: map[string]*template.Template{}, partials: base}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
		r.pages[name] = t
	}
	return r
}

// page is what every template gets.
type page struct {
	Title     string
	Nav       string
	Principal access.Principal
	CSRF      string
	Tenant    *tenant.Tenant
	Flash     *flash
	// Errors are messages per form field; FormError is a message for the form as a whole.
	Errors    map[string]string
	FormError string
	// Form is the submitted values, shown again when a form is refused (Posted).
	Form   url.Values
	Posted bool
	Data   any

	console *Console
	loc     *time.Location
}

// flash is the outcome of an action, shown once on the page the action leads back to.
type flash struct {
	Kind    string `json:"k"` // "ok", "warn" or "error"
	Message string `json:"m"`
}

const flashCookie = "meterbridge_flash"

// newPage starts a page for the request: the caller, the CSRF token, the tenant in the path
// (already authorised) and any flash left by the action before.
func (c *Console) newPage(g *gin.Context, title, nav string) *page {
	p := &page{Title: title, Nav: nav, Principal: principal(g), CSRF: session(g).CSRFToken, console: c, loc: time.UTC,
		Errors: map[string]string{}, Form: url.Values{}}
	if id := g.Param("tenant"); id != "" {
		if t, err := c.Store.GetTenant(g.Request.Context(), id); err == nil {
			p.Tenant = &t
			p.loc = t.Location()
		}
	}
	if ck, err := g.Request.Cookie(flashCookie); err == nil && ck.Value != "" {
		if raw, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil {
			var f flash
			if json.Unmarshal(raw, &f) == nil && f.Message != "" {
				p.Flash = &f
			}
		}
		http.SetCookie(g.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: c.secure(g)})
	}
	return p
}

// done ends an action: it leaves its outcome for the next page and sends the browser there
// (post/redirect/get, so reloading does not repeat the action).
func (c *Console) done(g *gin.Context, kind, message, to string) {
	raw, _ := json.Marshal(flash{Kind: kind, Message: message})
	http.SetCookie(g.Writer, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(raw), Path: "/",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(g)})
	if g.GetHeader("HX-Request") != "" {
		g.Header("HX-Redirect", to)
		g.Status(http.StatusNoContent)
		return
	}
	g.Redirect(http.StatusSeeOther, to)
}

// render writes a full page.
func (c *Console) render(g *gin.Context, status int, name string, p *page) {
	t, ok := c.pages.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.Logger.Error("console: page not rendered", "page", name, "err", err)
		g.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	g.Header("Cache-Control", "no-store")
	g.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fragment writes a partial (an htmx answer).
func (c *Console) fragment(g *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := c.pages.partials.ExecuteTemplate(&buf, name, data); err != nil {
		c.Logger.Error("console: fragment not rendered", "fragment", name, "err", err)
		g.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	g.Header("Cache-Control", "no-store")
	g.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// showError answers with the error page.
func (c *Console) showError(g *gin.Context, status int, title, message string) {
	p := c.newPage(g, title, "")
	p.Data = map[string]any{"Status": status, "Message": message}
	c.render(g, status, "error", p)
	g.Abort()
}

// fail shows an error a person can act on: what the API would say, never a stack trace or
// raw JSON. Refusals of access keep their meaning (sign in, not allowed, not found, wait).
func (c *Console) fail(g *gin.Context, err error) {
	var ae *access.Error
	if errors.As(err, &ae) {
		switch ae.Kind {
		case access.Unauthenticated:
			c.toSignIn(g, "")
			return
		case access.Forbidden:
			c.showError(g, http.StatusForbidden, "Not allowed", "Your role ("+principal(g).Role+") cannot open this page or do this. Ask an admin if you need to.")
			return
		case access.NotFound:
			c.NotFound(g)
			return
		case access.RateLimited:
			g.Header("Retry-After", strconv.Itoa(seconds(ae.RetryAfter)))
			c.showError(g, http.StatusTooManyRequests, "Too many requests", ae.Message+". Try again in "+waitWords(ae.RetryAfter)+".")
			return
		}
	}
	pr := api.Explain(err)
	if pr.Status >= 500 {
		c.Logger.Error("console: request failed", "path", g.FullPath(), "err", err, "request_id", g.Writer.Header().Get("X-Request-ID"))
	}
	msg := pr.Message
	if pr.Status == http.StatusInternalServerError {
		msg = "Something went wrong on the server. The server log has the details under request " + g.Writer.Header().Get("X-Request-ID") + "."
	}
	if pr.RetryAfter > 0 {
		g.Header("Retry-After", strconv.Itoa(seconds(pr.RetryAfter)))
		msg += " Try again in " + waitWords(pr.RetryAfter) + "."
	}
	title := "Could not do that"
	if pr.Status == http.StatusNotFound {
		title = "Not found"
	}
	c.showError(g, pr.Status, title, sentence(msg))
}

// recovery turns a panic into the error page (the API's recovery answers JSON).
func (c *Console) recovery(g *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.Logger.Error("console: handler panicked", "panic", r, "path", g.Request.URL.Path)
			c.showError(g, http.StatusInternalServerError, "Something went wrong",
				"Something went wrong on the server. The server log has the details under request "+g.Writer.Header().Get("X-Request-ID")+".")
		}
	}()
	g.Next()
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// waitWords says how long to wait as people say it.
func waitWords(d time.Duration) string {
	s := seconds(d)
	switch {
	case s <= 1:
		return "a second"
	case s < 90:
		return fmt.Sprintf("%d seconds", s)
	case s < 90*60:
		m := (s + 59) / 60
		return fmt.Sprintf("%d minutes", m)
	}
	return fmt.Sprintf("%d hours", (s+3599)/3600)
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// At shows a time in the tenant's zone with the zone named ("Tue 24 Nov 2026, 06:00 GMT").
func (p *page) At(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "never"
		}
		t = *x
	default:
		return ""
	}
	if t.IsZero() {
		return "never"
	}
	return t.In(p.loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// Zone names the tenant's time zone.
func (p *page) Zone() string { return p.loc.String() }

// Can reports whether the caller's role is at least role; pages show actions only to those
// who may use them (the routes refuse the rest anyway).
func (p *page) Can(role string) bool { return p.Principal.Can(role) }

// T is the path of a tenant page.
func (p *page) T(parts ...string) string {
	if p.Tenant == nil {
		return "/"
	}
	s := "/tenants/" + url.PathEscape(p.Tenant.ID)
	for _, part := range parts {
		s += "/" + strings.TrimPrefix(part, "/")
	}
	return s
}

// WorkflowURL links a workflow run to its page in the Temporal Web UI ("" when unset).
func (p *page) WorkflowURL(workflowID, runID string) string {
	if p.console.TemporalUI == "" || workflowID == "" {
		return ""
	}
	u := strings.TrimRight(p.console.TemporalUI, "/") + "/namespaces/" + url.PathEscape(p.console.Namespace) + "/workflows/" + url.PathEscape(workflowID)
	if runID != "" {
		u += "/" + url.PathEscape(runID)
	}
	return u + "/history"
}

// ScheduleURL links a schedule to its page in the Temporal Web UI ("" when unset).
func (p *page) ScheduleURL(scheduleID string) string {
	if p.console.TemporalUI == "" {
		return ""
	}
	return strings.TrimRight(p.console.TemporalUI, "/") + "/namespaces/" + url.PathEscape(p.console.Namespace) + "/schedules/" + url.PathEscape(scheduleID)
}

// Value is a submitted form value, to show again.
func (p *page) Value(name string) string { return p.Form.Get(name) }

// qty shows a quantity (decimal, possibly absent).
func qty(v any) string {
	switch x := v.(type) {
	case decimal.NullDecimal:
		if !x.Valid {
			return "—"
		}
		return x.Decimal.String()
	case decimal.Decimal:
		return x.String()
	case *decimal.Decimal:
		if x == nil {
			return "—"
		}
		return x.String()
	}
	return fmt.Sprint(v)
}

// trend tells rises, falls and no change apart ("up", "down", "same").
func trend(v decimal.NullDecimal) string {
	switch {
	case !v.Valid || v.Decimal.IsZero():
		return "same"
	case v.Decimal.IsPositive():
		return "up"
	}
	return "down"
}

// Invalid marks an input whose value was refused, pointing at its message.
func (p *page) Invalid(name string) template.HTMLAttr {
	if _, ok := p.Errors[name]; !ok {
		return ""
	}
	id := template.HTMLEscapeString(fieldID(name))
	return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + id + `-error"`)
}

// ErrorFor is the message next to a refused field.
func (p *page) ErrorFor(name string) template.HTML {
	msg, ok := p.Errors[name]
	if !ok {
		return ""
	}
	return template.HTML(`<p class="field-error" id="` + template.HTMLEscapeString(fieldID(name)) + `-error" role="alert">` +
		template.HTMLEscapeString(sentence(msg)) + `</p>`)
}

// fieldID turns a field name ("credentials.site_url") into an element ID.
func fieldID(name string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "", " ", "-").Replace(name)
}

// Val is a form field's value: what was posted when a form was refused, else def.
func (p *page) Val(name string, def any) string {
	if p.Posted && p.Form.Has(name) {
		return p.Form.Get(name)
	}
	return fmt.Sprint(def)
}

// Checked is a check box's state: as posted when a form was refused, else def.
func (p *page) Checked(name string, def bool) bool {
	if p.Posted && p.postedSection(name) {
		return checkedValue(p.Form.Get(name))
	}
	return def
}

// postedSection reports whether the refused form was the one holding name: a form's fields
// share their first segment ("publish.schedule.enabled" and "publish.mode"), and an unticked
// box is simply absent from what was posted.
func (p *page) postedSection(name string) bool {
	section, _, _ := strings.Cut(name, ".")
	for k := range p.Form {
		if strings.HasPrefix(k, section+".") {
			return true
		}
	}
	return false
}

// PostedFor reports whether the refused form was the one with this form_id.
func (p *page) PostedFor(formID string) bool { return p.Posted && p.Form.Get("form_id") == formID }

func checkedValue(s string) bool { return s == "on" || s == "true" || s == "1" }

func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// itemWords names what an item counts: backup storage, or a licence type as the vendor
// names it.
func itemWords(item string) string {
	if item == "storage_gb" {
		return "Backup storage (GB)"
	}
	return words(item)
}
