// Package deploy holds no Go code; its tests check the deployment's scripts against a real
// PostgreSQL started from the local binaries.
package deploy

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/pgcluster"
	"github.com/meterbridge/meterbridge/store"
)

// The compose deployment's roles: meterbridge and Temporal each have their own, neither is a
// superuser or may create databases or roles, each owns only its own databases and cannot
// connect to the other's; meterbridge's role can migrate its schema and is refused
// rewriting the admin audit.
func TestInitRolesGivesEachServiceItsOwnUnprivilegedRole(t *testing.T) {
	bin, err := pgcluster.FindBinaries()
	require.NoError(t, err, "this test needs the PostgreSQL server binaries (see README prerequisites)")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "meterbridge-deploy-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755)) // the postgres user must be able to enter it
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The official image's superuser is "postgres"; the roles the script makes are others.
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Superuser: "postgres"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cluster.Stop() })

	script, err := filepath.Abs("postgres/init-roles.sh")
	require.NoError(t, err)
	for range 2 { // a second run changes nothing and does not fail
		cmd := exec.CommandContext(ctx, "sh", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"PGHOST=127.0.0.1", "PGPORT="+strconv.Itoa(cluster.Port()), "POSTGRES_USER=postgres",
			"METERBRIDGE_DB_PASSWORD=mb-password", "TEMPORAL_DB_PASSWORD=temporal-password")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}

	admin := connect(t, ctx, cluster.URL("postgres"))
	for _, role := range []string{"meterbridge", "temporal"} {
		var super, createDB, createRole bool
		require.NoError(t, admin.QueryRow(ctx, `SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1`, role).
			Scan(&super, &createDB, &createRole))
		require.False(t, super || createDB || createRole, "%s: superuser %v, createdb %v, createrole %v", role, super, createDB, createRole)
	}
	owned := func(role string) []string {
		rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY datname`, role)
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return names
	}
	require.Equal(t, []string{"meterbridge"}, owned("meterbridge"))
	require.Equal(t, []string{"temporal", "temporal_visibility"}, owned("temporal"))

	as := func(role, db string) string {
		return strings.Replace(cluster.URL(db), "postgres@", role+"@", 1)
	}
	for _, refused := range [][2]string{
		{"meterbridge", "temporal"}, {"meterbridge", "temporal_visibility"}, {"meterbridge", "postgres"},
		{"temporal", "meterbridge"}, {"temporal", "postgres"},
	} {
		_, err := pgx.Connect(ctx, as(refused[0], refused[1]))
		requireDenied(t, err, refused[0]+" connected to "+refused[1])
	}

	// meterbridge's role migrates its own schema…
	require.NoError(t, store.Migrate(ctx, as("meterbridge", "meterbridge"), nil))
	mb := connect(t, ctx, as("meterbridge", "meterbridge"))
	_, err = mb.Exec(ctx, `INSERT INTO admin_audit (actor, action, message) VALUES ('ops@msp.example', 'test', 'appended')`)
	require.NoError(t, err)
	// …but cannot rewrite the audit trail, create databases or roles.
	for _, stmt := range []string{
		`UPDATE admin_audit SET actor = 'someone-else'`,
		`DELETE FROM admin_audit`,
		`CREATE DATABASE elsewhere`,
		`CREATE ROLE helper`,
	} {
		_, err := mb.Exec(ctx, stmt)
		requireDenied(t, err, stmt)
	}
	tp := connect(t, ctx, as("temporal", "temporal"))
	_, err = tp.Exec(ctx, `CREATE TABLE probe (id int)`)
	require.NoError(t, err, "Temporal's role creates its schema in its own database")
}

func connect(t *testing.T, ctx context.Context, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// requireDenied checks err is PostgreSQL's insufficient_privilege.
func requireDenied(t *testing.T, err error, what string) {
	t.Helper()
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%s: %v", what, err)
	require.Equal(t, "42501", pe.Code, "%s: %v", what, err)
}
