package gauges

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// Defaults of a new Server.
const (
	DefaultTokenTTL = time.Hour
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Options configure a Server.
type Options struct {
	// ClientID and ClientSecret are the OAuth client accepted; the demo client when empty.
	// More can be added with AddOAuthClient.
	ClientID     string
	ClientSecret string
	// TokenTTL is how long issued tokens live; DefaultTokenTTL when zero.
	TokenTTL time.Duration
	// Now is the service's clock (token expiry, gauge functions); time.Now when nil.
	Now func() time.Time
}

// Gauge is one gauge of the service.
type Gauge struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Unit string `json:"unit"`
	// Value and MeasuredAt are a fixed reading, used when Func is nil.
	Value      decimal.Decimal `json:"value"`
	MeasuredAt time.Time       `json:"measured_at"`
	// Func computes the value from the read time; the reading is then dated at the start of
	// that hour, when the service would have recomputed it.
	Func func(time.Time) decimal.Decimal `json:"-"`
}

// reading is the value a read at now returns.
func (g Gauge) reading(now time.Time) (decimal.Decimal, time.Time) {
	if g.Func != nil {
		at := now.UTC().Truncate(time.Hour)
		return g.Func(at), at
	}
	return g.Value, g.MeasuredAt.UTC()
}

// Counts are the requests that got past injected faults.
type Counts struct {
	// TokenRequests counts calls to the token endpoint; TokensIssued the successful ones.
	TokenRequests int `json:"token_requests"`
	TokensIssued  int `json:"tokens_issued"`
	// GaugeReads counts authorised GET /v1/gauges/{id}, found or not.
	GaugeReads int `json:"gauge_reads"`
	// GaugeLists counts authorised GET /v1/gauges.
	GaugeLists int `json:"gauge_lists"`
	// Unauthorized counts API requests refused with 401.
	Unauthorized int `json:"unauthorized"`
}

type token struct {
	clientID string
	expires  time.Time
	revoked  bool
}

// Server is the emulated service. It is an http.Handler and safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	now     func() time.Time
	ttl     time.Duration
	clients map[string]string // client ID → secret
	gauges  map[string]Gauge
	tokens  map[string]*token
	counts  Counts
	reads   map[string]int

	pages  *emuhttp.PageCap
	faults *fault.Injector
	mux    *emuhttp.Handler
}

// ErrUnknownGauge is returned for a gauge ID that was never set.
var ErrUnknownGauge = errors.New("unknown gauge")

// New returns a service without gauges.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = DemoClientID, DemoClientSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		now:     opts.Now,
		ttl:     opts.TokenTTL,
		clients: map[string]string{opts.ClientID: opts.ClientSecret},
		gauges:  map[string]Gauge{},
		tokens:  map[string]*token{},
		reads:   map[string]int{},
		pages:   emuhttp.NewPageCap(MaxPageSize),
		faults:  fault.New(),
	}
	s.mux = emuhttp.NewHandler(s.faults, func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		if strings.HasPrefix(r.URL.Path, "/oauth/") {
			writeOAuthError(w, status, "temporarily_unavailable", msg)
			return
		}
		code := "internal_error"
		if status == http.StatusTooManyRequests {
			code = "rate_limited"
		}
		emuhttp.WriteError(w, status, code, msg)
	}, s.state)
	s.mux.API.HandleFunc("POST /oauth/token", s.token)
	s.mux.API.HandleFunc("GET /v1/gauges/{id}", s.authed(s.getGauge))
	s.mux.API.HandleFunc("GET /v1/gauges", s.authed(s.listGauges))
	s.mux.API.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux.Control.HandleFunc("PUT /_emulator/gauges/{id}", s.putGauge)
	s.mux.Control.HandleFunc("POST /_emulator/tokens/expire", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.Control.HandleFunc("POST /_emulator/tokens/revoke", func(w http.ResponseWriter, _ *http.Request) {
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	return s
}

// ServeHTTP serves the API, with faults, and the /_emulator/ controls, without.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Faults returns the fault switches. RejectCredentials refuses both client credentials and
// every token already issued.
func (s *Server) Faults() *fault.Injector { return s.faults }

// SetMaxPageSize caps page_size of the gauge list; n < 1 restores the default.
func (s *Server) SetMaxPageSize(n int) { s.pages.Set(n) }

// Counts returns the requests served so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Reads returns how many times one gauge was read.
func (s *Server) Reads(gaugeID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[gaugeID]
}

// ResetCounts zeroes the request counts.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = Counts{}
	s.reads = map[string]int{}
}

// AddOAuthClient accepts another client ID and secret.
func (s *Server) AddOAuthClient(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = secret
}

// SetTokenTTL changes the lifetime of tokens issued from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// ExpireTokens makes every token issued so far expired, as if its lifetime had run out.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, t := range s.tokens {
		t.expires = now
	}
}

// RevokeTokens revokes every token issued so far.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// LiveTokens counts tokens that are neither expired nor revoked.
func (s *Server) LiveTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, now := 0, s.now()
	for _, t := range s.tokens {
		if !t.revoked && now.Before(t.expires) {
			n++
		}
	}
	return n
}

// SetGauge adds or replaces a gauge; a fixed reading without MeasuredAt is dated now.
func (s *Server) SetGauge(g Gauge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.Func == nil && g.MeasuredAt.IsZero() {
		g.MeasuredAt = s.now().UTC()
	}
	s.gauges[g.ID] = g
}

// SetValue gives an existing gauge a fixed value measured now, replacing any Func.
func (s *Server) SetValue(gaugeID string, v decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gauges[gaugeID]
	if !ok {
		return ErrUnknownGauge
	}
	g.Value, g.MeasuredAt, g.Func = v, s.now().UTC(), nil
	s.gauges[gaugeID] = g
	return nil
}

// RemoveGauge deletes a gauge; reading it then answers 404.
func (s *Server) RemoveGauge(gaugeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.gauges, gaugeID)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.TokenRequests++
	s.mu.Unlock()

	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable form: "+err.Error())
		return
	}
	form := r.PostForm
	basicID, basicSecret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1 form-encodes both parts before Basic encoding.
		basicID, basicSecret = formDecode(basicID), formDecode(basicSecret)
	}
	_, formHasSecret := form["client_secret"]
	switch {
	case form.Get("grant_type") == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	case form.Get("grant_type") != "client_credentials":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	case basic && formHasSecret:
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method, not both")
		return
	}
	id, secret := basicID, basicSecret
	if !basic {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}

	s.mu.Lock()
	want, known := s.clients[id]
	s.mu.Unlock()
	if id == "" || !known || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 || s.faults.CredentialsRejected() {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="gauges"`)
		}
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}

	value := randomToken()
	s.mu.Lock()
	ttl := s.ttl
	s.tokens[value] = &token{clientID: id, expires: s.now().Add(ttl)}
	s.counts.TokensIssued++
	s.mu.Unlock()

	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	emuhttp.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": value,
		"token_type":   "Bearer",
		"expires_in":   int(ttl / time.Second),
		"scope":        "gauges:read",
	})
}

func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// authed refuses API requests without a live token, as RFC 6750 describes.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || value == "" {
			s.refuse(w, "", "send an access token as Authorization: Bearer <token>")
			return
		}
		s.mu.Lock()
		t, ok := s.tokens[value]
		now := s.now()
		s.mu.Unlock()
		switch {
		case !ok:
			s.refuse(w, "invalid_token", "the access token is not known")
		case t.revoked || s.faults.CredentialsRejected():
			s.refuse(w, "invalid_token", "the access token was revoked")
		case !now.Before(t.expires):
			s.refuse(w, "invalid_token", "the access token expired")
		default:
			h(w, r)
		}
	}
}

func (s *Server) refuse(w http.ResponseWriter, code, msg string) {
	s.mu.Lock()
	s.counts.Unauthorized++
	s.mu.Unlock()
	challenge := `Bearer realm="gauges"`
	if code != "" {
		challenge += fmt.Sprintf(`, error=%q, error_description=%q`, code, msg)
	} else {
		code = "unauthorized"
	}
	w.Header().Set("WWW-Authenticate", challenge)
	emuhttp.WriteError(w, http.StatusUnauthorized, code, msg)
}

// gaugeWire is a reading on the wire; value is a string so no float can creep in.
type gaugeWire struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Unit       string `json:"unit"`
	Value      string `json:"value"`
	MeasuredAt string `json:"measured_at"`
}

func (s *Server) wire(g Gauge) gaugeWire {
	v, at := g.reading(s.now())
	return gaugeWire{ID: g.ID, Name: g.Name, Unit: g.Unit, Value: v.String(), MeasuredAt: at.Format(time.RFC3339)}
}

func (s *Server) getGauge(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	s.counts.GaugeReads++
	s.reads[id]++
	g, ok := s.gauges[id]
	var out gaugeWire
	if ok {
		out = s.wire(g)
	}
	s.mu.Unlock()
	if !ok {
		emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no gauge "+id)
		return
	}
	emuhttp.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) sortedIDs() []string { return slices.Sorted(maps.Keys(s.gauges)) }

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	emuhttp.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
