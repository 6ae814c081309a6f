// Package console is meterbridge's web console: server-rendered pages for the people who
// approve and administer, served by the API process on the API's port. Pages call the same
// store, starter and connector functions as the JSON API, and the same access.Guard decides
// who may see and do what, so a rule lives in one place whichever way a person comes in.
//
// The layout follows Miniflux's: one file per page or action, named for what a person does
// (pending_show.go shows the page, pending_decide.go takes its form), a form package that
// parses and validates each form, the session and CSRF middleware, one routes file, templates
// in one folder with a shared layout, and small JavaScript served as files so the strict
// Content-Security-Policy holds.
package console

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/lookup"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// IdleTimeout ends a session after this long without a request (the licence-sync product
// meterbridge replaces does the same).
const IdleTimeout = 20 * time.Minute

// Deps are what the console needs; Store, Starter and Guard are the API's own.
type Deps struct {
	Store   *store.Store
	Starter *starter.Starter
	Guard   *access.Guard
	// Connector opens tenants' PSA and vendor clients (connection tests, mapping checks).
	Connector *connect.Connector
	// Lookup answers the mapping page's PSA company, agreement and addition lists (the
	// API's own, so both share one cache); nil builds one over Connector.
	Lookup *lookup.Service
	Logger *slog.Logger
	// Now is the clock of sessions (time.Now when nil); tests move it past the idle timeout.
	Now func() time.Time
	// SecureCookies marks the session cookie Secure even when the request did not come over
	// TLS (behind a TLS-terminating proxy). Requests over TLS always get Secure cookies.
	SecureCookies bool
	// TemporalUI is the Temporal Web UI's base URL; when set, cycles and schedules link to
	// their pages there. Namespace is the Temporal namespace of those links.
	TemporalUI string
	Namespace  string
}

// Console is the web console.
type Console struct {
	Deps
	pages  *renderer
	csrf   *http.CrossOriginProtection
	static http.Handler
}

// New builds the console.
func New(d Deps) *Console {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Connector == nil {
		d.Connector = connect.New(d.Store, nil)
	}
	if d.Lookup == nil {
		d.Lookup = lookup.New(d.Connector, lookup.Options{})
	}
	if d.Namespace == "" {
		d.Namespace = "default"
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	return &Console{
		Deps:   d,
		pages:  newRenderer(),
		csrf:   http.NewCrossOriginProtection(),
		static: http.StripPrefix("/static/", http.FileServerFS(sub)),
	}
}

// Register adds the console's routes to the API's engine (see routes.go).
func (c *Console) Register(r *gin.Engine) { c.register(r) }

// NotFound answers a path no route matches with the console's 404 page.
func (c *Console) NotFound(g *gin.Context) {
	c.showError(g, http.StatusNotFound, "Page not found", "There is no page at this address. Check the link, or go back to the start.")
}
