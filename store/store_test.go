package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newTenant(t *testing.T, s *store.Store, id string) tenant.Tenant {
	t.Helper()
	tn, err := s.CreateTenant(context.Background(), tenant.Tenant{ID: id, Name: "Acme MSP", TimeZone: "Europe/Berlin", Settings: tenant.Defaults()})
	require.NoError(t, err)
	return tn
}

func TestTenantRoundTripsSettings(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	_, err := s.CreateTenant(ctx, tn)
	require.ErrorIs(t, err, store.ErrConflict)

	_, after, err := s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error {
		t.Settings.Licences.Approval.Mode = tenant.ApproveRule
		t.Settings.Licences.Approval.MaxUnits = decimal.RequireFromString("2.5")
		t.Settings.Notify.Emails = []string{"ops@acme.example"}
		return nil
	})
	require.NoError(t, err)
	got, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, after.Settings, got.Settings)
	require.True(t, got.Settings.Licences.Approval.MaxUnits.Equal(decimal.RequireFromString("2.5")))

	_, _, err = s.UpdateTenant(ctx, "acme", func(*tenant.Tenant) error { return errors.New("refused") })
	require.Error(t, err)
	_, err = s.GetTenant(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestConnectionSecretIsSealedAtRest(t *testing.T) {
	s := testenv.Store(t, testenv.NewSecretBox())
	ctx := context.Background()
	newTenant(t, s, "acme")
	require.NoError(t, s.PutConnection(ctx, store.Connection{
		TenantID: "acme", Role: store.RolePSA, Provider: "connectwise",
		Config: json.RawMessage(`{"site_url":"https://api-na.myconnectwise.net"}`), Secret: json.RawMessage(`{"private_key":"TOP-SECRET-VALUE"}`),
	}))
	var raw []byte
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT secret FROM connections`).Scan(&raw))
	require.NotContains(t, string(raw), "TOP-SECRET-VALUE")

	c, err := s.GetConnection(ctx, "acme", store.RolePSA)
	require.NoError(t, err)
	require.JSONEq(t, `{"private_key":"TOP-SECRET-VALUE"}`, string(c.Secret))

	st, err := s.ConnectionStatuses(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, st, 1)
	b, _ := json.Marshal(st)
	require.NotContains(t, string(b), "TOP-SECRET-VALUE")
	require.True(t, st[0].SecretSet)
}

func TestAutomaticPeriodIsClaimedOnce(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	a, b := uuid.NewString(), uuid.NewString()
	for _, id := range []string{a, b} {
		_, created, err := s.CreateCycle(ctx, store.Cycle{ID: id, TenantID: "acme", Kind: billing.UsagePublish, Period: "2026-11", Mode: "advanced", Trigger: billing.Automatic, WorkflowID: "w"})
		require.NoError(t, err)
		require.True(t, created)
	}
	holder, err := s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", a)
	require.NoError(t, err)
	require.Equal(t, a, holder)
	holder, err = s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", a)
	require.NoError(t, err)
	require.Equal(t, a, holder, "a retried claim by the same cycle still holds")
	holder, err = s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", b)
	require.NoError(t, err)
	require.Equal(t, a, holder, "a second cycle finds the first one's claim")
	holder, err = s.ClaimPeriod(ctx, "acme", billing.LicenceSync, "2026-11", b)
	require.NoError(t, err)
	require.Equal(t, b, holder, "another kind is another key")
}

func TestItemsDecideOnceAndKeepOutcomes(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	cid := uuid.NewString()
	_, _, err := s.CreateCycle(ctx, store.Cycle{ID: cid, TenantID: "acme", Kind: billing.UsagePublish, Period: "2026-11", Mode: "advanced", Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)
	items := []store.Item{
		{CycleID: cid, TenantID: "acme", Seq: 0, AccountID: "c1", Item: billing.StorageItem, Target: store.ItemTarget{Target: psa.Target{CompanyID: 1, AgreementID: 2, AdditionID: 3}},
			OldQty: decimal.NewNullDecimal(decimal.RequireFromString("100.5")), NewQty: decimal.NewNullDecimal(decimal.RequireFromString("120.75")),
			Delta: decimal.NewNullDecimal(decimal.RequireFromString("20.25")), State: billing.Pending},
		{CycleID: cid, TenantID: "acme", Seq: 1, AccountID: "c2", Item: billing.StorageItem, State: billing.Unchanged},
	}
	require.NoError(t, s.InsertItems(ctx, items))
	require.NoError(t, s.InsertItems(ctx, items), "a retried insert keeps the rows as they are")

	pending, err := s.PendingItems(ctx, "acme", false)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, "120.75", pending[0].NewQty.Decimal.String())
	all, err := s.PendingItems(ctx, "acme", true)
	require.NoError(t, err)
	require.Len(t, all, 2)

	n, err := s.DecideItems(ctx, cid, billing.Decision{All: true, Approve: true, Actor: "ann@example.com"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = s.DecideItems(ctx, cid, billing.Decision{All: true, Approve: false, Actor: "bob@example.com"})
	require.NoError(t, err)
	require.Zero(t, n, "a decided item is not decided again")

	approved, err := s.ItemsInState(ctx, cid, billing.Approved, 0, 10)
	require.NoError(t, err)
	require.Len(t, approved, 1)
	require.NoError(t, s.RecordOutcome(ctx, store.Outcome{ItemID: approved[0].ID, State: billing.Applied, AppliedQty: approved[0].NewQty}))
	require.NoError(t, s.RecordOutcome(ctx, store.Outcome{ItemID: approved[0].ID, State: billing.ItemFailed, Reason: "late retry"}))
	c, err := s.FinishCycle(ctx, cid, "", "")
	require.NoError(t, err)
	require.Equal(t, 1, c.Counts.Applied, "a replayed outcome does not overwrite the first")
	require.Equal(t, 1, c.Counts.Unchanged)
}

func TestTokensAreStoredAsHashesAndRevocable(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	tok, secret, err := s.CreateToken(ctx, store.Token{TenantID: "acme", Role: store.RoleApprover, OwnerEmail: "Ann@Example.com"})
	require.NoError(t, err)
	var n int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE secret_hash::text LIKE '%'||$1||'%'`, secret).Scan(&n))
	require.Zero(t, n)
	got, err := s.LookupToken(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, tok.ID, got.ID)
	require.Equal(t, "ann@example.com", got.OwnerEmail)
	_, err = s.RevokeToken(ctx, tok.ID)
	require.NoError(t, err)
	_, err = s.LookupToken(ctx, secret)
	require.ErrorIs(t, err, store.ErrNotFound)

	_, _, err = s.CreateToken(ctx, store.Token{Role: store.RoleApprover, OwnerEmail: "x@example.com"})
	require.Error(t, err, "a non-admin token must belong to a tenant")
}
