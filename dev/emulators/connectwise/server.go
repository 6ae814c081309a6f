// Package connectwise emulates the subset of the ConnectWise PSA REST API ("apis/3.0") that
// meterbridge uses, faithfully enough that the real client is tested against it: codebase
// discovery, Basic + clientId auth, conditions/orderBy/fields, Link paging, /count, the
// PATCH dialect, validation errors in the API's shape, and switchable faults.
//
// Facts come from shared/reference/psa-apis.md section 1; behaviour no source confirmed is
// marked "Unconfirmed:" and made strict, so a client that leans on it fails here first.
//
// People can look and poke with curl:
//
//	curl localhost:8091/_emulator/state
//	curl -X PUT localhost:8091/_emulator/faults -d '{"burst_429":3,"retry_after_seconds":2}'
//	curl -u 'meterbridge+emulator-public-key:emulator-private-key' \
//	     -H 'clientId: 2d3b8a4e-6f1c-4b59-9a0e-7c5d1e2f3a40' \
//	     'localhost:8091/v4_6_release/apis/3.0/company/companies?pageSize=2'
package connectwise

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// DefaultCodebase is the codebase router segment every cloud tenant answers on.
const DefaultCodebase = "v4_6_release/"

// StatePath serves a JSON dump of every collection, for people with curl.
const StatePath = "/_emulator/state"

// Credentials are the keys the emulator accepts.
type Credentials struct {
	CompanyID  string `json:"company_id"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"-"`
	ClientID   string `json:"client_id"`
}

// DefaultCredentials are accepted when Options.Credentials is zero.
var DefaultCredentials = Credentials{
	CompanyID:  "meterbridge",
	PublicKey:  "emulator-public-key",
	PrivateKey: "emulator-private-key",
	ClientID:   "2d3b8a4e-6f1c-4b59-9a0e-7c5d1e2f3a40",
}

// Options configure an emulator; the zero value is a working default.
type Options struct {
	// Codebase the company info endpoint reports, e.g. "v2025_1/"; DefaultCodebase when
	// empty. DefaultCodebase always answers too, as the real router does.
	Codebase string
	// Credentials accepted; DefaultCredentials when zero.
	Credentials Credentials
	// ClientIDOptional accepts requests without a clientId header (the spec marks it
	// optional; the docs say it is required, so by default it is).
	ClientIDOptional bool
	// Auth404 answers refused credentials with 404, as cloud servers have been reported to.
	Auth404 bool
	// MaxPageSize caps pageSize (the API's cap is 1000).
	MaxPageSize int
	// Fixture is the starting state; DefaultFixture() when nil, nothing when empty.
	Fixture *Fixture
	// APIVersion is reported in api-current-version and /system/info; "2025.1" when empty.
	APIVersion string
	// CompanyName is what company info says; "Meterbridge Demo MSP" when empty.
	CompanyName string
	// Now is the emulator's clock (time.Now when nil).
	Now func() time.Time
}

// Server is an emulated ConnectWise PSA site. It is safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	opts     Options
	codebase string
	creds    Credentials
	maxPage  int
	store    *store
	faults   *fault.Injector
	now      func() time.Time
	control  http.Handler
	// beforeCreate, when set, runs before each POST creates a record (see BeforeCreate).
	beforeCreate func(collection string)
}

// New returns an emulator seeded with opts.Fixture. It panics if the fixture is invalid:
// that is a bug in the fixture, not a runtime condition.
func New(opts Options) *Server {
	s := &Server{opts: opts, store: newStore(), faults: fault.New(), now: opts.Now}
	s.codebase = normalizeCodebase(opts.Codebase)
	if s.codebase == "" {
		s.codebase = DefaultCodebase
	}
	s.creds = opts.Credentials
	if s.creds == (Credentials{}) {
		s.creds = DefaultCredentials
	}
	s.maxPage = opts.MaxPageSize
	if s.maxPage <= 0 || s.maxPage > 1000 {
		s.maxPage = 1000
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.APIVersion == "" {
		s.opts.APIVersion = "2025.1"
	}
	if s.opts.CompanyName == "" {
		s.opts.CompanyName = "Meterbridge Demo MSP"
	}
	s.control = s.faults.ControlHandler()
	f := opts.Fixture
	if f == nil {
		d := DefaultFixture()
		f = &d
	}
	if err := s.Seed(*f); err != nil {
		panic("connectwise emulator fixture: " + err.Error())
	}
	return s
}

func normalizeCodebase(cb string) string {
	cb = strings.Trim(strings.TrimSpace(cb), "/")
	if cb == "" {
		return ""
	}
	return cb + "/"
}

// ServeHTTP routes emulator controls, then the API behind the fault switches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, fault.ControlPath):
		s.control.ServeHTTP(w, r)
	case r.URL.Path == StatePath:
		s.serveState(w, r)
	default:
		s.serveWithFaults(w, r)
	}
}

// serveWithFaults applies the injector's decision. Unlike fault.Injector.Middleware, the
// latency is served after the request has been handled: a slow ConnectWise still does the
// work when the client gives up waiting, which is the case (a create that times out but
// succeeds) that clients must survive without duplicating records.
func (s *Server) serveWithFaults(w http.ResponseWriter, r *http.Request) {
	d := s.faults.Decide(r.URL.Path)
	if d.Status != 0 {
		if !wait(r.Context(), d.Delay) {
			return
		}
		if d.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfter))
		}
		writeFault(w, r, d.Status, d.Body)
		return
	}
	if d.Delay <= 0 {
		s.serveAPI(w, r)
		return
	}
	rec := &buffered{header: http.Header{}, status: http.StatusOK}
	s.serveAPI(rec, r)
	if !wait(r.Context(), d.Delay) {
		return
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// buffered holds a response until injected latency has passed.
type buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header is the held response's header.
func (b *buffered) Header() http.Header { return b.header }

// Write holds body bytes.
func (b *buffered) Write(p []byte) (int, error) { return b.body.Write(p) }

// WriteHeader holds the status.
func (b *buffered) WriteHeader(status int) { b.status = status }

// serveAPI serves company info and everything under /{codebase}apis/3.0.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rest, ok := cutPrefixFold(p, "/login/companyinfo/"); ok {
		s.serveCompanyInfo(w, r, rest)
		return
	}
	rest, ok := s.underCodebase(p)
	if !ok {
		writeError(w, endpointNotFound())
		return
	}
	w.Header().Set("api-current-version", s.opts.APIVersion)
	if e := s.authenticate(r); e != nil {
		writeError(w, e)
		return
	}
	s.serveResource(w, r, strings.Trim(rest, "/"))
}

// underCodebase strips "/{codebase}apis/3.0" from p, accepting the current codebase and
// the v4_6_release router.
func (s *Server) underCodebase(p string) (string, bool) {
	s.mu.Lock()
	current := s.codebase
	s.mu.Unlock()
	for _, cb := range []string{current, DefaultCodebase} {
		if rest, ok := cutPrefixFold(p, "/"+cb+"apis/3.0"); ok && (rest == "" || rest[0] == '/') {
			return rest, true
		}
	}
	return "", false
}

// cutPrefixFold is strings.CutPrefix ignoring case: the API runs on IIS, whose paths are
// case-insensitive.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// serveCompanyInfo answers codebase discovery without authentication: JSON null for an
// unknown company. Unconfirmed: every field but Codebase; they are what a browser sees on
// a cloud site and are served so clients that read them do not break.
func (s *Server) serveCompanyInfo(w http.ResponseWriter, r *http.Request, company string) {
	if r.Method != http.MethodGet {
		writeError(w, methodNotAllowed(r.Method))
		return
	}
	s.mu.Lock()
	creds, cb := s.creds, s.codebase
	s.mu.Unlock()
	if !strings.EqualFold(strings.Trim(company, "/"), creds.CompanyID) {
		writeJSON(w, http.StatusOK, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"CompanyName":   s.opts.CompanyName,
		"Codebase":      cb,
		"VersionCode":   "v" + s.opts.APIVersion,
		"VersionNumber": "v4.6." + strings.ReplaceAll(s.opts.APIVersion, ".", ""),
		"CompanyID":     creds.CompanyID,
		"IsCloud":       false,
		"SiteUrl":       r.Host,
	})
}

// authenticate checks Basic "company+public:private" and the clientId header.
// Unconfirmed: the wording of the API's 401 messages, and whether a clientId is checked
// against a registry (here: it must equal the configured one when sent).
func (s *Server) authenticate(r *http.Request) *apiError {
	s.mu.Lock()
	creds := s.creds
	s.mu.Unlock()
	refuse := func(msg string) *apiError {
		if s.opts.Auth404 {
			return endpointNotFound()
		}
		return unauthorized(msg)
	}
	if s.faults.CredentialsRejected() {
		return refuse("The API member's keys are no longer valid.")
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return refuse("Basic authorization with company+publicKey:privateKey is required.")
	}
	company, public, ok := strings.Cut(user, "+")
	if !ok || !strings.EqualFold(company, creds.CompanyID) || public != creds.PublicKey || pass != creds.PrivateKey {
		return refuse("The company, public key or private key is not valid.")
	}
	switch id := r.Header.Get("clientId"); {
	case id == "" && !s.opts.ClientIDOptional:
		return refuse("A clientId header is required; get one at developer.connectwise.com.")
	case id != "" && creds.ClientID != "" && !strings.EqualFold(id, creds.ClientID):
		return refuse("The clientId is not valid.")
	}
	return nil
}

// memberID is how _info.updatedBy names the API member. The caller holds s.mu.
func (s *Server) memberID() string { return s.creds.PublicKey }

// serveState dumps every collection (GET only).
func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, methodNotAllowed(r.Method))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	colls := map[string][]doc{}
	for name := range s.store.res {
		rows := []doc{}
		for _, rec := range s.store.listAll(name) {
			rows = append(rows, rec.doc)
		}
		colls[name] = rows
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{
		"codebase":      s.codebase,
		"company_id":    s.creds.CompanyID,
		"public_key":    s.creds.PublicKey,
		"client_id":     s.creds.ClientID,
		"max_page_size": s.maxPage,
		"faults":        s.faults.Settings(),
		"collections":   colls,
	})
}
