package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/meterbridge/meterbridge/billing"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
)

// Work is paged, so a cycle's history grows with pages, not with clients.
func TestCycleHistoryFor1000ClientsStaysUnder300Events(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	ctx := context.Background()
	clients := s.world.Backup.SeedClients(1000, decimal.RequireFromString("42.5"))
	for i, c := range clients {
		addition := int64(90000 + i)
		s.world.ConnectWise.SeedAddition(cwemu.Addition{ID: addition, AgreementID: cwemu.DemoAgreementNorthwind, ProductID: cwemu.ProductBackupGB,
			Quantity: decimal.NewFromInt(40)})
		target := psa.Target{CompanyID: cwemu.DemoCompanyNorthwind, AgreementID: cwemu.DemoAgreementNorthwind, AdditionID: addition}
		_, _, err := s.store.PutMapping(ctx, store.Mapping{TenantID: s.tenantID, ID: fmt.Sprintf("scale-%04d", i), Source: "backup",
			AccountID: c.ID, Item: billing.StorageItem, Target: target}, "test")
		require.NoError(t, err)
	}

	id := s.publish(nil)
	c := s.waitCycle(id, 5*time.Minute)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 1003, c.Counts.Applied)

	iter := s.temporal.GetWorkflowHistory(ctx, c.WorkflowID, c.ID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for iter.HasNext() {
		_, err := iter.Next()
		require.NoError(t, err)
		events++
	}
	t.Logf("cycle of 1003 clients: %d history events", events)
	require.Less(t, events, 300)
}
