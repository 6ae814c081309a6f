package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	bkemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
)

func (s *stack) assertPublishedOnce() {
	s.t.Helper()
	for _, c := range demo.BackupClients() {
		a, ok := s.world.ConnectWise.Addition(c.Target.AgreementID, c.Target.AdditionID)
		require.True(s.t, ok)
		require.True(s.t, a.Quantity.Equal(c.UsageGB), "%s holds %s, want %s", c.Name, a.Quantity, c.UsageGB)
		require.Equal(s.t, 1, a.Writes, "%s written %d times", c.Name, a.Writes)
	}
}

func TestDuplicateAutomaticStartEndsAsAlreadyPublished(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	ctx := context.Background()
	req := starter.StartRequest{TenantID: s.tenantID, Kind: billing.UsagePublish, Trigger: billing.Automatic, Period: "2026-10"}

	first, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err)
	require.Equal(t, billing.Completed, s.waitCycle(first.RunID, 60*time.Second).Status)

	second, err := s.starter.StartCycle(ctx, req)
	require.NoError(t, err, "the period's workflow ID may be reused once the first cycle ended")
	c := s.waitCycle(second.RunID, 60*time.Second)
	require.Equal(t, billing.AlreadyPublished, c.Status)
	require.Contains(t, c.Error, first.RunID)
	require.Empty(t, s.items(second.RunID), "the duplicate read and wrote nothing")
	s.assertPublishedOnce()
}

func TestSecondStartWhileACycleRunsIsRefused(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	first := s.publish(nil)
	s.waitStatus(first, billing.AwaitingApproval, 30*time.Second)
	var e errorAnswer
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/publish", s.approverToken, nil, &e))
	require.Equal(t, "already_running", e.Error.Code)
	cycles, err := s.store.ListCycles(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	require.Len(t, cycles, 1)
}

func TestOneBadManagedIDFailsOnlyThatClient(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"mode": "basic", "approval": {"mode": "automatic"}}}}`)
	s.world.Backup.AddClient(bkemu.ClientRecord{ID: "cl_9999", Name: "Typo Ltd", ManagedID: "NOPE-404", MonthlyGB: decimal.RequireFromString("12.5")})

	id := s.publish(nil)
	c := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Partial, c.Status)
	require.Equal(t, 3, c.Counts.Applied)
	require.Equal(t, 1, c.Counts.Failed)
	for _, it := range s.items(id) {
		if it.AccountID == "cl_9999" {
			require.Equal(t, billing.ItemFailed, it.State)
			require.Contains(t, it.Reason, "NOPE-404")
		} else {
			require.Equal(t, billing.Applied, it.State, "%s: %s", it.AccountName, it.Reason)
		}
	}
	// The Backup Stats records hold this month's space for the three good clients.
	year, month := c.Period.YearMonth()
	for _, bc := range demo.BackupClients() {
		rec, ok := s.backupStatsRecord(bc.Target.CompanyID, cwemu.ConfigTypeBackupStats)
		require.True(t, ok, bc.Name)
		require.Equal(t, map[string]string{"Billable Space": bc.UsageGB.String(), "Year": fmt.Sprint(year), "Month": fmt.Sprint(int(month))}, rec)
	}

	msgs, err := s.mail.WaitFor(context.Background(), 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Subject, "partly completed")
	require.Contains(t, msgs[0].Text, "Typo Ltd")
	require.Contains(t, msgs[0].Text, "NOPE-404")
}

func Test429BurstsAreWaitedOutAndWriteOnce(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	s.world.ConnectWise.Faults().Set(fault.Settings{Burst429: 3, RetryAfterSeconds: 1})
	id := s.publish(nil)
	c := s.waitCycle(id, 90*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 3, s.world.ConnectWise.Faults().Counts().Throttled)
	s.assertPublishedOnce()
}

func TestExpiredCredentialsFailTheCycleAndSaySo(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.world.ConnectWise.Faults().Set(fault.Settings{RejectCredentials: true})
	id := s.publish(nil)
	c := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Failed, c.Status)
	require.Contains(t, c.Error, "credentials need attention")
	for _, cl := range demo.BackupClients() {
		require.Zero(t, s.world.ConnectWise.Writes(cwemu.Additions, cl.Target.AdditionID))
	}
	h, err := s.store.ListHistory(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	var failed *store.HistoryEntry
	for i := range h {
		if h[i].Action == "usage_publish.failed" {
			failed = &h[i]
		}
	}
	require.NotNil(t, failed, "the failure is in the site history")
	require.Equal(t, store.SeverityError, failed.Severity)
	msgs, err := s.mail.WaitFor(context.Background(), 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Subject, "failed")
	require.Contains(t, msgs[0].Text, "credentials need attention")
}

func TestLicenceSyncRound(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	var started struct {
		RunID string `json:"run_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	c := s.waitStatus(started.RunID, billing.AwaitingApproval, 30*time.Second)
	require.Equal(t, billing.LicenceSync, c.Kind)

	var pending pendingAnswer
	s.call("GET", s.tp+"/pending", s.viewerToken, nil, &pending)
	byKey := map[string]store.Item{}
	for _, it := range pending.Pending {
		byKey[it.AccountName+"/"+it.Item] = it
	}
	require.Len(t, pending.Pending, 3, "server 4→5 at Northwind, desktop 40→43 at Contoso, desktop 12→10 at Fabrikam")
	var all pendingAnswer
	s.call("GET", s.tp+"/pending?all=true", s.viewerToken, nil, &all)
	require.Len(t, all.Pending, 5, "the two unchanged counts show with ?all=true")

	nw, co, fa := byKey["Northwind Traders/server"], byKey["Contoso Ltd/desktop"], byKey["Fabrikam, Inc./desktop"]
	require.Equal(t, "1", nw.Delta.Decimal.String())
	require.Equal(t, "-2", fa.Delta.Decimal.String())
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": []int64{nw.ID, co.ID}}, nil))
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/reject", s.approverToken, map[string]any{"ids": []int64{fa.ID}}, nil))
	s.waitStatus(started.RunID, billing.AwaitingSync, 30*time.Second)
	require.Zero(t, s.world.ConnectWise.Writes(cwemu.Additions, nw.Target.AdditionID), "approved updates wait for the sync")

	var synced syncAnswer
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/publish", s.approverToken, map[string]any{"kind": "licence_sync"}, &synced))
	require.Equal(t, started.RunID, synced.CycleID, "sync now joins the open licence cycle of the period")
	require.Equal(t, 2, synced.Pushing)
	require.Zero(t, synced.Pending)
	c = s.waitCycle(started.RunID, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 2, c.Counts.Applied)
	require.Equal(t, 1, c.Counts.Rejected)

	q := func(t2 int64, ag int64) string {
		a, _ := s.world.ConnectWise.Addition(ag, t2)
		return a.Quantity.String()
	}
	require.Equal(t, "5", q(nw.Target.AdditionID, nw.Target.AgreementID))
	require.Equal(t, "43", q(co.Target.AdditionID, co.Target.AgreementID))
	require.Equal(t, "12", q(fa.Target.AdditionID, fa.Target.AgreementID), "the rejected update changed nothing")

	var one struct {
		Items []store.Item `json:"items"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/cycles/"+started.RunID, s.viewerToken, nil, &one))
	rows := map[string]string{}
	for _, it := range one.Items {
		rows[it.AccountName+"/"+it.Item] = string(it.State) + " " + it.OldQty.Decimal.String() + "→" + it.NewQty.Decimal.String()
	}
	require.Equal(t, "applied 4→5", rows["Northwind Traders/server"])
	require.Equal(t, "applied 40→43", rows["Contoso Ltd/desktop"])
	require.Equal(t, "rejected 12→10", rows["Fabrikam, Inc./desktop"])
	require.Equal(t, "unchanged 25→25", rows["Northwind Traders/desktop"])
	actions := strings.Join(s.historyActions(), " ")
	require.Contains(t, actions, "licence_sync.started")
	require.Contains(t, actions, "pending.approved")
	require.Contains(t, actions, "pending.rejected")
	require.Contains(t, actions, "licence_sync.completed")
}

func TestNewerLicenceRefreshSupersedesAndCarriesApprovals(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	first, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual, StartedBy: "ann@demo-msp.example", Period: "2026-11-23"})
	require.NoError(t, err)
	s.waitStatus(first.RunID, billing.AwaitingApproval, 30*time.Second)
	var pending pendingAnswer
	s.call("GET", s.tp+"/pending", s.viewerToken, nil, &pending)
	require.Len(t, pending.Pending, 3)
	// Ann approves all three, but no sync happens before the next day's refresh.
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, nil))
	s.waitStatus(first.RunID, billing.AwaitingSync, 30*time.Second)
	// Overnight one count moves again: Fabrikam now has 11 desktops.
	require.NoError(t, s.world.Licences.SetUnits("acc_1003", "desktop", decimal.NewFromInt(11)))

	second, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual, StartedBy: "ann@demo-msp.example", Period: "2026-11-24"})
	require.NoError(t, err)
	old := s.waitCycle(first.RunID, 30*time.Second)
	require.Contains(t, old.Error, "superseded")
	require.Equal(t, 3, old.Counts.Superseded)
	c := s.waitStatus(second.RunID, billing.AwaitingApproval, 30*time.Second)
	require.Equal(t, 2, c.Counts.Approved, "identical changes keep Ann's approval")
	require.Equal(t, 1, c.Counts.Pending, "the changed count waits for a new decision")
	for _, it := range s.items(second.RunID) {
		if it.State == billing.Approved {
			require.Equal(t, "ann@demo-msp.example", it.DecidedBy)
			require.Contains(t, it.Reason, "2026-11-23")
		}
	}
	for _, l := range demo.Licences() {
		if l.Target.AdditionID != 0 {
			require.Zero(t, s.world.ConnectWise.Writes(cwemu.Additions, l.Target.AdditionID), "a superseded cycle pushes nothing")
		}
	}
}

// Licence sync against Autotask: units are whole numbers (cloud GB rounds up by the tenant's
// policy) and change through ContractServiceAdjustments, one per update.
func TestLicenceSyncSetsAutotaskContractServiceUnits(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	creds := atemu.DemoCredentials
	var e errorAnswer
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken, map[string]any{
		"kind": "autotask", "confirm_reset": true,
		"credentials": map[string]any{"zone_discovery_url": s.urls.Autotask + "/atservicesrest", "user_name": creds.UserName,
			"secret": creds.Secret, "integration_code": creds.IntegrationCode},
	}, &e), "%+v", e)
	maps := []struct {
		id, account, item string
		cs, contract      int64
		company           int64
	}{
		{"at-server", "acc_1001", "server", atemu.DemoCSNorthwindServer, atemu.DemoContractNorthwind, atemu.DemoCompanyNorthwind},
		{"at-desktop", "acc_1001", "desktop", atemu.DemoCSNorthwindDesktop, atemu.DemoContractNorthwind, atemu.DemoCompanyNorthwind},
		{"at-cloud", "acc_1003", "cloud_gb", atemu.DemoCSFabrikamBackup, atemu.DemoContractFabrikam, atemu.DemoCompanyFabrikam},
	}
	for _, m := range maps {
		code := s.call("PUT", s.tp+"/mappings/"+m.id, s.adminToken, map[string]any{
			"source": "licenses", "account_id": m.account, "item": m.item,
			"target": map[string]any{"company_id": m.company, "agreement_id": m.contract, "addition_id": m.cs},
		}, &e)
		require.Equal(t, http.StatusCreated, code, "%+v", e)
	}

	var started struct {
		RunID string `json:"run_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	s.waitStatus(started.RunID, billing.AwaitingApproval, 30*time.Second)
	news := map[string]string{}
	for _, it := range s.items(started.RunID) {
		news[it.Item] = it.OldQty.Decimal.String() + "→" + it.NewQty.Decimal.String()
	}
	require.Equal(t, map[string]string{"server": "2→5", "desktop": "18→25", "cloud_gb": "75→251"}, news, "250.25 GB rounds up to 251 units")
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, nil))
	s.waitStatus(started.RunID, billing.AwaitingSync, 30*time.Second)
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/publish", s.approverToken, map[string]any{"kind": "licence_sync"}, nil))
	c := s.waitCycle(started.RunID, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	for cs, want := range map[int64]int64{atemu.DemoCSNorthwindServer: 5, atemu.DemoCSNorthwindDesktop: 25, atemu.DemoCSFabrikamBackup: 251} {
		units, ok := s.world.Autotask.CurrentUnits(cs)
		require.True(t, ok)
		require.Equal(t, want, units, "contract service %d", cs)
		require.Equal(t, 1, s.world.Autotask.AdjustmentCount(cs), "one adjustment for contract service %d", cs)
	}
	for _, it := range s.items(started.RunID) {
		require.NotEmpty(t, it.PSAReference, "the adjustment is recorded so it can be reversed")
	}
}
