// Package devstack runs the whole product in one process for local use: PostgreSQL (from
// DATABASE_URL, else a private cluster from the local binaries), an in-process Temporal
// server with its Web UI (unless TEMPORAL_ADDRESS points elsewhere), every emulator, the
// worker and the API, with a demo tenant seeded. It links go.temporal.io/server; production
// binaries never import it.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/meterbridge/meterbridge/app"
	"github.com/meterbridge/meterbridge/config"
	"github.com/meterbridge/meterbridge/dev/demo"
	"github.com/meterbridge/meterbridge/dev/emulators/mailsink"
	"github.com/meterbridge/meterbridge/dev/localtemporal"
	"github.com/meterbridge/meterbridge/dev/pgcluster"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
	"github.com/meterbridge/meterbridge/worker"
	"github.com/meterbridge/meterbridge/workflows"
)

// Options are the dev stack's addresses and folder. Defaults suit one developer machine.
type Options struct {
	// DataDir keeps PostgreSQL, the Temporal SQLite file, the secret key and demo tokens.
	DataDir string
	// APIAddr serves the API.
	APIAddr string
	// TemporalPort and UIPort serve the in-process Temporal frontend and Web UI.
	TemporalPort int
	UIPort       int
	// EmulatorPorts: ConnectWise, Autotask, backup, licences, gauges, mail UI; SMTPPort the sink.
	ConnectWisePort, AutotaskPort, BackupPort, LicencesPort, GaugesPort, MailPort, SMTPPort int
	// MetricsPort serves /metrics, /healthz and /readyz of the API and worker on loopback
	// (0: off).
	MetricsPort int
	Logger      *slog.Logger
}

// Defaults returns the documented addresses.
func Defaults() Options {
	return Options{
		DataDir: ".devstack", APIAddr: "127.0.0.1:8080", TemporalPort: 7233, UIPort: 8233,
		ConnectWisePort: 8091, AutotaskPort: 8092, BackupPort: 8093, LicencesPort: 8094, GaugesPort: 8095,
		MailPort: 8025, SMTPPort: 2525, MetricsPort: 9464,
	}
}

// Run starts everything, prints where it is, and stops it all when ctx ends.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	started := time.Now()
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data folder %s: %w", dataDir, err)
	}
	var stops stack
	defer stops.run(log)

	// PostgreSQL.
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL != "" {
		log.Info("postgres: using DATABASE_URL")
	} else {
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dataDir, "postgres"), Logger: log})
		if err != nil {
			return err
		}
		stops.push("postgres", cluster.Stop)
		if err := cluster.EnsureDatabase(ctx, "meterbridge"); err != nil {
			return err
		}
		dbURL = cluster.URL("meterbridge")
	}

	// Temporal.
	temporalEnv := map[string]string{}
	uiURL := ""
	if addr := os.Getenv("TEMPORAL_ADDRESS"); addr != "" {
		log.Info("temporal: using TEMPORAL_ADDRESS", "address", addr)
	} else {
		log.Info("temporal: starting in-process server", "frontend", fmt.Sprintf("127.0.0.1:%d", opts.TemporalPort), "ui", fmt.Sprintf("127.0.0.1:%d", opts.UIPort))
		srv, err := localtemporal.Start(ctx, localtemporal.Options{
			DatabaseFile:     filepath.Join(dataDir, "temporal.db"),
			FrontendPort:     opts.TemporalPort,
			UIPort:           opts.UIPort,
			SearchAttributes: workflows.SearchAttributes(),
		})
		if err != nil {
			return err
		}
		stops.push("temporal", srv.Stop)
		temporalEnv["TEMPORAL_ADDRESS"] = srv.FrontendAddress()
		temporalEnv["TEMPORAL_NAMESPACE"] = srv.Namespace()
		uiURL = srv.UIURL()
	}

	// Emulators.
	world := demo.NewWorld()
	emus := []struct {
		name string
		port int
		h    http.Handler
	}{
		{"connectwise", opts.ConnectWisePort, world.ConnectWise},
		{"autotask", opts.AutotaskPort, world.Autotask},
		{"backup", opts.BackupPort, world.Backup},
		{"licences", opts.LicencesPort, world.Licences},
		{"gauges", opts.GaugesPort, world.Gauges},
	}
	urls := map[string]string{}
	for _, e := range emus {
		u, stop, err := serve(ctx, e.port, e.h, log)
		if err != nil {
			return fmt.Errorf("%s emulator: %w", e.name, err)
		}
		stops.push(e.name+" emulator", stop)
		urls[e.name] = u
	}
	sink, err := mailsink.Start(fmt.Sprintf("127.0.0.1:%d", opts.SMTPPort))
	if err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	stops.push("mail sink", sink.Close)
	mailURL, stopMailUI, err := serve(ctx, opts.MailPort, sink.Handler(), log)
	if err != nil {
		return fmt.Errorf("mail viewer: %w", err)
	}
	stops.push("mail viewer", stopMailUI)

	// meterbridge itself.
	keys, err := secretKeys(dataDir)
	if err != nil {
		return err
	}
	env := map[string]string{
		"DATABASE_URL":            dbURL,
		"METERBRIDGE_SECRET_KEYS": keys,
		"METERBRIDGE_API_ADDR":    opts.APIAddr,
		"METERBRIDGE_SMTP_ADDR":   sink.SMTPAddr(),
		"METERBRIDGE_SMTP_TLS":    "none",
		"METERBRIDGE_SMTP_FROM":   "meterbridge@demo-msp.example",
		// The emulators answer on loopback over http; production keeps this off.
		"METERBRIDGE_ALLOW_PRIVATE_TARGETS": "true",
	}
	if uiURL != "" {
		env["METERBRIDGE_TEMPORAL_UI_URL"] = uiURL
	}
	cfg, err := config.Load(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	})
	if err != nil {
		return err
	}
	// The dev stack migrates for the developer; production processes leave that to
	// `meterbridge migrate`.
	if err := store.Migrate(ctx, dbURL, log); err != nil {
		return err
	}
	rt, err := app.Open(ctx, cfg, temporalEnv, log)
	if err != nil {
		return err
	}
	stops.push("store and temporal client", func() error { rt.Close(); return nil })

	seeded, err := demo.Seed(ctx, rt.Store, demo.URLs{
		ConnectWise: urls["connectwise"], Autotask: urls["autotask"], Backup: urls["backup"],
		Licences: urls["licences"], Gauges: urls["gauges"],
	}, demo.Options{Emails: []string{"billing@demo-msp.example"}})
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	if seeded {
		log.Info("demo: tenant seeded", "tenant", demo.TenantID)
	} else {
		log.Info("demo: tenant already there, kept as it is", "tenant", demo.TenantID)
	}
	metrics, err := demo.SeedMetrics(ctx, rt.Store, demo.Options{})
	if err != nil {
		return fmt.Errorf("seed demo metrics: %w", err)
	}
	tokens, err := demoTokens(ctx, rt.Store, dataDir)
	if err != nil {
		return err
	}
	status := &worker.Status{}
	w := rt.NewWorker(worker.Options{Identity: "meterbridge-dev", Status: status})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	status.Started()
	stops.push("worker", func() error { status.Stopping(); w.Stop(); return nil })
	metricsURL := ""
	if opts.MetricsPort != 0 {
		u, stop, err := serve(ctx, opts.MetricsPort, telemetry.Handler(rt.WorkerHealth(status)), log)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		stops.push("metrics", stop)
		metricsURL = u
	}
	log.Info("worker: polling", "task_queue", workflows.TaskQueue)
	// As a production worker does on start: schedules synced from the settings, and every
	// metric's snapshot loop (the demo metric's included) started or told its schedule.
	rt.Reconcile(ctx, "")
	for _, m := range metrics {
		log.Info("demo: metric snapshot loop", "metric", m.ID, "workflow_id", m.WorkflowID, "schedule", m.Schedule.String(), "time_zone", m.TimeZone)
	}

	ln, err := net.Listen("tcp", opts.APIAddr)
	if err != nil {
		return fmt.Errorf("API address %s: %w", opts.APIAddr, err)
	}
	apiCtx, stopAPI := context.WithCancel(context.Background())
	apiDone := make(chan error, 1)
	go func() { apiDone <- app.Serve(apiCtx, ln, rt.APIHandler(), log) }()
	stops.push("api", func() error { stopAPI(); return <-apiDone })

	printReady(opts, urls, mailURL, uiURL, metricsURL, tokens, time.Since(started))
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-apiDone:
		return fmt.Errorf("api stopped: %w", err)
	}
	return nil
}

// stack runs shutdown steps in reverse order of start.
type stack struct {
	mu    sync.Mutex
	steps []step
}

type step struct {
	name string
	f    func() error
}

func (s *stack) push(name string, f func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps = append(s.steps, step{name, f})
}

func (s *stack) run(log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.steps) - 1; i >= 0; i-- {
		if err := s.steps[i].f(); err != nil {
			log.Warn("stop "+s.steps[i].name, "err", err)
		} else {
			log.Info("stopped " + s.steps[i].name)
		}
	}
	s.steps = nil
}

func serve(ctx context.Context, port int, h http.Handler, log *slog.Logger) (string, func() error, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", nil, fmt.Errorf("127.0.0.1:%d is in use (stop what holds it, or pick another port with a flag): %w", port, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(sctx, ln, h, log) }()
	return "http://" + ln.Addr().String(), func() error { cancel(); return <-done }, nil
}

// secretKeys returns METERBRIDGE_SECRET_KEYS, or a key kept in the data folder so restarts
// can open what earlier runs sealed.
func secretKeys(dataDir string) (string, error) {
	if k := os.Getenv("METERBRIDGE_SECRET_KEYS"); k != "" {
		return k, nil
	}
	path := filepath.Join(dataDir, "secret-key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	key := secrets.NewKey("dev1")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}

// demoTokenSet are the dev stack's printed tokens, kept in the data folder.
type demoTokenSet struct {
	Admin    string `json:"admin"`
	Approver string `json:"approver"`
	Viewer   string `json:"viewer"`
}

func demoTokens(ctx context.Context, s *store.Store, dataDir string) (demoTokenSet, error) {
	path := filepath.Join(dataDir, "demo-tokens.json")
	var set demoTokenSet
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &set); err != nil {
			return set, fmt.Errorf("%s: %w", path, err)
		}
	}
	ensure := func(secret *string, tok store.Token) error {
		if *secret != "" {
			if _, err := s.LookupToken(ctx, *secret); err == nil {
				return nil
			}
		}
		_, sec, err := s.CreateToken(ctx, tok)
		*secret = sec
		return err
	}
	if err := ensure(&set.Admin, store.Token{Role: store.RoleAdmin, OwnerEmail: "admin@demo-msp.example", Name: "dev stack admin", CreatedBy: "devstack"}); err != nil {
		return set, err
	}
	if err := ensure(&set.Approver, store.Token{TenantID: demo.TenantID, Role: store.RoleApprover, OwnerEmail: "approver@demo-msp.example", Name: "dev stack approver", CreatedBy: "devstack"}); err != nil {
		return set, err
	}
	if err := ensure(&set.Viewer, store.Token{TenantID: demo.TenantID, Role: store.RoleViewer, OwnerEmail: "viewer@demo-msp.example", Name: "dev stack viewer", CreatedBy: "devstack"}); err != nil {
		return set, err
	}
	b, _ := json.MarshalIndent(set, "", "  ")
	return set, os.WriteFile(path, b, 0o600)
}

func printReady(opts Options, urls map[string]string, mailURL, uiURL, metricsURL string, t demoTokenSet, took time.Duration) {
	api := "http://" + opts.APIAddr
	var b strings.Builder
	fmt.Fprintf(&b, "\nmeterbridge dev stack is ready (%s)\n\n", took.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "  Console              %s/   (sign in with a token below)\n", api)
	fmt.Fprintf(&b, "  API                  %s/api/v1   (GET %s/readyz)\n", api, api)
	if metricsURL != "" {
		fmt.Fprintf(&b, "  Metrics and health   %s/metrics   (worker: %s/readyz)\n", metricsURL, metricsURL)
	}
	if uiURL != "" {
		fmt.Fprintf(&b, "  Temporal Web UI      %s\n", uiURL)
		fmt.Fprintf(&b, "  Temporal frontend    127.0.0.1:%d\n", opts.TemporalPort)
	}
	fmt.Fprintf(&b, "  ConnectWise emulator %s/v4_6_release/apis/3.0/\n", urls["connectwise"])
	fmt.Fprintf(&b, "  Autotask emulator    %s/atservicesrest/v1.0/\n", urls["autotask"])
	fmt.Fprintf(&b, "  Backup usage         %s/v1/usage\n", urls["backup"])
	fmt.Fprintf(&b, "  Licence portal       %s/v1/accounts\n", urls["licences"])
	fmt.Fprintf(&b, "  Gauge service        %s/v1/gauges\n", urls["gauges"])
	fmt.Fprintf(&b, "  Received e-mail      %s/\n", mailURL)
	fmt.Fprintf(&b, "  Emulator faults      <emulator URL>/_emulator/faults\n\n")
	fmt.Fprintf(&b, "  Tokens (also in %s/demo-tokens.json):\n", opts.DataDir)
	fmt.Fprintf(&b, "    admin     %s\n    approver  %s\n    viewer    %s\n\n", t.Admin, t.Approver, t.Viewer)
	fmt.Fprintf(&b, "  Try:  curl -X POST -H 'Authorization: Bearer %s' %s/api/v1/tenants/demo/publish\n", t.Approver, api)
	fmt.Fprintf(&b, "        curl -H 'Authorization: Bearer %s' %s/api/v1/tenants/demo/metrics/%s/checkins\n\n", t.Viewer, api, demo.MetricID)
	fmt.Print(b.String())
}
