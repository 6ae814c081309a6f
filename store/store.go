// Package store keeps meterbridge's own state in PostgreSQL through a pgx/v5 pool. Its schema
// is versioned SQL embedded in the binary and applied on start by goose.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/exaring/otelpgx"
	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/telemetry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound means the row does not exist (or belongs to another tenant).
var ErrNotFound = errors.New("not found")

// ErrConflict means the change clashes with existing state (a duplicate key).
var ErrConflict = errors.New("conflict")

// Store is the database.
type Store struct {
	pool *pgxpool.Pool
	box  *secrets.Box
	// lockTimings bound PushItem's PSA target locks (DefaultPushLockTimings when zero).
	lockTimings PushLockTimings
	// pushSlots bounds the pushes that hold (or wait for) a PSA target's lock, each with a
	// pooled connection and an open transaction, to half the pool (see PushItem).
	pushSlots chan struct{}
}

// Open connects a pool. box seals and opens credentials; it may be nil for processes that
// never touch them.
func Open(ctx context.Context, url string, box *secrets.Box) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxdecimal.Register(conn.TypeMap())
		return nil
	}
	if cfg.MaxConns < 10 {
		cfg.MaxConns = 10
	}
	if telemetry.TracingEnabled() {
		// Each query, batch and COPY is a span of the request or activity that ran it
		// (statements only: parameters may hold sealed secrets and e-mail addresses).
		cfg.ConnConfig.Tracer = otelpgx.NewTracer()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres at %s: %w", cfg.ConnConfig.Host, err)
	}
	return &Store{pool: pool, box: box, pushSlots: make(chan struct{}, max(1, cfg.MaxConns/2))}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Pool exposes the pool to tests that need raw SQL.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies every embedded migration not yet applied. A PostgreSQL advisory lock
// keeps two processes starting at once (API and worker) from migrating together.
func Migrate(ctx context.Context, url string, logger *slog.Logger) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return migrate(ctx, db, logger)
}

func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Out-of-order: migrations written on parallel branches get numbers in the order they
	// were started, not merged; a database that already has a later one still gets the
	// earlier one applied instead of refusing to start.
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, goose.WithSessionLocker(locker), goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		if logger != nil {
			logger.Info("store: migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration.Round(time.Millisecond))
		}
	}
	return nil
}

// SchemaVersion returns the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	return v, err
}

// tx runs f in a transaction, committing when f returns nil.
func (s *Store) tx(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, f)
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
