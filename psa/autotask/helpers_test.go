package autotask

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/psa"
)

var testUsers atomic.Int64

// testEnv is an emulator behind httptest with a client of a user no other test shares.
type testEnv struct {
	emu    *emu.Server
	srv    *httptest.Server
	client *Client
	cfg    Config
}

func newTestEnv(t *testing.T, opts emu.Options, tweak func(*Config)) *testEnv {
	t.Helper()
	opts.Credentials = emu.Credentials{
		UserName:        fmt.Sprintf("unit-%d@meterbridge.example", testUsers.Add(1)),
		Secret:          "s3cret-value",
		IntegrationCode: "UNITTESTCODE",
	}
	e := emu.New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	cfg := Config{
		ZoneDiscoveryURL: srv.URL + "/atservicesrest",
		UserName:         opts.Credentials.UserName,
		Secret:           opts.Credentials.Secret,
		IntegrationCode:  opts.Credentials.IntegrationCode,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{emu: e, srv: srv, client: c, cfg: cfg}
}

// target seeds one company, recurring contract and contract service holding units.
func (e *testEnv) target(t *testing.T, units int64) psa.Target {
	t.Helper()
	start, end := span(time.Now())
	co := e.emu.AddCompany("Acme Dental")
	k := e.emu.AddContract(co, "Acme Managed Services", start, end)
	svc := e.emu.AddService("Backup Storage GB", decimal.RequireFromString("0.10"))
	cs, err := e.emu.AddContractService(k, svc, units)
	if err != nil {
		t.Fatal(err)
	}
	return psa.Target{CompanyID: co, AgreementID: k, AdditionID: cs}
}

func span(now time.Time) (time.Time, time.Time) {
	y, m, _ := now.UTC().Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(-1, 0, 0)
	return start, start.AddDate(3, 0, 0)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeClock is a settable clock whose sleeps advance it.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func (f *fakeClock) sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.t = f.t.Add(d)
	return nil
}

func (f *fakeClock) sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// recorder wraps a handler and keeps the requests it saw.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}
