package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
)

func TestPendingPagesKeepTheGridsOrderAndCountTheWholeList(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	cid := uuid.NewString()
	_, _, err := s.CreateCycle(ctx, store.Cycle{ID: cid, TenantID: "acme", Kind: billing.LicenceSync, Period: "2026-11", Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)
	var items []store.Item
	for i := range 25 {
		st := billing.Pending
		if i%5 == 4 {
			st = billing.Unchanged
		}
		items = append(items, store.Item{CycleID: cid, TenantID: "acme", Seq: i, AccountID: fmt.Sprintf("a%02d", i), Item: "server", State: st,
			NewQty: decimal.NewNullDecimal(decimal.NewFromInt(int64(i)))})
	}
	require.NoError(t, s.InsertItems(ctx, items))

	pg, err := s.PendingItemsPage(ctx, "acme", false, 10, 10)
	require.NoError(t, err)
	require.Equal(t, 20, pg.Pending)
	require.Equal(t, 5, pg.Unchanged)
	all, err := s.PendingItems(ctx, "acme", false)
	require.NoError(t, err)
	require.Len(t, pg.Items, 10)
	for i, it := range pg.Items {
		require.Equal(t, all[10+i].ID, it.ID, "page rows follow PendingItems' order")
	}
	withUnchanged, err := s.PendingItemsPage(ctx, "acme", true, 20, 10)
	require.NoError(t, err)
	require.Len(t, withUnchanged.Items, 5, "the last page of 25 rows")
}

func TestSyncHistoryListsWrittenLicenceUpdatesAcrossCycles(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	for n, period := range []billing.Period{"2026-10", "2026-11"} {
		cid := uuid.NewString()
		_, _, err := s.CreateCycle(ctx, store.Cycle{ID: cid, TenantID: "acme", Kind: billing.LicenceSync, Period: period, Trigger: billing.Manual, WorkflowID: "w" + string(period)})
		require.NoError(t, err)
		require.NoError(t, s.InsertItems(ctx, []store.Item{{CycleID: cid, TenantID: "acme", Seq: 0, AccountID: "acc", AccountName: "Acme", Item: "server",
			OldQty: decimal.NewNullDecimal(decimal.NewFromInt(int64(n))), NewQty: decimal.NewNullDecimal(decimal.NewFromInt(int64(n + 1))), State: billing.Pending}}))
		_, err = s.DecideItems(ctx, cid, billing.Decision{All: true, Approve: true, Actor: "ann@acme.example"})
		require.NoError(t, err)
		approved, err := s.ItemsInState(ctx, cid, billing.Approved, 0, 10)
		require.NoError(t, err)
		require.NoError(t, s.RecordOutcome(ctx, store.Outcome{ItemID: approved[0].ID, State: billing.Applied, AppliedQty: approved[0].NewQty}))
		_, err = s.FinishCycle(ctx, cid, billing.Completed, "")
		require.NoError(t, err)
	}
	got, more, err := s.SyncHistory(ctx, "acme", 10)
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, got, 2)
	require.Equal(t, billing.Period("2026-11"), got[0].Period, "newest first")
	require.Equal(t, "ann@acme.example", got[0].DecidedBy)
	require.Equal(t, "2", got[0].NewQty.Decimal.String())
	one, more, err := s.SyncHistory(ctx, "acme", 1)
	require.NoError(t, err)
	require.True(t, more)
	require.Len(t, one, 1)
}
