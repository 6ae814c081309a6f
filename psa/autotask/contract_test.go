package autotask_test

import (
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/psa/autotask"
	"github.com/meterbridge/meterbridge/psa/psatest"
)

// Autotask holds whole units only, so the contract expects 123.45 to arrive as 124 (the
// activity rounds with RoundUnits first); the contract's 429 case shows the client waiting
// out Retry-After through remote.Sender.
func TestClientMeetsThePSAContract(t *testing.T) {
	psatest.Run(t, harness{})
}

type harness struct{}

// users keeps each environment's API user distinct: the client shares its limits between
// clients of one user, and cases must not share state.
var users atomic.Int64

func (harness) Start(t *testing.T) psatest.Env {
	creds := emu.Credentials{
		UserName:        fmt.Sprintf("contract-%d@meterbridge.example", users.Add(1)),
		Secret:          "right-secret",
		IntegrationCode: "CONTRACTTESTCODE",
	}
	server := emu.New(emu.Options{Credentials: creds})
	srv := httptest.NewServer(server)
	t.Cleanup(srv.Close)
	cfg := autotask.Config{
		ZoneDiscoveryURL: srv.URL + "/atservicesrest",
		UserName:         creds.UserName,
		Secret:           creds.Secret,
		IntegrationCode:  creds.IntegrationCode,
	}
	good, err := autotask.New(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = "wrong-secret"
	bad, err := autotask.New(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return &env{server: server, good: good, bad: bad}
}

type env struct {
	server    *emu.Server
	good, bad *autotask.Client
}

func (e *env) Client() psa.Client                   { return e.good }
func (e *env) ClientWithBadCredentials() psa.Client { return e.bad }
func (e *env) SetMaxPageSize(n int)                 { e.server.SetMaxPageSize(n) }
func (e *env) Faults() *fault.Injector              { return e.server.Faults() }
func (e *env) WholeUnits() bool                     { return true }

func (e *env) SeedTargets(t *testing.T, n int, qty decimal.Decimal) []psa.Target {
	t.Helper()
	if !qty.Equal(qty.Truncate(0)) {
		t.Fatalf("Autotask seeds whole units only, got %s", qty)
	}
	start, end := contractSpan(time.Now())
	var companies, contracts []int64
	for i := range 3 {
		c := e.server.AddCompany(fmt.Sprintf("Company %d", i+1))
		companies = append(companies, c)
		contracts = append(contracts, e.server.AddContract(c, fmt.Sprintf("Managed Services %d", i+1), start, end))
	}
	targets := make([]psa.Target, n)
	for i := range n {
		svc := e.server.AddService(fmt.Sprintf("Service %d", i+1), decimal.RequireFromString("2.50"))
		cs, err := e.server.AddContractService(contracts[i%3], svc, qty.IntPart())
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = psa.Target{CompanyID: companies[i%3], AgreementID: contracts[i%3], AdditionID: cs}
	}
	return targets
}

func (e *env) Quantity(t *testing.T, target psa.Target) decimal.Decimal {
	t.Helper()
	u, ok := e.server.CurrentUnits(target.AdditionID)
	if !ok {
		t.Fatalf("emulator has no units today for contract service %d", target.AdditionID)
	}
	return decimal.NewFromInt(u)
}

func (e *env) Writes(target psa.Target) int { return e.server.AdjustmentCount(target.AdditionID) }

// contractSpan runs a contract from a year before now to two years after, in whole months.
func contractSpan(now time.Time) (time.Time, time.Time) {
	y, m, _ := now.UTC().Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(-1, 0, 0)
	return start, start.AddDate(3, 0, 0)
}

func (e *env) SeedCompany(t *testing.T, name, identifier string, active bool) int64 {
	t.Helper()
	return e.server.AddCompanyWith(emu.Company{CompanyName: name, CompanyNumber: identifier, IsActive: active})
}

func (e *env) SeedAgreement(t *testing.T, companyID int64, name string, state psatest.AgreementState) int64 {
	t.Helper()
	start, end := contractSpan(time.Now())
	if state == psatest.AgreementEnded {
		// Two years that ended at the start of last month.
		end = start.AddDate(0, 11, 0)
		start = end.AddDate(-2, 0, 0)
	}
	id := e.server.AddContract(companyID, name, start, end)
	if state == psatest.AgreementCancelled && !e.server.SetContractStatus(id, 0) {
		t.Fatalf("no contract %d", id)
	}
	return id
}

func (e *env) SeedAddition(t *testing.T, agreementID int64, qty decimal.Decimal) (int64, string) {
	t.Helper()
	name := fmt.Sprintf("Backup Storage GB %d", serviceSeq.Add(1))
	svc := e.server.AddService(name, decimal.RequireFromString("0.12"))
	cs, err := e.server.AddContractService(agreementID, svc, qty.IntPart())
	if err != nil {
		t.Fatal(err)
	}
	return cs, name
}

var serviceSeq atomic.Int64
