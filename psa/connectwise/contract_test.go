package connectwise

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/psa/psatest"
)

func TestContract(t *testing.T) {
	psatest.Run(t, harness{})
}

type harness struct{}

func (harness) Start(t *testing.T) psatest.Env {
	return startEnv(t, cwemu.Options{})
}

// env is one emulator in an httptest.Server with clients pointed at it.
type env struct {
	emu  *cwemu.Server
	srv  *httptest.Server
	good *Client
	bad  *Client

	mu   sync.Mutex
	seen []seenRequest
}

// seenRequest is one request the emulator received, for tests that assert on the wire.
type seenRequest struct {
	Method, URI, Body string
	Query             url.Values
}

func startEnv(t *testing.T, opts cwemu.Options) *env {
	t.Helper()
	emu := cwemu.New(opts)
	e := &env{emu: emu}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		e.mu.Lock()
		e.seen = append(e.seen, seenRequest{Method: r.Method, URI: r.URL.RequestURI(), Body: string(body), Query: r.URL.Query()})
		e.mu.Unlock()
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.good = e.newClient(t, Config{}, nil)
	e.bad = e.newClient(t, Config{PrivateKey: "not-the-private-key"}, nil)
	return e
}

// newClient returns a client with the emulator's credentials, overridden by the non-empty
// fields of over.
func (e *env) newClient(t *testing.T, over Config, hc *http.Client) *Client {
	t.Helper()
	creds := e.emu.Credentials()
	cfg := Config{SiteURL: e.srv.URL, CompanyID: creds.CompanyID, PublicKey: creds.PublicKey, PrivateKey: creds.PrivateKey, ClientID: creds.ClientID}
	if over.PrivateKey != "" {
		cfg.PrivateKey = over.PrivateKey
	}
	if over.PublicKey != "" {
		cfg.PublicKey = over.PublicKey
	}
	if over.CompanyID != "" {
		cfg.CompanyID = over.CompanyID
	}
	if over.Codebase != "" {
		cfg.Codebase = over.Codebase
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	c, err := New(cfg, hc)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// requests returns the requests seen so far whose path contains part.
func (e *env) requests(part string) []seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []seenRequest
	for _, r := range e.seen {
		if strings.Contains(r.URI, part) {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) Client() psa.Client                   { return e.good }
func (e *env) ClientWithBadCredentials() psa.Client { return e.bad }
func (e *env) SetMaxPageSize(n int)                 { e.emu.SetMaxPageSize(n) }
func (e *env) Faults() *fault.Injector              { return e.emu.Faults() }
func (e *env) WholeUnits() bool                     { return false }

// SeedTargets spreads n BKP-GB additions over three new companies, each with an agreement.
func (e *env) SeedTargets(t *testing.T, n int, qty decimal.Decimal) []psa.Target {
	t.Helper()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	type parent struct{ company, agreement int64 }
	var parents []parent
	for i := range 3 {
		co := e.emu.SeedCompany(cwemu.Company{Identifier: fmt.Sprintf("Contract%d", i+1), Name: fmt.Sprintf("Contract Client %d", i+1)})
		ag := e.emu.SeedAgreement(cwemu.Agreement{CompanyID: co, TypeID: cwemu.AgreementTypeManagedServices,
			Name: fmt.Sprintf("Contract Client %d - Managed Services", i+1), StartDate: start})
		parents = append(parents, parent{co, ag})
	}
	out := make([]psa.Target, n)
	for i := range n {
		p := parents[i%len(parents)]
		id := e.emu.SeedAddition(cwemu.Addition{AgreementID: p.agreement, ProductID: cwemu.ProductBackupGB, Quantity: qty, EffectiveDate: start})
		out[i] = psa.Target{CompanyID: p.company, AgreementID: p.agreement, AdditionID: id}
	}
	return out
}

func (e *env) Quantity(t *testing.T, target psa.Target) decimal.Decimal {
	t.Helper()
	a, ok := e.emu.Addition(target.AgreementID, target.AdditionID)
	if !ok {
		t.Fatalf("emulator has no addition %+v", target)
	}
	return a.Quantity
}

func (e *env) Writes(target psa.Target) int {
	a, _ := e.emu.Addition(target.AgreementID, target.AdditionID)
	return a.Writes
}

func (e *env) SeedCompany(t *testing.T, name, identifier string, active bool) int64 {
	t.Helper()
	status := ""
	if !active {
		status = "Inactive"
	}
	return e.emu.SeedCompany(cwemu.Company{Identifier: identifier, Name: name, Status: status})
}

func (e *env) SeedAgreement(t *testing.T, companyID int64, name string, state psatest.AgreementState) int64 {
	t.Helper()
	a := cwemu.Agreement{CompanyID: companyID, TypeID: cwemu.AgreementTypeManagedServices, Name: name,
		StartDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	switch state {
	case psatest.AgreementEnded:
		a.EndDate = time.Now().UTC().AddDate(0, 0, -40).Truncate(24 * time.Hour)
	case psatest.AgreementCancelled:
		a.Cancelled = true
	}
	return e.emu.SeedAgreement(a)
}

func (e *env) SeedAddition(t *testing.T, agreementID int64, qty decimal.Decimal) (int64, string) {
	t.Helper()
	id := e.emu.SeedAddition(cwemu.Addition{AgreementID: agreementID, ProductID: cwemu.ProductBackupGB, Quantity: qty,
		EffectiveDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	return id, "BKP-GB"
}
