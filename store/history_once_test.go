package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
)

// A push retried after the PSA took a write for an item a newer refresh superseded records
// that write once, not once per attempt.
func TestLateWriteAfterSupersedeIsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	cid := uuid.NewString()
	_, _, err := s.CreateCycle(ctx, store.Cycle{ID: cid, TenantID: "acme", Kind: billing.LicenceSync, Period: "2026-11", Mode: "licences", Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)
	require.NoError(t, s.InsertItems(ctx, []store.Item{{CycleID: cid, TenantID: "acme", AccountID: "a1", AccountName: "Client", Item: "server",
		NewQty: decimal.NewNullDecimal(decimal.NewFromInt(12)), State: billing.Superseded}}))
	items, err := s.CycleItems(ctx, "acme", cid)
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, s.RecordOutcome(ctx, store.Outcome{ItemID: items[0].ID, State: billing.Applied,
			AppliedQty: decimal.NewNullDecimal(decimal.NewFromInt(12)), Reference: "ref-1"}))
	}
	n := 0
	h, err := s.ListHistory(ctx, "acme", 0)
	require.NoError(t, err)
	for _, e := range h {
		if e.Action == "push.after_supersede" {
			n++
		}
	}
	require.Equal(t, 1, n)
}
