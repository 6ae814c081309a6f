package activities

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// A failed automatic cycle gives its month back, but a monthly schedule never runs that month
// again: the site history must say what people should do, and that it must be done before a
// later period is published (an older period is not written over a newer one afterwards).
func TestAFailedAutomaticRunSaysHowToPublishItsPeriodBeforeTheNextOne(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t, nil)
	_, err := st.CreateTenant(ctx, tenant.Tenant{ID: "acme", Name: "Acme", TimeZone: "UTC", Settings: tenant.Defaults()})
	require.NoError(t, err)
	a := &Activities{Store: st}
	for _, tc := range []struct {
		kind   billing.Kind
		action string
		want   []string
	}{
		{billing.UsagePublish, "usage_publish.failed", []string{
			"2026-07 is not published, and no automatic run of it comes again",
			`POST /publish {"period": "2026-07"}`,
			"before a later period is published",
		}},
		{billing.LicenceSync, "licence_sync.failed", []string{
			"2026-07 is not synced, and no automatic run of it comes again",
			`POST /refresh {"period": "2026-07"}`,
			"before a later period is synced",
		}},
	} {
		id := uuid.NewString()
		_, _, err := st.CreateCycle(ctx, store.Cycle{ID: id, TenantID: "acme", Kind: tc.kind, Period: "2026-07", Mode: "advanced",
			Trigger: billing.Automatic, WorkflowID: "w"})
		require.NoError(t, err)
		_, err = a.FinishCycle(ctx, billing.FinishInput{CycleID: id, Status: billing.Failed, Error: "credentials need attention"})
		require.NoError(t, err)
		got := rows(t, st, tc.action)
		require.Len(t, got, 1)
		for _, w := range tc.want {
			require.Contains(t, got[0].Message, w)
		}
		require.NotContains(t, got[0].Message, "the next automatic run of it publishes it")
	}
}
