package main

import (
	"context"
	"encoding/json"
	"errors"
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

func TestMain(m *testing.M) {
	// Tests run the real main (exit codes, output) by starting this test binary again.
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"meterbridge"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(temporalenv.Main(m))
}

func openWith(t *testing.T, url, keys string) *store.Store {
	t.Helper()
	box, err := secrets.ParseKeys(keys)
	require.NoError(t, err)
	s, err := store.Open(context.Background(), url, box)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// Key rotation end to end: credentials sealed with the old key; METERBRIDGE_SECRET_KEYS gets
// a new first key; `meterbridge secrets rotate` re-seals everything; then the old key can
// be dropped, and a store with only the old key opens nothing.
func TestSecretsRotateReSealsEveryCredentialWithTheNewKey(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	oldKey, newKey := secrets.NewKey("old"), secrets.NewKey("new")
	before := openWith(t, url, oldKey)
	want := map[string]string{}
	for _, id := range []string{"acme", "beta"} {
		_, err := before.CreateTenant(ctx, tenant.Tenant{ID: id, Name: id, TimeZone: "UTC", Settings: tenant.Defaults()})
		require.NoError(t, err)
		for _, role := range []string{store.RolePSA, store.RoleBackup} {
			secret := `{"api_key":"` + id + "-" + role + `-s3cret"}`
			want[id+"/"+role] = secret
			require.NoError(t, before.PutConnection(ctx, store.Connection{TenantID: id, Role: role, Provider: role,
				Config: json.RawMessage(`{}`), Secret: json.RawMessage(secret), UpdatedBy: "test"}))
		}
	}

	t.Setenv("DATABASE_URL", url)
	t.Setenv("METERBRIDGE_SECRET_KEYS", newKey+","+oldKey)
	require.NoError(t, run(ctx, []string{"secrets", "rotate"}))

	rows, err := before.Pool().Query(ctx, `SELECT tenant_id, role, secret FROM connections`)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var tn, role string
		var sealed []byte
		require.NoError(t, rows.Scan(&tn, &role, &sealed))
		id, err := secrets.KeyID(sealed)
		require.NoError(t, err)
		require.Equal(t, "new", id, "%s/%s is still sealed with %s", tn, role, id)
		require.NotContains(t, string(sealed), "s3cret")
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 4, n)

	after := openWith(t, url, newKey)
	for key, secret := range want {
		tn, role, _ := strings.Cut(key, "/")
		c, err := after.GetConnection(ctx, tn, role)
		require.NoError(t, err, key)
		require.JSONEq(t, secret, string(c.Secret), key)
	}
	again, err := openWith(t, url, newKey+","+oldKey).ResealConnections(ctx)
	require.NoError(t, err)
	require.Zero(t, again, "a second rotation has nothing left to do")

	_, err = openWith(t, url, oldKey).GetConnection(ctx, "acme", store.RolePSA)
	require.True(t, errors.Is(err, secrets.ErrCannotOpen), "the retired key must open nothing: %v", err)

	// A sealed secret copied into another tenant's row does not open there.
	_, err = after.Pool().Exec(ctx, `UPDATE connections SET secret = (SELECT secret FROM connections WHERE tenant_id = 'acme' AND role = 'psa')
		WHERE tenant_id = 'beta' AND role = 'psa'`)
	require.NoError(t, err)
	_, err = after.GetConnection(ctx, "beta", store.RolePSA)
	require.True(t, errors.Is(err, secrets.ErrCannotOpen), "a copied secret opened: %v", err)
}

// A revoked bootstrap token stays revoked when the same METERBRIDGE_ADMIN_TOKEN is imported
// again at the next start.
func TestRevokedImportedTokenIsNotRevived(t *testing.T) {
	ctx := context.Background()
	s := openWith(t, testenv.DatabaseURL(t), secrets.NewKey("k"))
	secret := "bootstrap-" + strings.Repeat("b", 30)
	tok, err := s.ImportToken(ctx, store.Token{Role: store.RoleAdmin, OwnerEmail: "admin@localhost"}, secret)
	require.NoError(t, err)
	same, err := s.ImportToken(ctx, store.Token{Role: store.RoleAdmin, OwnerEmail: "admin@localhost"}, secret)
	require.NoError(t, err)
	require.Equal(t, tok.ID, same.ID, "importing twice is a no-op")
	_, err = s.RevokeToken(ctx, tok.ID)
	require.NoError(t, err)
	_, err = s.ImportToken(ctx, store.Token{Role: store.RoleAdmin, OwnerEmail: "admin@localhost"}, secret)
	require.ErrorIs(t, err, store.ErrTokenRevoked)
	_, err = s.LookupToken(ctx, secret)
	require.ErrorIs(t, err, store.ErrNotFound)
}
