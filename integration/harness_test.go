package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/activities"
	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/console"
	"github.com/meterbridge/meterbridge/dev/demo"
	"github.com/meterbridge/meterbridge/dev/emulators/mailsink"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
	"github.com/meterbridge/meterbridge/notify"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/worker"
)

// stack is one test's meterbridge: its own database, task queue, emulators, worker and API.
type stack struct {
	t         *testing.T
	world     *demo.World
	urls      demo.URLs
	store     *store.Store
	temporal  client.Client
	taskQueue string
	starter   *starter.Starter
	acts      *activities.Activities
	api       *httptest.Server
	mail      *mailsink.Sink
	worker    sdkworker.Worker

	adminToken, approverToken, viewerToken string

	// tenantID is this test's own demo tenant: workflow IDs contain it, and every test of the
	// package shares one Temporal namespace. tp is its API path.
	tenantID, tp string

	// databaseURL and secretKeys let a separate worker process join this stack.
	databaseURL, secretKeys string

	// clock is the console's clock (sessions' idle timeout); tests move it.
	clock *testClock

	// cwWrites can hold ConnectWise addition writes in flight (open unless a test closes it).
	cwWrites *writeGate
}

// testClock is a clock a test moves forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, world: demo.NewWorld(), tenantID: fmt.Sprintf("demo-%d", tenantSeq.Add(1)), cwWrites: newWriteGate()}
	s.tp = "/api/v1/tenants/" + s.tenantID
	s.urls = demo.URLs{
		ConnectWise: serve(t, s.cwWrites.wrap(s.world.ConnectWise)),
		Autotask:    serve(t, s.world.Autotask),
		Backup:      serve(t, s.world.Backup),
		Licences:    serve(t, s.world.Licences),
		Gauges:      serve(t, s.world.Gauges),
	}
	// Runs before the servers close (cleanups run last first): nothing may wait at the gate then.
	t.Cleanup(s.cwWrites.open)
	var err error
	s.mail, err = mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.mail.Close() })

	s.secretKeys = secrets.NewKey("test")
	box, err := secrets.ParseKeys(s.secretKeys)
	if err != nil {
		t.Fatal(err)
	}
	s.databaseURL = testenv.DatabaseURL(t)
	s.store, err = store.Open(context.Background(), s.databaseURL, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.store.Close)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, s.store, s.urls, demo.Options{TenantID: s.tenantID, Emails: []string{"billing@demo-msp.example"}}); err != nil {
		t.Fatal(err)
	}
	s.adminToken = s.token(store.Token{Role: store.RoleAdmin, OwnerEmail: "admin@demo-msp.example"})
	s.approverToken = s.token(store.Token{TenantID: s.tenantID, Role: store.RoleApprover, OwnerEmail: "ann@demo-msp.example"})
	s.viewerToken = s.token(store.Token{TenantID: s.tenantID, Role: store.RoleViewer, OwnerEmail: "vic@demo-msp.example"})

	s.temporal = temporalenv.Client(t)
	s.taskQueue = temporalenv.TaskQueue(t)
	s.acts = &activities.Activities{
		Store:    s.store,
		Connect:  connect.New(s.store, testOutbound),
		Notifier: notify.New(notify.SMTPConfig{Addr: s.mail.SMTPAddr(), From: "meterbridge@demo-msp.example", TLS: "none"}, testOutbound),
		Logger:   testenv.Logger(),
	}
	// The API, the console and the starter share one connector, as the production process does.
	conn := connect.New(s.store, testOutbound)
	s.starter = &starter.Starter{Temporal: s.temporal, Store: s.store, TaskQueue: s.taskQueue, Clients: conn}
	s.acts.Workflows = s.starter
	s.acts.Schedules = s.starter
	// The API serves the console on the same engine, as the production process does.
	s.clock = &testClock{}
	guard := access.NewGuard(s.store, 1000, 0)
	pages := console.New(console.Deps{Store: s.store, Starter: s.starter, Guard: guard, Connector: conn, Logger: testenv.Logger(), Now: s.clock.Now,
		TemporalUI: "http://127.0.0.1:8233", Namespace: "default"})
	s.api = httptest.NewServer(api.New(api.Deps{Store: s.store, Starter: s.starter, Temporal: s.temporal, Logger: testenv.Logger(), RateLimit: 1000,
		Guard: guard, Pages: pages, Connector: conn, Outbound: testOutbound}))
	t.Cleanup(s.api.Close)
	return s
}

var tenantSeq atomic.Int64

// testOutbound is the outbound policy of the tests' stacks: the emulators answer on
// loopback over http, as in the dev stack (METERBRIDGE_ALLOW_PRIVATE_TARGETS).
var testOutbound = egress.New(egress.Options{AllowPrivate: true})

func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (s *stack) token(tok store.Token) string {
	_, secret, err := s.store.CreateToken(context.Background(), tok)
	if err != nil {
		s.t.Fatal(err)
	}
	return secret
}

// startWorker starts a worker on the test's task queue; stopWorker stops it.
func (s *stack) startWorker() {
	s.t.Helper()
	s.worker = worker.New(s.temporal, s.acts, worker.Options{TaskQueue: s.taskQueue})
	if err := s.worker.Start(); err != nil {
		s.t.Fatal(err)
	}
	w := s.worker
	s.t.Cleanup(w.Stop)
}

func (s *stack) stopWorker() {
	s.worker.Stop()
	s.worker = nil
}

// call sends a request to the API and decodes the JSON answer into out (when not nil).
func (s *stack) call(method, path, token string, body any, out any) int {
	s.t.Helper()
	return s.callAt(s.api.URL, method, path, token, body, out)
}

// callAt is call against the API served at base.
func (s *stack) callAt(base, method, path, token string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// eventually polls f until it returns true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeGate stands between meterbridge and the ConnectWise emulator. While it is closed, a
// write of an agreement addition (PATCH …/additions/{id}) waits at the gate — in flight, as a
// slow PSA would hold it — until the gate opens; the request then reaches the emulator. A
// request whose caller gives up first never reaches it.
type writeGate struct {
	mu      sync.Mutex
	closed  bool
	release chan struct{}
	// held receives the path of each write that arrives while the gate is closed.
	held chan string
	// done counts the writes that reached the emulator and were answered.
	done atomic.Int64
}

func newWriteGate() *writeGate { return &writeGate{held: make(chan string, 100)} }

func (g *writeGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch || !strings.Contains(r.URL.Path, "/additions/") {
			h.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		closed, release := g.closed, g.release
		g.mu.Unlock()
		if closed {
			g.held <- r.URL.Path
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
		g.done.Add(1)
	})
}

// close makes the next writes wait.
func (g *writeGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed, g.release = true, make(chan struct{})
	}
}

// open lets the waiting writes and all later ones through.
func (g *writeGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		g.closed = false
		close(g.release)
	}
}
