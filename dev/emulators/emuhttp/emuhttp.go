// Package emuhttp is the HTTP plumbing the vendor emulators (backup, licenses, gauges) and
// the mail sink share: an API served behind the fault switches with the /_emulator/
// controls beside it, a page-size cap and next links, and JSON answers. What each emulated
// service documents (its paths, authentication and error shape) stays in its own package.
package emuhttp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// ControlPrefix starts the path of every control of an emulator; controls are served
// without faults.
const ControlPrefix = "/_emulator/"

// StatePath serves a JSON dump of an emulator's state, for people with curl.
const StatePath = ControlPrefix + "state"

// Handler serves an emulated API behind its fault switches, and the /_emulator/ controls
// beside it, without faults.
type Handler struct {
	// API holds the routes of the emulated API.
	API *http.ServeMux
	// Control holds the routes under ControlPrefix; the fault switches (fault.ControlPath)
	// and GET StatePath are there already.
	Control *http.ServeMux
	api     http.Handler
}

// NewHandler puts faults in front of the API, rendering injected errors with writeFault in
// the API's own error shape, and serves state at StatePath.
func NewHandler(faults *fault.Injector, writeFault fault.WriteError, state http.HandlerFunc) *Handler {
	h := &Handler{API: http.NewServeMux(), Control: http.NewServeMux()}
	h.api = faults.Middleware(h.API, writeFault)
	h.Control.Handle(fault.ControlPath, faults.ControlHandler())
	h.Control.HandleFunc("GET "+StatePath, state)
	return h
}

// ServeHTTP sends /_emulator/ paths to the controls and everything else to the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		h.Control.ServeHTTP(w, r)
		return
	}
	h.api.ServeHTTP(w, r)
}

// PageCap is the largest page an emulator serves. Tests lower it to see paging with few
// rows. It is safe for concurrent use.
type PageCap struct {
	apiMax int
	n      atomic.Int64
}

// NewPageCap returns a cap at the API's own maximum.
func NewPageCap(apiMax int) *PageCap {
	p := &PageCap{apiMax: apiMax}
	p.Set(0)
	return p
}

// Set caps pages at n; n < 1 restores the API's own maximum.
func (p *PageCap) Set(n int) {
	if n < 1 {
		n = p.apiMax
	}
	p.n.Store(int64(n))
}

// Get returns the cap.
func (p *PageCap) Get() int { return int(p.n.Load()) }

// PositiveInt reads the query parameter name as a positive integer, def when it is absent;
// ok is false when it is given but is not a positive integer.
func PositiveInt(q url.Values, name string, def int) (n int, ok bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// NextLink is the absolute URL of path with query q on the host the request came to, for
// the links a client follows to the next page.
func NextLink(r *http.Request, path string, q url.Values) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: path, RawQuery: q.Encode()}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}

// DecodeBody reads a control request's JSON body, at most 64 KiB, into v.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(v)
}

// WriteJSON answers status with v as application/json.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONAs(w, status, "application/json", v)
}

// WriteJSONAs answers status with v as JSON of the media type given, such as
// application/problem+json.
func WriteJSONAs(w http.ResponseWriter, status int, mediaType string, v any) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError answers status with the error envelope {"error": {"code", "message"}} that
// the backup and gauge services and the mail sink use.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteFieldError(w, status, code, msg, "")
}

// WriteFieldError is WriteError naming the offending request field; an empty field is left
// out of the body.
func WriteFieldError(w http.ResponseWriter, status int, code, msg, field string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	WriteJSON(w, status, map[string]body{"error": {code, msg, field}})
}
