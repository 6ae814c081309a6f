package backup

import (
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// Defaults of a new Server.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Options configure a Server.
type Options struct {
	// APIKey is the only key accepted; DemoAPIKey when empty.
	APIKey string
	// AccountName is what GET /v1/account reports; "Demo MSP" when empty.
	AccountName string
}

// ClientRecord is one backup client of the partner.
type ClientRecord struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ManagedID string `json:"managed_id"`
	// MonthlyGB is the billable space of every month without its own figure.
	MonthlyGB decimal.Decimal `json:"monthly_gb"`
}

// Counts are the API requests that got past injected faults.
type Counts struct {
	Usage        int `json:"usage"`
	Account      int `json:"account"`
	Unauthorized int `json:"unauthorized"`
}

type period struct{ year, month int }

type client struct {
	ClientRecord
	months map[period]decimal.Decimal
}

// Server is the emulated service. It is an http.Handler and safe for concurrent use.
type Server struct {
	mu          sync.Mutex
	apiKey      string
	accountName string
	clients     map[string]*client
	counts      Counts

	pages  *emuhttp.PageCap
	faults *fault.Injector
	mux    *emuhttp.Handler
}

// New returns an empty service.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = DemoAPIKey
	}
	if opts.AccountName == "" {
		opts.AccountName = "Demo MSP"
	}
	s := &Server{
		apiKey:      opts.APIKey,
		accountName: opts.AccountName,
		clients:     map[string]*client{},
		pages:       emuhttp.NewPageCap(MaxPageSize),
		faults:      fault.New(),
	}
	s.mux = emuhttp.NewHandler(s.faults, func(w http.ResponseWriter, _ *http.Request, status int, msg string) {
		code := "internal_error"
		if status == http.StatusTooManyRequests {
			code = "rate_limited"
		}
		emuhttp.WriteError(w, status, code, msg)
	}, s.state)
	s.mux.API.HandleFunc("GET /v1/account", s.authed(s.account))
	s.mux.API.HandleFunc("GET /v1/usage", s.authed(s.usage))
	s.mux.API.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux.Control.HandleFunc("PUT /_emulator/clients/{id}", s.putClient)
	s.mux.Control.HandleFunc("DELETE /_emulator/clients/{id}", s.deleteClient)
	s.mux.Control.HandleFunc("PUT /_emulator/clients/{id}/usage/{year}/{month}", s.putUsage)
	return s
}

// ServeHTTP serves the API, with faults, and the /_emulator/ controls, without.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Faults returns the fault switches.
func (s *Server) Faults() *fault.Injector { return s.faults }

// SetMaxPageSize caps page_size so tests see paging with few clients; n < 1 restores the default.
func (s *Server) SetMaxPageSize(n int) { s.pages.Set(n) }

// Counts returns the requests served so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// ResetCounts zeroes the request counts.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = Counts{}
}

// AddClient adds a client or replaces its details, keeping figures set for single months.
func (s *Server) AddClient(c ClientRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.clients[c.ID]; ok {
		old.ClientRecord = c
		return
	}
	s.clients[c.ID] = &client{ClientRecord: c, months: map[period]decimal.Decimal{}}
}

// RemoveClient removes a client; it no longer appears in any month.
func (s *Server) RemoveClient(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, id)
}

// ErrUnknownClient is returned for a client ID that was never added.
var ErrUnknownClient = errors.New("unknown client")

// SetUsage gives one client its own figure for one month.
func (s *Server) SetUsage(clientID string, year int, month time.Month, gb decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return ErrUnknownClient
	}
	c.months[period{year, int(month)}] = gb
	return nil
}

// Clients returns the clients ordered by ID.
func (s *Server) Clients() []ClientRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ClientRecord, 0, len(s.clients))
	for _, id := range s.sortedIDs() {
		out = append(out, s.clients[id].ClientRecord)
	}
	return out
}

func (s *Server) sortedIDs() []string {
	ids := make([]string, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// authed refuses requests without the right key, in the API's error shape.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-Key")
		code, msg := "", ""
		switch {
		case key == "":
			code, msg = "missing_api_key", "send the API key in the X-API-Key header"
		case s.faults.CredentialsRejected():
			code, msg = "invalid_api_key", "the API key has been revoked"
		case key != s.apiKey:
			code, msg = "invalid_api_key", "the API key is not valid"
		}
		if code != "" {
			s.mu.Lock()
			s.counts.Unauthorized++
			s.mu.Unlock()
			emuhttp.WriteError(w, http.StatusUnauthorized, code, msg)
			return
		}
		h(w, r)
	}
}

func (s *Server) account(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.counts.Account++
	body := map[string]any{"id": "prt_demo", "name": s.accountName, "clients": len(s.clients)}
	s.mu.Unlock()
	emuhttp.WriteJSON(w, http.StatusOK, body)
}
