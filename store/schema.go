package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// Migration is one embedded migration and whether the database has it.
type Migration struct {
	Version   int64      `json:"version"`
	File      string     `json:"file"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// SchemaStatus says where a database's schema stands against the migrations this binary
// embeds. Migrations are applied only by `meterbridge migrate`; the processes and admin
// commands check the status and refuse to run on a schema that is behind.
type SchemaStatus struct {
	Migrations []Migration `json:"migrations"`
	// Pending are embedded migrations the database does not have yet.
	Pending []Migration `json:"pending"`
	// Unknown are versions the database has that this binary does not embed: a newer
	// meterbridge migrated it.
	Unknown []int64 `json:"unknown,omitempty"`
}

// Current is the newest version applied (0 for an empty database).
func (s SchemaStatus) Current() int64 {
	var v int64
	for _, m := range s.Migrations {
		if m.AppliedAt != nil && m.Version > v {
			v = m.Version
		}
	}
	for _, u := range s.Unknown {
		v = max(v, u)
	}
	return v
}

// Latest is the newest version this binary embeds.
func (s SchemaStatus) Latest() int64 {
	if len(s.Migrations) == 0 {
		return 0
	}
	return s.Migrations[len(s.Migrations)-1].Version
}

// ErrSchemaBehind means the database lacks migrations this binary needs.
var ErrSchemaBehind = errors.New("the database schema is behind this meterbridge")

// Check returns nil when every embedded migration is applied, and otherwise an error
// wrapping ErrSchemaBehind that says what is missing and what to run.
func (s SchemaStatus) Check() error {
	if len(s.Pending) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.Pending))
	for _, m := range s.Pending {
		names = append(names, m.File)
	}
	what := "the database has no meterbridge schema yet"
	if s.Current() > 0 {
		what = fmt.Sprintf("the database schema is at version %d and lacks %d migration(s): %s", s.Current(), len(s.Pending), strings.Join(names, ", "))
	}
	return fmt.Errorf("%w: %s; run `meterbridge migrate` (with the same DATABASE_URL), then start again", ErrSchemaBehind, what)
}

// ReadSchemaStatus compares the database at url with the embedded migrations. It only reads:
// a database without goose's version table has every migration pending.
func ReadSchemaStatus(ctx context.Context, url string) (SchemaStatus, error) {
	var st SchemaStatus
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return st, err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return st, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	applied := map[int64]time.Time{}
	rows, err := conn.Query(ctx, `SELECT DISTINCT ON (version_id) version_id, is_applied, tstamp
		FROM goose_db_version WHERE version_id > 0 ORDER BY version_id, id DESC`)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "42P01": // no version table: nothing applied
	case err != nil:
		return st, fmt.Errorf("read schema version: %w", err)
	default:
		for rows.Next() {
			var v int64
			var ok bool
			var at time.Time
			if err := rows.Scan(&v, &ok, &at); err != nil {
				return st, err
			}
			if ok {
				applied[v] = at.UTC()
			}
		}
		if err := rows.Err(); err != nil {
			return st, err
		}
	}
	known := map[int64]bool{}
	for _, f := range files {
		name := path.Base(f)
		v, err := goose.NumericComponent(name)
		if err != nil {
			return st, fmt.Errorf("migration %s: %w", name, err)
		}
		known[v] = true
		m := Migration{Version: v, File: name}
		if at, ok := applied[v]; ok {
			m.AppliedAt = &at
		} else {
			st.Pending = append(st.Pending, m)
		}
		st.Migrations = append(st.Migrations, m)
	}
	sort.Slice(st.Migrations, func(i, j int) bool { return st.Migrations[i].Version < st.Migrations[j].Version })
	sort.Slice(st.Pending, func(i, j int) bool { return st.Pending[i].Version < st.Pending[j].Version })
	for v := range applied {
		if !known[v] {
			st.Unknown = append(st.Unknown, v)
		}
	}
	sort.Slice(st.Unknown, func(i, j int) bool { return st.Unknown[i] < st.Unknown[j] })
	return st, nil
}

// CheckSchema fails with a message that says what to run when the database at url lacks
// migrations this binary embeds.
func CheckSchema(ctx context.Context, url string) (SchemaStatus, error) {
	st, err := ReadSchemaStatus(ctx, url)
	if err != nil {
		return st, err
	}
	return st, st.Check()
}
