package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
)

// startLicenceCycle starts a manual licence refresh for a period and returns its cycle ID.
func (s *stack) startLicenceCycle(period billing.Period) string {
	s.t.Helper()
	started, err := s.starter.StartCycle(context.Background(), starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync,
		Trigger: billing.Manual, StartedBy: "ann@demo-msp.example", Period: period})
	require.NoError(s.t, err)
	return started.RunID
}

// waitWaiting waits until a licence cycle has refreshed and waits for people or for the sync.
func (s *stack) waitWaiting(id string, timeout time.Duration) store.Cycle {
	s.t.Helper()
	var c store.Cycle
	eventually(s.t, timeout, "cycle "+id+" to wait", func() bool {
		var err error
		c, err = s.store.GetCycle(context.Background(), s.tenantID, id)
		return err == nil && (c.Status == billing.AwaitingApproval || c.Status == billing.AwaitingSync)
	})
	return c
}

// decideAll approves or removes every pending update of the tenant through the API.
func (s *stack) decideAll(approve bool) {
	s.t.Helper()
	path := s.tp + "/pending/reject"
	if approve {
		path = s.tp + "/pending/approve"
	}
	var e errorAnswer
	require.Equal(s.t, http.StatusAccepted, s.call("POST", path, s.approverToken, map[string]any{"all": true}, &e), "%+v", e)
}

// setLicenceCounts sets the licence portal's counts of the three demo licences that differ
// from what ConnectWise bills: Northwind servers, Contoso desktops, Fabrikam desktops.
func (s *stack) setLicenceCounts(northwindServers, contosoDesktops, fabrikamDesktops int64) {
	s.t.Helper()
	for _, c := range []struct {
		account, item string
		units         int64
	}{{"acc_1001", "server", northwindServers}, {"acc_1002", "desktop", contosoDesktops}, {"acc_1003", "desktop", fabrikamDesktops}} {
		require.NoError(s.t, s.world.Licences.SetUnits(c.account, c.item, decimal.NewFromInt(c.units)))
	}
}

// An approval a person gave in January, superseded before it was synced, must not approve
// the same numbers when they come back in June on a tenant where people approve changes.
func TestApprovalSupersededInJanuaryDoesNotApproveAJuneChange(t *testing.T) {
	s := newStack(t)
	s.startWorker()

	// January 14: Ann approves three changes (servers 4→5, desktops 40→43 and 12→10).
	jan14 := s.startLicenceCycle("2026-01-14")
	s.waitStatus(jan14, billing.AwaitingApproval, 30*time.Second)
	s.decideAll(true)
	s.waitStatus(jan14, billing.AwaitingSync, 30*time.Second)

	// Overnight every count moves again; the 15th's refresh supersedes the 14th and its
	// other numbers wait for people, who remove them all.
	s.setLicenceCounts(6, 44, 11)
	jan15 := s.startLicenceCycle("2026-01-15")
	require.Equal(t, 3, s.waitCycle(jan14, 30*time.Second).Counts.Superseded)
	c := s.waitStatus(jan15, billing.AwaitingApproval, 30*time.Second)
	require.Equal(t, 3, c.Counts.Pending)
	s.decideAll(false)
	require.Equal(t, billing.Completed, s.waitCycle(jan15, 30*time.Second).Status)

	// June: the counts are back at January 14's numbers. Nobody has approved them since.
	s.setLicenceCounts(5, 43, 10)
	june := s.startLicenceCycle("2026-06-10")
	c = s.waitWaiting(june, 30*time.Second)
	require.Equal(t, 3, c.Counts.Pending, "January's approval does not decide June's change")
	require.Zero(t, c.Counts.Approved)
	for _, it := range s.items(june) {
		require.Empty(t, it.DecidedBy, "%s %s", it.AccountName, it.Item)
	}
}

// A failed automatic cycle must not keep its month: the next automatic run of the same
// period publishes it.
func TestFailedAutomaticRunLeavesTheMonthToTheNextRun(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"approval": {"mode": "automatic"}}}`)
	ctx := context.Background()
	req := starter.StartRequest{TenantID: s.tenantID, Kind: billing.UsagePublish, Trigger: billing.Automatic, Period: "2026-10"}

	s.world.ConnectWise.Faults().Set(fault.Settings{RejectCredentials: true})
	first, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	failed := s.waitCycle(first.RunID, 60*time.Second)
	require.Equal(t, billing.Failed, failed.Status)
	require.Contains(t, failed.Error, "credentials need attention")

	// The credentials are fixed; the next automatic run of October publishes October.
	s.world.ConnectWise.Faults().Set(fault.Settings{})
	second, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	c := s.waitCycle(second.RunID, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 3, c.Counts.Applied)
	s.assertPublishedOnce()

	// October is now published: a third automatic run finds it so.
	third, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	dup := s.waitCycle(third.RunID, 60*time.Second)
	require.Equal(t, billing.AlreadyPublished, dup.Status)
	require.Contains(t, dup.Error, second.RunID)
	s.assertPublishedOnce()
}
