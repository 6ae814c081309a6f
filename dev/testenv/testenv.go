// Package testenv gives tests a real PostgreSQL: a fresh, migrated database per test, on
// DATABASE_URL's server when set, else on a private cluster started from the local
// PostgreSQL binaries the same way the dev stack starts one. Only test code imports it; the
// in-process Temporal server for integration tests is in testenv/temporalenv.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/dev/pgcluster"
	"github.com/meterbridge/meterbridge/store"
)

var (
	pgOnce    sync.Once
	pgAdmin   string // admin URL of the server holding test databases
	pgCluster *pgcluster.Cluster
	pgDir     string
	pgErr     error
	dbSeq     atomic.Int64
)

// Main runs the package's tests and then stops what they started.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the package's PostgreSQL cluster, if this package started one.
func Stop() {
	if pgCluster != nil {
		_ = pgCluster.Stop()
		_ = os.RemoveAll(pgDir)
	}
}

const templateDB = "meterbridge_test_template"

func startPostgres() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("DATABASE_URL"); u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			pgErr = fmt.Errorf("DATABASE_URL: %w", err)
			return
		}
		pu.Path = "/postgres"
		pgAdmin = pu.String()
	} else {
		dir, err := os.MkdirTemp("", "meterbridge-test-pg-")
		if err != nil {
			pgErr = err
			return
		}
		// MkdirTemp makes the folder 0700; the postgres user must be able to enter it.
		_ = os.Chmod(dir, 0o755)
		pgDir = dir
		quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		pgCluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Logger: quiet})
		if err != nil {
			pgErr = err
			return
		}
		pgAdmin = pgCluster.URL("postgres")
	}
	// Migrate a template once; each test clones it, which takes milliseconds.
	conn, err := pgx.Connect(ctx, pgAdmin)
	if err != nil {
		pgErr = err
		return
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("%s_%d", templateDB, os.Getpid())
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		pgErr = err
		return
	}
	if err := store.Migrate(ctx, dbURL(name), nil); err != nil {
		pgErr = err
		return
	}
}

func dbURL(name string) string {
	u, _ := url.Parse(pgAdmin)
	u.Path = "/" + name
	return u.String()
}

// DatabaseURL returns the URL of a fresh, migrated database owned by the test and dropped
// after it.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, fmt.Sprintf("%s_%d", templateDB, os.Getpid()))
}

// EmptyDatabaseURL returns the URL of a fresh database without meterbridge's schema (no
// migration applied), owned by the test and dropped after it.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "template0")
}

func newDatabase(t testing.TB, tmpl string) string {
	t.Helper()
	pgOnce.Do(startPostgres)
	if pgErr != nil {
		t.Fatalf("test database: %v", pgErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("mbtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	conn, err := pgx.Connect(ctx, pgAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgAdmin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return dbURL(name)
}

// Store opens a fresh database for the test.
func Store(t testing.TB, box SecretBox) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), DatabaseURL(t), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
