package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

func seedPSATenant(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	newTenant(t, s, "acme")
	_, _, err := s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error {
		t.Settings.Publish.Schedule.Enabled = true
		t.Settings.Licences.Approval.Mode = tenant.ApproveAutomatic
		return nil
	})
	require.NoError(t, err)
	for _, id := range []string{"m1", "m2"} {
		_, _, err := s.PutMapping(ctx, store.Mapping{TenantID: "acme", ID: id, Source: "licenses", AccountID: "acc-" + id, Item: "server",
			Target: psa.Target{CompanyID: 1, AgreementID: 2, AdditionID: 3}}, "seed")
		require.NoError(t, err)
	}
}

func TestPSASwitchIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	// A store without a secret key cannot seal the new credentials: the switch fails at its
	// last step, after deleting the mappings, and must leave everything as it was.
	s := testenv.Store(t, nil)
	seedPSATenant(t, s)
	_, err := s.Pool().Exec(ctx, `INSERT INTO connections (tenant_id, role, provider, secret) VALUES ('acme', 'psa', 'connectwise', '\x00')`)
	require.NoError(t, err)
	_, err = s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "autotask", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{}`),
		Actor: "admin@acme.example", ConfirmReset: true})
	require.ErrorContains(t, err, "secret key")
	ms, err := s.ListMappings(ctx, "acme", "")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	tn, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	require.True(t, tn.Settings.Publish.Schedule.Enabled)
	require.Equal(t, tenant.ApproveAutomatic, tn.Settings.Licences.Approval.Mode)
	h, err := s.ListHistory(ctx, "acme", 0)
	require.NoError(t, err)
	require.Empty(t, h)
}

func TestPSASwitchNeedsConfirmationThenResets(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, testenv.NewSecretBox())
	seedPSATenant(t, s)
	first, err := s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "connectwise", Config: json.RawMessage(`{"site_url":"https://cw.example"}`),
		Secret: json.RawMessage(`{"private_key":"k1"}`), Actor: "admin@acme.example"})
	require.NoError(t, err)
	require.False(t, first.Switched, "a first PSA is not a switch")
	require.Equal(t, "connectwise", first.Tenant.PSAKind)

	_, err = s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "autotask", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"secret":"s"}`)})
	var reset *store.ResetRequiredError
	require.True(t, errors.As(err, &reset))
	require.EqualValues(t, 2, reset.Mappings)
	require.Equal(t, []string{"settings.publish.schedule.enabled", "settings.publish.approval.mode", "settings.licences.approval.mode"}, reset.Settings)

	res, err := s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "autotask", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"secret":"s"}`),
		Actor: "admin@acme.example", ConfirmReset: true, Details: map[string]any{"request_id": "r1"}})
	require.NoError(t, err)
	require.True(t, res.Switched)
	require.Equal(t, "connectwise", res.From)
	require.EqualValues(t, 2, res.MappingsDeleted)
	require.Equal(t, "autotask", res.Connection.Provider)
	require.False(t, res.Tenant.Settings.Publish.Schedule.Enabled)
	h, err := s.ListHistory(ctx, "acme", 0)
	require.NoError(t, err)
	require.Len(t, h, 1)
	require.Equal(t, "psa.switched", h[0].Action)
	require.Equal(t, store.SeverityWarning, h[0].Severity)
	require.JSONEq(t, `{"from":"connectwise","to":"autotask","mappings_deleted":2,"request_id":"r1",
		"settings_reset":["settings.publish.schedule.enabled","settings.publish.approval.mode","settings.licences.approval.mode"]}`, string(h[0].Details))
}

func TestConnectionCheckIsKeptOnlyForTheCredentialsTested(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, testenv.NewSecretBox())
	newTenant(t, s, "acme")
	put := func(key string) store.ConnectionStatus {
		require.NoError(t, s.PutConnection(ctx, store.Connection{TenantID: "acme", Role: store.RoleBackup, Provider: "backup",
			Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"api_key":"` + key + `"}`)}))
		st, err := s.GetConnectionStatus(ctx, "acme", store.RoleBackup)
		require.NoError(t, err)
		return st
	}
	old := put("k1")
	time.Sleep(2 * time.Millisecond)
	current := put("k2")
	kept, err := s.RecordCheck(ctx, store.CheckRecord{TenantID: "acme", Role: store.RoleBackup, UpdatedAt: old.UpdatedAt, OK: false, Message: "401"})
	require.NoError(t, err)
	require.False(t, kept, "a test of replaced credentials is not kept")
	kept, err = s.RecordCheck(ctx, store.CheckRecord{TenantID: "acme", Role: store.RoleBackup, UpdatedAt: current.UpdatedAt, OK: false, Message: "401", Actor: "ann"})
	require.NoError(t, err)
	require.True(t, kept)
	st, err := s.GetConnectionStatus(ctx, "acme", store.RoleBackup)
	require.NoError(t, err)
	require.True(t, st.UpdatedAt.Equal(current.UpdatedAt), "recording a test does not move updated_at")
	require.Equal(t, &store.ConnectionCheck{At: st.LastCheck.At, OK: false, Message: "401"}, st.LastCheck)
	h, err := s.ListHistory(ctx, "acme", 0)
	require.NoError(t, err)
	require.Len(t, h, 1)

	put("k3")
	st, err = s.GetConnectionStatus(ctx, "acme", store.RoleBackup)
	require.NoError(t, err)
	require.Nil(t, st.LastCheck, "new credentials clear the old test")
}

func TestClearHistoryLeavesWhoClearedIt(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	newTenant(t, s, "other")
	for i := 0; i < 3; i++ {
		require.NoError(t, s.AddHistory(ctx, "acme", store.SeverityInfo, "x", "a", "m", nil))
	}
	require.NoError(t, s.AddHistory(ctx, "other", store.SeverityInfo, "x", "a", "m", nil))
	n, e, err := s.ClearHistoryAs(ctx, "acme", "admin@acme.example", nil)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.Equal(t, "history.cleared", e.Action)
	h, err := s.FilterHistory(ctx, "acme", store.HistoryFilter{})
	require.NoError(t, err)
	require.Equal(t, []store.HistoryEntry{e}, h)
	other, err := s.FilterHistory(ctx, "other", store.HistoryFilter{Severity: store.SeverityInfo})
	require.NoError(t, err)
	require.Len(t, other, 1, "another tenant's history stays")
}

func TestDashboardCountsBackupItemsOnlyInAdvancedMode(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	require.NoError(t, s.RecordReadings(ctx, "acme", "2026-11", []store.Reading{
		{Source: "backup", AccountID: "cl1", Item: "storage_gb", Quantity: decimal.NewFromInt(10)},
		{Source: "licenses", AccountID: "acc1", Item: "server", Quantity: decimal.NewFromInt(2)},
	}))
	d, err := s.GetDashboard(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 2, d.Unmapped)
	_, _, err = s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error { t.Settings.Publish.Mode = tenant.ModeBasic; return nil })
	require.NoError(t, err)
	d, err = s.GetDashboard(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 1, d.Unmapped, "basic mode finds companies by Managed ID, not mappings")
	require.Equal(t, []string{"1 vendor account item(s) have no mapping"}, d.Alerts)
}
