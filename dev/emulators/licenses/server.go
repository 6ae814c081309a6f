package licenses

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// Paging limits of a new Server.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Options configure a Server.
type Options struct {
	// APIToken is the only token accepted; DemoAPIToken when empty.
	APIToken string
	// OrgName is what GET /v1/me reports; "Demo MSP" when empty.
	OrgName string
}

// Account is a customer account in the portal.
type Account struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"` // "active" (default) or "suspended"
}

// Counts are the API requests that got past injected faults.
type Counts struct {
	Accounts     int `json:"accounts"`
	Me           int `json:"me"`
	Unauthorized int `json:"unauthorized"`
}

type account struct {
	Account
	units map[string]decimal.Decimal
}

// Server is the emulated portal. It is an http.Handler and safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	token    string
	orgName  string
	accounts map[string]*account
	counts   Counts

	pages  *emuhttp.PageCap
	faults *fault.Injector
	mux    *emuhttp.Handler
}

// ErrUnknownAccount is returned for an account ID that was never added.
var ErrUnknownAccount = errors.New("unknown account")

// New returns an empty portal.
func New(opts Options) *Server {
	if opts.APIToken == "" {
		opts.APIToken = DemoAPIToken
	}
	if opts.OrgName == "" {
		opts.OrgName = "Demo MSP"
	}
	s := &Server{token: opts.APIToken, orgName: opts.OrgName, accounts: map[string]*account{}, pages: emuhttp.NewPageCap(MaxPageSize), faults: fault.New()}
	s.mux = emuhttp.NewHandler(s.faults, func(w http.ResponseWriter, _ *http.Request, status int, msg string) {
		code := "internal-error"
		if status == http.StatusTooManyRequests {
			code = "rate-limited"
		}
		writeProblem(w, status, code, msg)
	}, s.state)
	s.mux.API.HandleFunc("GET /v1/me", s.authed(s.me))
	s.mux.API.HandleFunc("GET /v1/accounts", s.authed(s.listAccounts))
	s.mux.API.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not-found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux.Control.HandleFunc("PUT /_emulator/accounts/{id}", s.putAccount)
	s.mux.Control.HandleFunc("PUT /_emulator/accounts/{id}/licenses/{type}", s.putLicence)
	s.mux.Control.HandleFunc("DELETE /_emulator/accounts/{id}/licenses/{type}", s.deleteLicence)
	return s
}

// ServeHTTP serves the API, with faults, and the /_emulator/ controls, without.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Faults returns the fault switches.
func (s *Server) Faults() *fault.Injector { return s.faults }

// SetMaxPageSize caps per_page so tests see paging with few accounts; n < 1 restores the default.
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

// AddAccount adds an account or changes its name and status, keeping its licences.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Status == "" {
		a.Status = "active"
	}
	if old, ok := s.accounts[a.ID]; ok {
		old.Account = a
		return
	}
	s.accounts[a.ID] = &account{Account: a, units: map[string]decimal.Decimal{}}
}

// RemoveAccount removes an account and its licences.
func (s *Server) RemoveAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, id)
}

// SetUnits sets the units of one licence type on an account, adding the type if needed.
func (s *Server) SetUnits(accountID, licenceType string, units decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return ErrUnknownAccount
	}
	a.units[licenceType] = units
	return nil
}

// RemoveLicence removes a licence type from an account.
func (s *Server) RemoveLicence(accountID, licenceType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[accountID]; ok {
		delete(a.units, licenceType)
	}
}

// Units returns the units an account holds of a licence type.
func (s *Server) Units(accountID, licenceType string) (decimal.Decimal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return decimal.Decimal{}, false
	}
	u, ok := a.units[licenceType]
	return u, ok
}

// Accounts returns the accounts ordered by ID.
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Account{}
	for _, id := range slices.Sorted(maps.Keys(s.accounts)) {
		out = append(out, s.accounts[id].Account)
	}
	return out
}

// authed refuses requests without the right token, as problem details.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		code, detail := "", ""
		switch {
		case !ok || token == "":
			code, detail = "unauthorized", "send an API token as Authorization: Bearer <token>"
		case s.faults.CredentialsRejected():
			code, detail = "invalid-token", "the API token has been revoked"
		case token != s.token:
			code, detail = "invalid-token", "the API token is not valid"
		}
		if code != "" {
			s.mu.Lock()
			s.counts.Unauthorized++
			s.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Bearer realm="licence-portal"`)
			writeProblem(w, http.StatusUnauthorized, code, detail)
			return
		}
		h(w, r)
	}
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.counts.Me++
	name := s.orgName
	s.mu.Unlock()
	emuhttp.WriteJSON(w, http.StatusOK, map[string]string{"id": "org_demo", "name": name})
}

type invalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func writeProblem(w http.ResponseWriter, status int, code, detail string, params ...invalidParam) {
	emuhttp.WriteJSONAs(w, status, "application/problem+json", struct {
		Type          string         `json:"type"`
		Title         string         `json:"title"`
		Status        int            `json:"status"`
		Detail        string         `json:"detail"`
		InvalidParams []invalidParam `json:"invalid_params,omitempty"`
	}{"/problems/" + code, http.StatusText(status), status, detail, params})
}
