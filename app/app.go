// Package app assembles meterbridge's processes from configuration: it opens the store
// (migrating it first), dials Temporal, and runs the worker and the HTTP API. The production
// command and the dev stack both build on it, so they run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/activities"
	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/config"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/console"
	"github.com/meterbridge/meterbridge/lookup"
	"github.com/meterbridge/meterbridge/notify"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
	"github.com/meterbridge/meterbridge/worker"
)

// Runtime is an opened store and Temporal client.
type Runtime struct {
	Config    config.Config
	Logger    *slog.Logger
	Store     *store.Store
	Temporal  client.Client
	Namespace string
	// Outbound is the policy every PSA, vendor and webhook request keeps to.
	Outbound *egress.Policy
}

// Open checks the database schema (migrations are applied only by `meterbridge migrate`; a
// schema that is behind is an error saying so), opens the database, dials Temporal (waiting
// up to a minute for it), registers the search attributes, and imports the bootstrap admin
// token when one is set.
// temporalEnv overrides TEMPORAL_* variables (the dev stack points at its own server).
func Open(ctx context.Context, cfg config.Config, temporalEnv map[string]string, logger *slog.Logger) (*Runtime, error) {
	if err := cfg.RequireDatabase(); err != nil {
		return nil, err
	}
	box, err := cfg.SecretBox()
	if err != nil {
		return nil, err
	}
	schema, err := store.CheckSchema(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if len(schema.Unknown) > 0 {
		logger.Warn("the database has migrations this meterbridge does not know: a newer version migrated it; run that version", "unknown", schema.Unknown)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, box)
	if err != nil {
		return nil, err
	}
	if n, err := st.UnsealedCount(ctx); err == nil && n > 0 {
		logger.Warn("stored secrets in an older format are not yet bound to where they go; run `meterbridge secrets rotate`", "count", n)
	}
	opts, err := config.TemporalOptions(temporalEnv, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	// The SDK's client and worker metrics go to the process's Prometheus registry.
	opts.MetricsHandler = telemetry.TemporalMetrics()
	// With tracing on, client calls, workflows and activities are spans of one trace.
	traced, err := telemetry.TemporalInterceptors()
	if err != nil {
		st.Close()
		return nil, err
	}
	opts.Interceptors = append(opts.Interceptors, traced...)
	tc, err := dialTemporal(ctx, opts, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	r := &Runtime{Config: cfg, Logger: logger, Store: st, Temporal: tc, Namespace: opts.Namespace, Outbound: cfg.Outbound()}
	if cfg.AllowPrivateTargets {
		logger.Warn("METERBRIDGE_ALLOW_PRIVATE_TARGETS is on: PSA, vendor and webhook URLs may reach loopback and private networks, and loopback over plain http")
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := starter.EnsureSearchAttributes(sctx, tc, opts.Namespace); err != nil {
		r.Close()
		return nil, err
	}
	if cfg.AdminToken != "" {
		_, err := st.ImportToken(ctx, store.Token{Role: store.RoleAdmin, OwnerEmail: cfg.AdminEmail, Name: "bootstrap (METERBRIDGE_ADMIN_TOKEN)", CreatedBy: "environment"}, cfg.AdminToken)
		if errors.Is(err, store.ErrTokenRevoked) {
			// A revoked bootstrap token stays revoked; the process still starts.
			logger.Warn("METERBRIDGE_ADMIN_TOKEN was revoked and is not accepted; set a new one or unset it")
		} else if err != nil {
			r.Close()
			return nil, fmt.Errorf("import METERBRIDGE_ADMIN_TOKEN: %w", err)
		}
	}
	return r, nil
}

func dialTemporal(ctx context.Context, opts client.Options, logger *slog.Logger) (client.Client, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
		}
		logger.Warn("waiting for Temporal", "address", opts.HostPort, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// Close releases the store and the Temporal client.
func (r *Runtime) Close() {
	r.Temporal.Close()
	r.Store.Close()
}

// Activities builds the activities with real clients.
func (r *Runtime) Activities() *activities.Activities {
	return &activities.Activities{
		Store:     r.Store,
		Workflows: r.Starter(),
		Connect:   connect.New(r.Store, r.Outbound),
		Notifier: notify.New(notify.SMTPConfig{
			Addr: r.Config.SMTP.Addr, Username: r.Config.SMTP.Username, Password: r.Config.SMTP.Password,
			From: r.Config.SMTP.From, TLS: r.Config.SMTP.TLS, Timeout: r.Config.SMTP.Timeout,
		}, r.Outbound),
		Logger:    r.Logger,
		Schedules: r.Starter(),
	}
}

// Starter builds the starter.
func (r *Runtime) Starter() *starter.Starter {
	// The backup source tells the starter which clients a publish of one client may name.
	return &starter.Starter{Temporal: r.Temporal, Store: r.Store, TaskQueue: r.Config.TaskQueue, Clients: connect.New(r.Store, r.Outbound)}
}

// RunWorker runs the Temporal worker until ctx ends, with metrics and health endpoints on
// METERBRIDGE_METRICS_ADDR when set. On start it brings Temporal in line with PostgreSQL
// (Reconcile), repairing any change that did not reach Temporal. On stop it reports not
// ready at once, stops polling and gives running activities worker.StopTimeout.
func (r *Runtime) RunWorker(ctx context.Context, opts worker.Options) error {
	if opts.TaskQueue == "" {
		opts.TaskQueue = r.Config.TaskQueue
	}
	if opts.Status == nil {
		opts.Status = &worker.Status{}
	}
	stopMetrics, err := r.serveMetrics(r.WorkerHealth(opts.Status))
	if err != nil {
		return err
	}
	defer stopMetrics()
	w := worker.New(r.Temporal, r.activitiesOn(opts.TaskQueue), opts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	opts.Status.Started()
	r.Logger.Info("worker: polling", "task_queue", opts.TaskQueue, "namespace", r.Namespace)
	r.Reconcile(ctx, opts.TaskQueue)
	<-ctx.Done()
	opts.Status.Stopping()
	r.Logger.Info("worker: stopping; running activities get up to "+worker.StopTimeout.String(), "task_queue", opts.TaskQueue)
	w.Stop()
	r.Logger.Info("worker: stopped")
	return nil
}

// Reconcile brings Temporal in line with PostgreSQL, as a worker does when it starts: every
// tenant's schedules are synced from its settings (their calendars rebuilt from the zone
// rules this binary knows), every metric's snapshot loop is told its schedule (and started
// when missing), and loops of metrics that are gone are stopped. Failures are logged; the
// next start tries again.
func (r *Runtime) Reconcile(ctx context.Context, taskQueue string) {
	st := r.Starter()
	if taskQueue != "" {
		st.TaskQueue = taskQueue
	}
	if err := st.SyncAllSchedules(ctx); err != nil {
		r.Logger.Error("schedules not reconciled", "err", err)
	}
	if err := st.EnsureReconcileSchedule(ctx); err != nil {
		r.Logger.Error("reconciler schedule not created; cycles whose workflow was terminated stay open until it is", "err", err)
	}
	res, err := st.ReconcileSnapshotLoops(ctx)
	if err != nil {
		r.Logger.Error("metric snapshot loops not reconciled", "err", err)
	}
	r.Logger.Info("metric snapshot loops reconciled", "told", res.Told, "started", res.Started, "stopped", res.Stopped)
}

// Checks are the readiness conditions every process shares: PostgreSQL and Temporal answer.
func (r *Runtime) Checks() []telemetry.Check {
	return []telemetry.Check{
		{Name: "database", Run: r.Store.Ping},
		{Name: "temporal", Run: func(ctx context.Context) error {
			_, err := r.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
}

// WorkerHealth is the worker's /healthz and /readyz: alive unless the SDK stopped the
// worker on a fatal error; ready while the database and Temporal answer and it polls.
func (r *Runtime) WorkerHealth(status *worker.Status) *telemetry.Health {
	return &telemetry.Health{
		Live:   status.Alive,
		Ready:  append(r.Checks(), telemetry.Check{Name: "polling", Run: func(context.Context) error { return status.Polling() }}),
		Logger: r.Logger.With("component", "health"),
	}
}

// serveMetrics serves /metrics and h's health endpoints on METERBRIDGE_METRICS_ADDR when it
// is set, until the returned function is called.
func (r *Runtime) serveMetrics(h *telemetry.Health) (func(), error) {
	if r.Config.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", r.Config.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s (METERBRIDGE_METRICS_ADDR): %w", r.Config.MetricsAddr, err)
	}
	r.Logger.Info("metrics: listening", "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := Serve(ctx, ln, telemetry.Handler(h), r.Logger); err != nil {
			r.Logger.Error("metrics server stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// NewWorker returns a registered worker without starting it.
func (r *Runtime) NewWorker(opts worker.Options) sdkworker.Worker {
	if opts.TaskQueue == "" {
		opts.TaskQueue = r.Config.TaskQueue
	}
	return worker.New(r.Temporal, r.activitiesOn(opts.TaskQueue), opts)
}

// activitiesOn is Activities for a worker on taskQueue: schedules it syncs start their runs there.
func (r *Runtime) activitiesOn(taskQueue string) *activities.Activities {
	acts := r.Activities()
	st := r.Starter()
	st.TaskQueue = taskQueue
	acts.Schedules = st
	return acts
}

// APIHandler builds the HTTP API with the console on the same engine: one access.Guard
// (tokens, roles, tenant scope and rate limits) and one connector serve both.
func (r *Runtime) APIHandler() http.Handler {
	st := r.Starter()
	guard := access.NewGuard(r.Store, r.Config.RateLimit, 0)
	conn := connect.New(r.Store, r.Outbound)
	look := lookup.New(conn, lookup.Options{})
	pages := console.New(console.Deps{
		Store: r.Store, Starter: st, Guard: guard, Connector: conn, Lookup: look, Logger: r.Logger.With("component", "console"),
		SecureCookies: r.Config.SecureCookies, TemporalUI: r.Config.TemporalUI, Namespace: r.Namespace,
	})
	return api.New(api.Deps{
		Store: r.Store, Starter: st, Temporal: r.Temporal, Logger: r.Logger.With("component", "api"),
		RateLimit: r.Config.RateLimit, Guard: guard, Connector: conn, Lookup: look, Pages: pages, Outbound: r.Outbound,
		TrustedProxies: r.Config.TrustedProxies,
	})
}

// RunAPI serves the HTTP API on addr until ctx ends, then drains open requests; metrics and
// health are served on METERBRIDGE_METRICS_ADDR when set.
func (r *Runtime) RunAPI(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("API address %s: %w", addr, err)
	}
	stopMetrics, err := r.serveMetrics(&telemetry.Health{Ready: r.Checks(), Logger: r.Logger.With("component", "health")})
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	return Serve(ctx, ln, r.APIHandler(), r.Logger)
}

// ShutdownGrace is how long a stopping server lets open requests finish: longer than the
// API's request deadline, so no request that could still succeed is cut off. Container
// stop grace periods must be longer still (docker-compose.yml).
const ShutdownGrace = api.DefaultRequestTimeout + 5*time.Second

// Serve runs an HTTP server on ln with production timeouts until ctx ends, then stops
// accepting connections and waits up to ShutdownGrace for open requests to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("http: shutting down; open requests may finish", "addr", ln.Addr().String(), "grace", ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
