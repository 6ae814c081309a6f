package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// `meterbridge token create -tz` gives the token its owner's time zone (metrics they create
// without a zone take it); a zone that is not an IANA name is refused and nothing is created.
func TestTokenCreateCarriesTheOwnersTimeZone(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	key := secrets.NewKey("k")
	st := openWith(t, url, key)
	_, err := st.CreateTenant(ctx, tenant.Tenant{ID: "acme", Name: "Acme", TimeZone: "UTC", Settings: tenant.Defaults()})
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("METERBRIDGE_SECRET_KEYS", key)

	for _, bad := range []string{"Mars/Olympus", "+01:00", "Local"} {
		err := run(ctx, []string{"token", "create", "-role", "approver", "-tenant", "acme", "-email", "nina@acme.example", "-tz", bad})
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "-tz", bad)
	}
	toks, err := st.ListTokens(ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, toks, "nothing was created")

	require.NoError(t, run(ctx, []string{"token", "create", "-role", "approver", "-tenant", "acme", "-email", "nina@acme.example", "-tz", "Pacific/Auckland"}))
	toks, err = st.ListTokens(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, toks, 1)
	require.Equal(t, "Pacific/Auckland", toks[0].TimeZone)
	require.Equal(t, store.RoleApprover, toks[0].Role)
}
