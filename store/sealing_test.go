package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

const cwConfig = `{"site_url": "https://api-na.myconnectwise.net", "company_id": "msp", "public_key": "pub-key",
	"client_id": "2d3b8a4e-6f1c-4b59-9a0e-7c5d1e2f3a40", "hourly_budget": 1e3}`

// A sealed secret opens only with the row's own destination: whoever can write the row but
// lacks the key cannot point the stored keys at another host, company or user.
func TestChangedConnectionRowCannotSendItsSecretElsewhere(t *testing.T) {
	s := testenv.Store(t, testenv.NewSecretBox())
	ctx := context.Background()
	newTenant(t, s, "acme")
	require.NoError(t, s.PutConnection(ctx, store.Connection{TenantID: "acme", Role: store.RolePSA, Provider: "connectwise",
		Config: json.RawMessage(cwConfig), Secret: json.RawMessage(`{"private_key":"cw-private-key"}`), UpdatedBy: "test"}))
	c, err := s.GetConnection(ctx, "acme", store.RolePSA)
	require.NoError(t, err, "jsonb's own form of the config (1e3 → 1000, keys reordered) still opens")
	require.JSONEq(t, `{"private_key":"cw-private-key"}`, string(c.Secret))

	for _, change := range []string{
		`UPDATE connections SET config = jsonb_set(config, '{site_url}', '"https://collector.attacker.example"')`,
		`UPDATE connections SET config = jsonb_set(config, '{company_id}', '"other-msp"')`,
		`UPDATE connections SET config = jsonb_set(config, '{public_key}', '"attacker-pub"')`,
		`UPDATE connections SET config = config || '{"codebase": "v2025_1/"}'`,
		`UPDATE connections SET provider = 'autotask'`,
	} {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, change)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		_, err = s.GetConnection(ctx, "acme", store.RolePSA)
		require.ErrorIs(t, err, secrets.ErrCannotOpen, "opened after %s", change)
		_, err = s.Pool().Exec(ctx, `UPDATE connections SET provider = 'connectwise', config = $1`, cwConfig)
		require.NoError(t, err)
		_, err = s.GetConnection(ctx, "acme", store.RolePSA)
		require.NoError(t, err, "the original row opens again")
	}
}

// Decision for rows sealed before secrets were bound to their destination (format 1): they
// still open, so an upgrade breaks nothing, are counted so the processes can warn, and
// `meterbridge secrets rotate` (ResealSecrets) re-seals them bound to their destination.
func TestSecretsSealedBeforeDestinationBindingStillOpenAndAreMigrated(t *testing.T) {
	box := testenv.NewSecretBox()
	s := testenv.Store(t, box)
	ctx := context.Background()
	newTenant(t, s, "acme")
	require.NoError(t, s.PutConnection(ctx, store.Connection{TenantID: "acme", Role: store.RolePSA, Provider: "connectwise",
		Config: json.RawMessage(cwConfig), Secret: json.RawMessage(`{"private_key":"cw-private-key"}`), UpdatedBy: "test"}))
	// What the previous release wrote: the same layout with format byte 1, bound to
	// "tenant/<id>/<role>" only.
	old, err := box.Seal([]byte(`{"private_key":"cw-private-key"}`), "tenant/acme/psa")
	require.NoError(t, err)
	old[0] = secrets.FormatOwner
	_, err = s.Pool().Exec(ctx, `UPDATE connections SET secret = $1`, old)
	require.NoError(t, err)

	c, err := s.GetConnection(ctx, "acme", store.RolePSA)
	require.NoError(t, err, "an old row no longer opens")
	require.JSONEq(t, `{"private_key":"cw-private-key"}`, string(c.Secret))
	n, err := s.UnsealedCount(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	r, err := s.ResealSecrets(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Resealed{Connections: 1}, r)
	var sealed []byte
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT secret FROM connections`).Scan(&sealed))
	require.Equal(t, secrets.FormatDestination, secrets.Format(sealed))
	n, err = s.UnsealedCount(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = s.GetConnection(ctx, "acme", store.RolePSA)
	require.NoError(t, err)

	// Migrated, the row is bound like a new one.
	_, err = s.Pool().Exec(ctx, `UPDATE connections SET config = jsonb_set(config, '{site_url}', '"https://collector.attacker.example"')`)
	require.NoError(t, err)
	_, err = s.GetConnection(ctx, "acme", store.RolePSA)
	require.ErrorIs(t, err, secrets.ErrCannotOpen)
}

// Chat webhook URLs hold their secret in the path: they are sealed apart from the settings
// document, bound to their tenant, and read back whole.
func TestWebhookURLsAreSealedAndBoundToTheirTenant(t *testing.T) {
	s := testenv.Store(t, testenv.NewSecretBox())
	ctx := context.Background()
	const hook = "https://hooks.slack.example/services/T000/B000/XXXXsecretXXXX"
	newTenant(t, s, "acme")
	newTenant(t, s, "beta")
	_, after, err := s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error {
		t.Settings.Notify.WebhookURL = hook
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, hook, after.Settings.Notify.WebhookURL)
	var settings, sealed []byte
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT settings, webhook_sealed FROM tenants WHERE id = 'acme'`).Scan(&settings, &sealed))
	require.NotContains(t, string(settings), "XXXXsecretXXXX")
	require.NotContains(t, string(sealed), "XXXXsecretXXXX")
	got, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, hook, got.Settings.Notify.WebhookURL)

	// Copied to another tenant, the sealed URL does not open.
	_, err = s.Pool().Exec(ctx, `UPDATE tenants SET webhook_sealed = $1 WHERE id = 'beta'`, sealed)
	require.NoError(t, err)
	_, err = s.GetTenant(ctx, "beta")
	require.ErrorIs(t, err, secrets.ErrCannotOpen)
	_, err = s.Pool().Exec(ctx, `UPDATE tenants SET webhook_sealed = NULL WHERE id = 'beta'`)
	require.NoError(t, err)

	// Cleared, nothing is kept.
	_, _, err = s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error {
		t.Settings.Notify.WebhookURL = ""
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT webhook_sealed FROM tenants WHERE id = 'acme'`).Scan(&sealed))
	require.Nil(t, sealed)

	// A URL kept plain by the previous release is still read, and re-sealing seals it.
	const legacy = "https://hooks.slack.example/services/T000/B000/LEGACYsecret"
	_, err = s.Pool().Exec(ctx, `UPDATE tenants SET settings = jsonb_set(settings, '{notify,webhook_url}', to_jsonb($1::text)) WHERE id = 'beta'`, legacy)
	require.NoError(t, err)
	got, err = s.GetTenant(ctx, "beta")
	require.NoError(t, err)
	require.Equal(t, legacy, got.Settings.Notify.WebhookURL)
	n, err := s.UnsealedCount(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r, err := s.ResealSecrets(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Resealed{Webhooks: 1}, r)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT settings, webhook_sealed FROM tenants WHERE id = 'beta'`).Scan(&settings, &sealed))
	require.NotContains(t, string(settings), "LEGACYsecret")
	require.NotNil(t, sealed)
	got, err = s.GetTenant(ctx, "beta")
	require.NoError(t, err)
	require.Equal(t, legacy, got.Settings.Notify.WebhookURL)
	r, err = s.ResealSecrets(ctx)
	require.NoError(t, err)
	require.Zero(t, r, "a second run has nothing to do")
}
