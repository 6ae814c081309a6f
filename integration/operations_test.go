package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/app"
	"github.com/meterbridge/meterbridge/config"
	"github.com/meterbridge/meterbridge/dev/demo"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/dev/emulators/mailsink"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
	"github.com/meterbridge/meterbridge/worker"
)

// process is meterbridge assembled the way `meterbridge worker` and `meterbridge api` assemble
// it — config.Load, app.Open (with the Temporal SDK's metrics handler and, when tracing is
// on, its tracing interceptor), Runtime.RunWorker with METERBRIDGE_METRICS_ADDR — on a fresh
// database, the package's Temporal server and the emulators. Its stack has the same helpers
// as newStack's.
type process struct {
	*stack
	rt *app.Runtime
	// metrics is the worker's metrics and health address (http://127.0.0.1:port).
	metrics string
	status  *worker.Status
}

func newProcess(t *testing.T) *process {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, world: demo.NewWorld(), tenantID: fmt.Sprintf("demo-%d", tenantSeq.Add(1))}
	s.tp = "/api/v1/tenants/" + s.tenantID
	s.urls = demo.URLs{
		ConnectWise: serve(t, s.world.ConnectWise), Autotask: serve(t, s.world.Autotask), Backup: serve(t, s.world.Backup),
		Licences: serve(t, s.world.Licences), Gauges: serve(t, s.world.Gauges),
	}
	var err error
	s.mail, err = mailsink.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.mail.Close() })
	s.databaseURL, s.secretKeys, s.taskQueue = testenv.DatabaseURL(t), secrets.NewKey("test"), temporalenv.TaskQueue(t)
	metricsAddr := freeAddr(t)
	env := map[string]string{
		"DATABASE_URL":             s.databaseURL,
		"METERBRIDGE_SECRET_KEYS":  s.secretKeys,
		"METERBRIDGE_TASK_QUEUE":   s.taskQueue,
		"METERBRIDGE_METRICS_ADDR": metricsAddr,
		"METERBRIDGE_SMTP_ADDR":    s.mail.SMTPAddr(),
		"METERBRIDGE_SMTP_TLS":     "none",
		"METERBRIDGE_API_RATE":     "1000",
		// The emulators listen on loopback over plain http.
		"METERBRIDGE_ALLOW_PRIVATE_TARGETS": "true",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	srv := temporalenv.Server(t)
	rt, err := app.Open(ctx, cfg, map[string]string{"TEMPORAL_ADDRESS": srv.FrontendAddress(), "TEMPORAL_NAMESPACE": srv.Namespace()}, testenv.Logger())
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	s.store, s.temporal, s.starter, s.acts = rt.Store, rt.Temporal, rt.Starter(), rt.Activities()
	_, err = demo.Seed(ctx, s.store, s.urls, demo.Options{TenantID: s.tenantID, Emails: []string{"billing@demo-msp.example"}})
	require.NoError(t, err)
	s.adminToken = s.token(store.Token{Role: store.RoleAdmin, OwnerEmail: "admin@demo-msp.example"})
	s.approverToken = s.token(store.Token{TenantID: s.tenantID, Role: store.RoleApprover, OwnerEmail: "ann@demo-msp.example"})
	s.viewerToken = s.token(store.Token{TenantID: s.tenantID, Role: store.RoleViewer, OwnerEmail: "vic@demo-msp.example"})
	s.api = httptest.NewServer(rt.APIHandler())
	t.Cleanup(s.api.Close)

	p := &process{stack: s, rt: rt, metrics: "http://" + metricsAddr, status: &worker.Status{}}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.RunWorker(wctx, worker.Options{Status: p.status}) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
	eventually(t, 30*time.Second, "the worker to be ready", func() bool {
		code, _ := p.get("/readyz")
		return code == http.StatusOK
	})
	return p
}

// get asks the worker's metrics address.
func (p *process) get(path string) (int, string) {
	resp, err := http.Get(p.metrics + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sample reads one sample of a scrape: the value of name whose labels include every label
// given ("k", "v", ...), summed over the series that match.
func sample(scrape, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	sc := bufio.NewScanner(strings.NewReader(scrape))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		series, value, ok := strings.Cut(line, "} ")
		if !ok {
			series, value, _ = strings.Cut(line, " ")
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(series, labels[i]+`="`+labels[i+1]+`"`) {
				match = false
			}
		}
		if !match {
			continue
		}
		if f := strings.Fields(value); len(f) > 0 {
			v, err := strconv.ParseFloat(f[0], 64)
			if err == nil {
				sum += v
				found = true
			}
		}
	}
	return sum, found
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// The worker's metrics address serves Prometheus metrics of the HTTP API, the Temporal SDK
// (worker and client) and the business: a publish whose ConnectWise read was rate limited
// once, approved, pushed and finished; and a metric snapshot.
func TestMetricsShowRequestsTemporalWorkerAndBusinessEvents(t *testing.T) {
	p := newProcess(t)
	_, before := p.get("/metrics")
	finished0, _ := sample(before, "meterbridge_cycles_finished_total", "kind", "usage_publish", "status", "completed")
	applied0, _ := sample(before, "meterbridge_items_pushed_total", "kind", "usage_publish", "outcome", "applied")
	waits0, _ := sample(before, "meterbridge_rate_limit_waits_total", "service", "connectwise")

	// ConnectWise answers the first request 429 with Retry-After: 1; the sender waits and retries.
	p.world.ConnectWise.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 1})
	id := p.publish(nil)
	var pending pendingAnswer
	eventually(t, 60*time.Second, "three pending updates", func() bool {
		p.call("GET", p.tp+"/pending", p.viewerToken, nil, &pending)
		return len(pending.Pending) == 3
	})
	require.Equal(t, http.StatusOK, p.call("POST", p.tp+"/pending/approve", p.approverToken, map[string]any{"all": true}, nil), "the cycle answers the approval")
	p.waitCycle(id, 60*time.Second)

	m := p.createMetric("Europe/London", quietTime(t, "Europe/London", 0))
	require.Equal(t, http.StatusOK, p.call("POST", p.tp+"/metrics/"+m.ID+"/sync", p.approverToken, nil, nil), "sync now answers with the reading")

	var scrape string
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, scrape = p.get("/metrics")
		_, snap := sample(scrape, "meterbridge_snapshot_lag_seconds_count", "kind", "sync")
		_, sdk := sample(scrape, "temporal_activity_execution_latency_seconds_count", "activity_type", "PushPage", "task_queue", strings.ReplaceAll(p.taskQueue, "-", "_"))
		if snap && sdk {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: snapshot lag scraped %v, Temporal SDK activity latency scraped %v:\n%s\n%s", snap, sdk,
				grep(scrape, "meterbridge_snapshot"), grep(scrape, "temporal_activity"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// HTTP: by route template and status, with latency buckets.
	n, ok := sample(scrape, "meterbridge_http_request_duration_seconds_count", "method", "POST", "route", "/api/v1/tenants/:tenant/publish", "status", "202")
	require.True(t, ok, "no publish request in:\n%s", grep(scrape, "meterbridge_http"))
	require.GreaterOrEqual(t, n, 1.0)
	_, ok = sample(scrape, "meterbridge_http_request_duration_seconds_bucket", "route", "/api/v1/tenants/:tenant/pending", "status", "200", "le", "0.25")
	require.True(t, ok, "latency buckets by route")
	require.NotContains(t, scrape, p.tenantID, "paths with IDs never become labels")

	// Business: the cycle, its items, the outbound calls and the wait for ConnectWise's limit.
	v, _ := sample(scrape, "meterbridge_cycles_finished_total", "kind", "usage_publish", "status", "completed")
	require.Equal(t, finished0+1, v)
	v, _ = sample(scrape, "meterbridge_items_pushed_total", "kind", "usage_publish", "outcome", "applied")
	require.Equal(t, applied0+3, v)
	_, ok = sample(scrape, "meterbridge_outbound_request_duration_seconds_count", "service", "connectwise", "status", "429")
	require.True(t, ok, "the 429 is counted:\n%s", grep(scrape, "meterbridge_outbound"))
	_, ok = sample(scrape, "meterbridge_outbound_request_duration_seconds_count", "service", "backup", "method", "GET", "status", "200")
	require.True(t, ok, "vendor calls are counted")
	// Waited in the sender (retry_after) or handed back to the activity's retry (deferred).
	v, _ = sample(scrape, "meterbridge_rate_limit_waits_total", "service", "connectwise")
	require.Equal(t, waits0+1, v, grep(scrape, "meterbridge_rate_limit"))
	_, ok = sample(scrape, "meterbridge_snapshots_total", "kind", "sync", "outcome", "recorded")
	require.True(t, ok)

	// The Temporal SDK's own metrics, named as Temporal's dashboards expect.
	for _, name := range []string{"temporal_request_total", "temporal_workflow_task_execution_latency_seconds_count", "temporal_worker_task_slots_available", "temporal_workflow_task_schedule_to_start_latency_seconds_count", "temporal_num_pollers", "temporal_workflow_completed_total"} {
		_, ok := sample(scrape, name)
		require.True(t, ok, "%s is missing; temporal metrics: %s", name, names(scrape, "temporal_"))
	}
	_, ok = sample(scrape, "meterbridge_build_info")
	require.True(t, ok)
	_, ok = sample(scrape, "go_goroutines")
	require.True(t, ok)
}

// names returns the metric names of a scrape that start with prefix, for failure messages.
func names(scrape, prefix string) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range strings.Split(scrape, "\n") {
		if n, _, _ := strings.Cut(l, "{"); strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, " ")
}

// grep returns the lines of a scrape that start with prefix, for failure messages.
func grep(scrape, prefix string) string {
	var out []string
	for _, l := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	if len(out) > 60 {
		out = out[:60]
	}
	return strings.Join(out, "\n")
}

// The worker's /healthz and /readyz: ready while PostgreSQL and Temporal answer and the
// worker polls; not ready once it stops polling; not ready when the database is gone; and
// /healthz stays 200 through all of that (a restart would not help), failing only when the
// SDK stopped the worker on a fatal error.
func TestWorkerHealthFollowsDatabaseTemporalAndPolling(t *testing.T) {
	p := newProcess(t)
	code, body := p.get("/readyz")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"ready": true, "checks": {"database": "ok", "temporal": "ok", "polling": "ok"}}`, body)
	code, _ = p.get("/healthz")
	require.Equal(t, http.StatusOK, code)

	// The worker stops polling (what a SIGTERM begins with): not ready, still alive.
	p.status.Stopping()
	code, body = p.get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"ready": false, "checks": {"database": "ok", "temporal": "ok", "polling": "unavailable"}}`, body)
	code, _ = p.get("/healthz")
	require.Equal(t, http.StatusOK, code)
	p.status.Started()

	// Temporal unreachable: a runtime whose client points at a closed port.
	dead, err := newLazyClient(freeAddr(t))
	require.NoError(t, err)
	defer dead.Close()
	h := (&app.Runtime{Store: p.rt.Store, Temporal: dead, Logger: testenv.Logger()}).WorkerHealth(p.status)
	rec := httptest.NewRecorder()
	telemetryHandler(h).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.JSONEq(t, `{"ready": false, "checks": {"database": "ok", "temporal": "unavailable", "polling": "ok"}}`, rec.Body.String())

	// A fatal error stops the worker for good: /healthz fails so the container is restarted.
	p.status.Fatal(fmt.Errorf("namespace not found"))
	code, body = p.get("/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.NotContains(t, body, "namespace", "reasons go to the log, not to callers")

	// The database gone: a store whose pool is closed (with a worker that polls).
	broken, err := store.Open(context.Background(), p.databaseURL, nil)
	require.NoError(t, err)
	broken.Close()
	polling := &worker.Status{}
	polling.Started()
	h = (&app.Runtime{Store: broken, Temporal: p.temporal, Logger: testenv.Logger()}).WorkerHealth(polling)
	rec = httptest.NewRecorder()
	telemetryHandler(h).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.JSONEq(t, `{"ready": false, "checks": {"database": "unavailable", "temporal": "ok", "polling": "ok"}}`, rec.Body.String())
}

func newLazyClient(hostPort string) (client.Client, error) {
	return client.NewLazyClient(client.Options{HostPort: hostPort, Logger: testenv.TemporalLogger()})
}

func telemetryHandler(h *telemetry.Health) http.Handler { return telemetry.Handler(h) }
