// Package localtemporal runs a real Temporal server (SQLite persistence) and, optionally,
// the Temporal Web UI inside the current process. Only the dev stack and the integration
// tests import it: it is the one package that links go.temporal.io/server, so production
// binaries stay small and free of the server's dependency tree.
package localtemporal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Options says how to run the server. The zero value runs an ephemeral server on free
// loopback ports without the UI.
type Options struct {
	// DatabaseFile keeps the server's state in this SQLite file (created with its schema when
	// missing). Empty keeps everything in memory.
	DatabaseFile string
	// FrontendPort is the gRPC port of the frontend on 127.0.0.1; 0 picks a free port.
	FrontendPort int
	// UIPort serves the Temporal Web UI on 127.0.0.1 when non-zero.
	UIPort int
	// Namespace is created on start when missing; "default" when empty.
	Namespace string
	// SearchAttributes are registered on the namespace when it is first created. Attributes
	// added later are registered by the caller through the operator service.
	SearchAttributes map[string]enumspb.IndexedValueType
	// DynamicConfig overrides server settings, keyed by their dynamic-config names, for
	// example "limit.historyCount.suggestContinueAsNew" in tests.
	DynamicConfig map[string]any
	// LogLevel of the server's own logs ("warn" when empty: the server is chatty).
	LogLevel string
}

// Server is a running in-process Temporal server.
type Server struct {
	srv       temporal.Server
	logLevel  zap.AtomicLevel
	ui        *uiserver.Server
	frontend  string
	uiURL     string
	namespace string
}

// Start creates the schema if needed, starts the server and waits until its frontend accepts
// connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	frontendPort := opts.FrontendPort
	if frontendPort == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		frontendPort = p
	} else if err := portFree(frontendPort); err != nil {
		return nil, fmt.Errorf("temporal frontend port: %w", err)
	}
	if opts.UIPort != 0 {
		if err := portFree(opts.UIPort); err != nil {
			return nil, fmt.Errorf("temporal UI port: %w", err)
		}
	}

	cfg, sqlCfg, err := serverConfig(opts, frontendPort)
	if err != nil {
		return nil, err
	}
	if err := ensureSchema(opts.DatabaseFile, sqlCfg); err != nil {
		return nil, err
	}
	if err := forgetPreviousMembers(opts.DatabaseFile); err != nil {
		return nil, err
	}
	ns, err := sqlite.NewNamespaceConfig(cfg.ClusterMetadata.CurrentClusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", opts.Namespace, err)
	}

	level, err := zap.ParseAtomicLevel(opts.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("temporal log level: %w", err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = level
	zc.Encoding = "console"
	zc.DisableStacktrace = true
	zc.DisableCaller = true
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zl, err := zc.Build()
	if err != nil {
		return nil, err
	}
	logger := tlog.NewZapLogger(zl)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("claim mapper: %w", err)
	}
	dc := dynamicconfig.StaticClient{
		// Search attributes registered at run time become usable at once (dev and tests only).
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
	}
	for k, v := range opts.DynamicConfig {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	// Until its services have found each other (after a restart the membership of the last
	// run must expire first) the server answers "not enough hosts"; that is expected, so its
	// logs stay quiet until it serves.
	wanted := level.Level()
	level.SetLevel(zapcore.FatalLevel)
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s := &Server{srv: srv, logLevel: level, frontend: net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort)), namespace: opts.Namespace}
	if err := waitForPort(ctx, s.frontend); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	if err := waitServing(ctx, s.frontend, opts.Namespace); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	level.SetLevel(wanted)
	if opts.UIPort != 0 {
		if err := s.startUI(ctx, opts.UIPort); err != nil {
			_ = srv.Stop()
			return nil, err
		}
	}
	return s, nil
}

// FrontendAddress is the host:port clients dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIURL is the Web UI's address, empty when the UI is not served.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace created on start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and the server.
func (s *Server) Stop() error {
	if s.ui != nil {
		s.ui.Stop()
	}
	// Services shutting down one after another complain about each other; that is expected.
	s.logLevel.SetLevel(zapcore.FatalLevel)
	return s.srv.Stop()
}

func serverConfig(opts Options, frontendPort int) (*config.Config, *config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal", "_synchronous": "normal"},
		DatabaseName:      opts.DatabaseFile,
	}
	if opts.DatabaseFile == "" {
		// A shared in-memory database; the random name keeps two servers in one process apart.
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlCfg.DatabaseName = fmt.Sprintf("meterbridge-%d", time.Now().UnixNano())
	}
	ports := make([]int, 0, 8)
	for range 8 {
		p, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		ports = append(ports, p)
	}
	metricsPort, pprofPort := ports[0], ports[1]
	service := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnIP: "127.0.0.1"}}
	}
	cfg := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort)), HandlerPath: "/metrics",
			}},
			PProf: config.PProf{Port: pprofPort},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort)),
			}},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": frontendService(frontendPort, ports[2], mustFreePort()),
			"history":  service(ports[3], ports[4]),
			"matching": service(ports[5], ports[6]),
			"worker":   service(ports[7], mustFreePort()),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		// The server's own system workers dial the frontend through this address.
		PublicClient: config.PublicClient{HostPort: net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort))},
	}
	return cfg, sqlCfg, nil
}

// forgetPreviousMembers removes the cluster membership a previous run of this process left
// in the database file. Its services are gone (they listened on other free ports), but for
// 20 seconds after their last heartbeat the new services would try to join them as seeds
// and would not serve until that failed. The file belongs to this process alone.
func forgetPreviousMembers(file string) error {
	if file == "" {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		return fmt.Errorf("open temporal database: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("reset temporal cluster membership: %w", err)
	}
	return nil
}

// frontendService also serves Temporal's HTTP API (used by Nexus and HTTP clients).
func frontendService(grpcPort, membershipPort, httpPort int) config.Service {
	return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, HTTPPort: httpPort, BindOnIP: "127.0.0.1"}}
}

func ensureSchema(file string, sqlCfg *config.SQL) error {
	if file == "" {
		// The SQLite plugin creates the schema itself for in-memory databases.
		return nil
	}
	if _, err := os.Stat(file); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("temporal database: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("temporal database folder: %w", err)
	}
	if err := sqlite.SetupSchema(sqlCfg); err != nil {
		return fmt.Errorf("temporal database schema: %w", err)
	}
	return nil
}

func (s *Server) startUI(ctx context.Context, port int) error {
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: s.frontend,
		Host:                "127.0.0.1",
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		DisableNewsFetch:    true, // no internet: the UI must not try to fetch news
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(staticUIConfig{cfg}))
	go func() {
		if err := s.ui.Start(); err != nil {
			slog.Error("temporal UI stopped", "err", err)
		}
	}()
	s.uiURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.uiURL + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("temporal UI did not come up on %s: %w", s.uiURL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type staticUIConfig struct{ cfg *uiconfig.Config }

func (p staticUIConfig) GetConfig() (*uiconfig.Config, error) { return p.cfg, nil }

func waitForPort(ctx context.Context, addr string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal frontend did not listen on %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitServing waits until the frontend, history and matching services all answer: a
// namespace lookup, a history read of a workflow that does not exist (NotFound is an answer)
// and a task-queue description.
func waitServing(ctx context.Context, frontend, namespace string) error {
	c, err := client.Dial(client.Options{HostPort: frontend, Namespace: namespace, Logger: sdklog.NewStructuredLogger(
		slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		return fmt.Errorf("dial temporal: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := probe(ctx, c, namespace)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal server did not start serving: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, c client.Client, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		return err
	}
	_, err := c.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: "localtemporal-readiness-probe"},
	})
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return err
	}
	_, err = c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "localtemporal-readiness-probe"},
	})
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mustFreePort() int {
	p, err := freePort()
	if err != nil {
		panic(err)
	}
	return p
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("127.0.0.1:%d is in use (stop what holds it or choose another port): %w", port, err)
	}
	return l.Close()
}
