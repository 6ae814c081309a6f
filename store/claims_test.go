package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
)

// A period claim means "published, or being published": only a cycle that published its
// period keeps it when it ends.
func TestPeriodClaimIsKeptOnlyByCyclesThatPublished(t *testing.T) {
	cases := []struct {
		name   string
		status billing.Status
		items  []billing.ItemState
		kept   bool
	}{
		{"completed", billing.Completed, []billing.ItemState{billing.Applied, billing.Unchanged, billing.Rejected}, true},
		{"partial", billing.Partial, []billing.ItemState{billing.Applied, billing.ItemFailed}, true},
		{"failed before any write", billing.Failed, nil, false},
		{"failed after some writes", billing.Failed, []billing.ItemState{billing.Applied, billing.Approved}, false},
		{"cancelled while waiting", billing.Failed, []billing.ItemState{billing.Pending}, false},
		{"superseded", billing.Completed, []billing.ItemState{billing.Superseded, billing.Superseded}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testenv.Store(t, nil)
			ctx := context.Background()
			newTenant(t, s, "acme")
			id := newAutomaticCycle(t, s, "2026-11")
			holder, err := s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", id)
			require.NoError(t, err)
			require.Equal(t, id, holder)
			var items []store.Item
			for i, st := range tc.items {
				items = append(items, store.Item{CycleID: id, TenantID: "acme", Seq: i, AccountID: uuid.NewString(), Item: billing.StorageItem, State: st})
			}
			require.NoError(t, s.InsertItems(ctx, items))
			_, err = s.FinishCycle(ctx, id, tc.status, "")
			require.NoError(t, err)

			next := newAutomaticCycle(t, s, "2026-11")
			holder, err = s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", next)
			require.NoError(t, err)
			if tc.kept {
				require.Equal(t, id, holder, "the next automatic run finds the period published")
			} else {
				require.Equal(t, next, holder, "the next automatic run may publish the period")
			}
		})
	}
}

// A duplicate that ended as already published holds no claim and must not drop the
// publisher's.
func TestAlreadyPublishedCycleLeavesThePublishersClaim(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	publisher, dup := newAutomaticCycle(t, s, "2026-11"), newAutomaticCycle(t, s, "2026-11")
	_, err := s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", publisher)
	require.NoError(t, err)
	holder, err := s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", dup)
	require.NoError(t, err)
	require.Equal(t, publisher, holder)
	_, err = s.FinishCycle(ctx, dup, billing.AlreadyPublished, "period 2026-11 was already published")
	require.NoError(t, err)
	holder, err = s.ClaimPeriod(ctx, "acme", billing.UsagePublish, "2026-11", newAutomaticCycle(t, s, "2026-11"))
	require.NoError(t, err)
	require.Equal(t, publisher, holder)
}

func newAutomaticCycle(t *testing.T, s *store.Store, period billing.Period) string {
	t.Helper()
	id := uuid.NewString()
	_, _, err := s.CreateCycle(context.Background(), store.Cycle{ID: id, TenantID: "acme", Kind: billing.UsagePublish, Period: period,
		Mode: "advanced", Trigger: billing.Automatic, WorkflowID: "billing-cycle/acme/" + string(period)})
	require.NoError(t, err)
	return id
}
