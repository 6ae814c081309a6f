package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// stdout runs f with os.Stdout captured and returns what it printed.
func stdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := f()
	os.Stdout = old
	require.NoError(t, w.Close())
	return <-done, ferr
}

func tableExists(t *testing.T, url, table string) bool {
	t.Helper()
	s, err := store.Open(context.Background(), url, nil)
	require.NoError(t, err)
	defer s.Close()
	var ok bool
	require.NoError(t, s.Pool().QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok))
	return ok
}

// Admin commands no longer migrate behind the operator's back: on an empty or older schema
// they refuse and say what to run; `meterbridge migrate status` shows where the schema is;
// `meterbridge migrate` applies what is missing and records it in the admin audit.
func TestAdminCommandsRefuseAnUnmigratedSchemaUntilMigrate(t *testing.T) {
	ctx := context.Background()
	url := testenv.EmptyDatabaseURL(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("METERBRIDGE_SECRET_KEYS", secrets.NewKey("k"))

	err := run(ctx, []string{"token", "list"})
	require.ErrorIs(t, err, store.ErrSchemaBehind)
	require.Contains(t, err.Error(), "no meterbridge schema yet")
	require.Contains(t, err.Error(), "run `meterbridge migrate`")
	require.False(t, tableExists(t, url, "goose_db_version"), "a refused command must not touch the schema")
	require.False(t, tableExists(t, url, "tenants"))

	out, err := stdout(t, func() error { return run(ctx, []string{"migrate", "status"}) })
	require.NoError(t, err)
	require.Contains(t, out, "00001_initial.sql")
	require.Contains(t, out, "schema at version 0")
	require.Contains(t, out, "run `meterbridge migrate`")
	require.False(t, tableExists(t, url, "goose_db_version"), "status only reads")

	out, err = stdout(t, func() error { return run(ctx, []string{"migrate"}) })
	require.NoError(t, err)
	require.Contains(t, out, "migration(s) applied")
	st, err := store.ReadSchemaStatus(ctx, url)
	require.NoError(t, err)
	require.Empty(t, st.Pending)
	require.NoError(t, run(ctx, []string{"token", "list"}))

	// An older schema: the newest migration missing.
	last := st.Migrations[len(st.Migrations)-1]
	s := openWith(t, url, os.Getenv("METERBRIDGE_SECRET_KEYS"))
	_, err = s.Pool().Exec(ctx, `DELETE FROM goose_db_version WHERE version_id = $1`, last.Version)
	require.NoError(t, err)
	down := migrationDown(t, last.File)
	_, err = s.Pool().Exec(ctx, down)
	require.NoError(t, err)
	err = run(ctx, []string{"token", "list"})
	require.ErrorIs(t, err, store.ErrSchemaBehind)
	require.Contains(t, err.Error(), last.File)
	out, err = stdout(t, func() error { return run(ctx, []string{"migrate", "status"}) })
	require.NoError(t, err)
	require.Regexp(t, last.File+`\s+pending`, out)

	require.NoError(t, run(ctx, []string{"migrate"}))
	require.NoError(t, run(ctx, []string{"token", "list"}))
	entries, err := s.ListAdminAudit(ctx, 0)
	require.NoError(t, err)
	var migrated int
	for _, e := range entries {
		if e.Action == "schema.migrated" {
			migrated++
			require.True(t, strings.HasPrefix(e.Actor, "command line: "), e.Actor)
		}
	}
	require.Equal(t, 2, migrated, "each migration run is in the admin audit")
}

// migrationDown returns the Down section of an embedded migration.
func migrationDown(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile("../../store/migrations/" + file)
	require.NoError(t, err)
	_, down, ok := strings.Cut(string(b), "-- +goose Down")
	require.True(t, ok)
	return down
}

// What the command line changes is in the admin audit trail, like what the API changes:
// tokens created and revoked, secrets re-sealed, schedules synced, backfills requested.
func TestCommandLineAdminActionsAreAudited(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	key := secrets.NewKey("k1")
	t.Setenv("DATABASE_URL", url)
	t.Setenv("METERBRIDGE_SECRET_KEYS", key)
	srv := temporalenv.Server(t)
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddress())
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace())
	t.Setenv("METERBRIDGE_TASK_QUEUE", temporalenv.TaskQueue(t))
	s := openWith(t, url, key)
	tn := tenant.Defaults()
	tn.Publish.Schedule.Enabled = true
	_, err := s.CreateTenant(ctx, tenant.Tenant{ID: "clitest", Name: "CLI test", TimeZone: "UTC", Settings: tn})
	require.NoError(t, err)

	_, err = stdout(t, func() error {
		return run(ctx, []string{"token", "create", "-role", "approver", "-tenant", "clitest", "-email", "ann@msp.example"})
	})
	require.NoError(t, err)
	toks, err := s.ListTokens(ctx, "clitest")
	require.NoError(t, err)
	require.Len(t, toks, 1)
	_, err = stdout(t, func() error { return run(ctx, []string{"token", "revoke", toks[0].ID}) })
	require.NoError(t, err)
	t.Setenv("METERBRIDGE_SECRET_KEYS", secrets.NewKey("k2")+","+key)
	_, err = stdout(t, func() error { return run(ctx, []string{"secrets", "rotate"}) })
	require.NoError(t, err)
	_, err = stdout(t, func() error { return run(ctx, []string{"schedules", "sync", "-tenant", "clitest"}) })
	require.NoError(t, err)
	_, err = stdout(t, func() error {
		return run(ctx, []string{"backfill", "-tenant", "clitest", "-action", "publish", "-from", "2025-01-01", "-to", "2025-02-01"})
	})
	require.NoError(t, err)

	entries, err := s.ListAdminAudit(ctx, 0)
	require.NoError(t, err)
	got := map[string]store.AdminAuditEntry{}
	for _, e := range entries {
		got[e.Action] = e
	}
	for _, action := range []string{"token.created", "token.revoked", "secrets.rotated", "schedules.synced", "backfill.requested"} {
		e, ok := got[action]
		require.True(t, ok, "%s is not in the admin audit: %+v", action, entries)
		require.True(t, strings.HasPrefix(e.Actor, "command line: "), "%s actor %q", action, e.Actor)
		require.Contains(t, string(e.Details), `"via": "command line"`)
	}
	require.Equal(t, "clitest", got["token.created"].TenantID)
	require.Contains(t, string(got["token.created"].Details), toks[0].ID)
	require.Contains(t, string(got["secrets.rotated"].Details), `"key_id": "k2"`)
	require.Contains(t, string(got["backfill.requested"].Details), `"from": "2025-01-01"`)
}

// `meterbridge secrets rotate` covers webhook URLs as well as credentials.
func TestSecretsRotateCoversWebhookURLs(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	oldKey, newKey := secrets.NewKey("old"), secrets.NewKey("new")
	before := openWith(t, url, oldKey)
	const hook = "https://hooks.slack.example/services/T0/B0/XXXXsecretXXXX"
	settings := tenant.Defaults()
	settings.Notify.WebhookURL = hook
	_, err := before.CreateTenant(ctx, tenant.Tenant{ID: "acme", Name: "Acme", TimeZone: "UTC", Settings: settings})
	require.NoError(t, err)

	t.Setenv("DATABASE_URL", url)
	t.Setenv("METERBRIDGE_SECRET_KEYS", newKey+","+oldKey)
	out, err := stdout(t, func() error { return run(ctx, []string{"secrets", "rotate"}) })
	require.NoError(t, err)
	require.Contains(t, out, "1 webhook URL(s) re-sealed")

	var sealed []byte
	require.NoError(t, before.Pool().QueryRow(ctx, `SELECT webhook_sealed FROM tenants WHERE id = 'acme'`).Scan(&sealed))
	id, err := secrets.KeyID(sealed)
	require.NoError(t, err)
	require.Equal(t, "new", id)
	got, err := openWith(t, url, newKey).GetTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, hook, got.Settings.Notify.WebhookURL)
	_, err = openWith(t, url, oldKey).GetTenant(ctx, "acme")
	require.ErrorIs(t, err, secrets.ErrCannotOpen, "the retired key opens the webhook")
}
