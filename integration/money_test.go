package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/meterbridge/meterbridge/billing"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
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
	require.Equal(s.t, http.StatusOK, s.call("POST", path, s.approverToken, map[string]any{"all": true}, &e), "%+v", e)
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
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
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

// atMapping maps a licence to an Autotask contract service.
type atMapping struct {
	id, account, item     string
	company, contract, cs int64
}

// useAutotask switches the tenant's PSA to the Autotask emulator and stores licence
// mappings as given (stored directly: the API would check each target is billed today).
func (s *stack) useAutotask(maps ...atMapping) {
	s.t.Helper()
	creds := atemu.DemoCredentials
	var e errorAnswer
	require.Equal(s.t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken, map[string]any{
		"kind": "autotask", "confirm_reset": true,
		"credentials": map[string]any{"zone_discovery_url": s.urls.Autotask + "/atservicesrest", "user_name": creds.UserName,
			"secret": creds.Secret, "integration_code": creds.IntegrationCode},
	}, &e), "%+v", e)
	for _, m := range maps {
		_, _, err := s.store.PutMapping(context.Background(), store.Mapping{TenantID: s.tenantID, ID: m.id, Source: "licenses",
			AccountID: m.account, Item: m.item, Target: psa.Target{CompanyID: m.company, AgreementID: m.contract, AdditionID: m.cs}}, "admin@demo-msp.example")
		require.NoError(s.t, err)
	}
}

// syncLicences sends "sync now" and waits for the cycle to end.
func (s *stack) syncLicences(id string) store.Cycle {
	s.t.Helper()
	var e errorAnswer
	require.Equal(s.t, http.StatusOK, s.call("POST", s.tp+"/publish", s.approverToken, map[string]any{"kind": "licence_sync"}, &e), "%+v", e)
	return s.waitCycle(id, 60*time.Second)
}

// unitsEveryDay checks the Autotask emulator's units of a contract service on every day of
// [from, until).
func (s *stack) unitsEveryDay(cs int64, from, until time.Time, want int64) {
	s.t.Helper()
	for d := from; d.Before(until); d = d.AddDate(0, 0, 1) {
		got, ok := s.world.Autotask.UnitsOn(cs, d)
		require.True(s.t, ok, "contract service %d has no units on %s", cs, d.Format(time.DateOnly))
		require.Equal(s.t, want, got, "contract service %d on %s", cs, d.Format(time.DateOnly))
	}
}

// thisMonth is the first day of the month of a licence cycle's period, and of the next.
func thisMonth(p billing.Period) (time.Time, time.Time) {
	y, m := p.YearMonth()
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return first, first.AddDate(0, 1, 0)
}

// Staff adjust a contract service's units mid-month between meterbridge's refresh and its
// push: the approved units must hold on every day of the month afterwards, not only until
// the staff's adjustment (after which the customer would be billed their change on top).
// A monthly period is read, and set, as of its 1st.
func TestMidMonthAutotaskAdjustmentBetweenRefreshAndPushLeavesTheApprovedUnitsEveryDay(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"licences": {"refresh": {"cadence": "monthly", "day": "1"}}}}`)
	s.useAutotask(
		atMapping{"at-server", "acc_1001", "server", atemu.DemoCompanyNorthwind, atemu.DemoContractNorthwind, atemu.DemoCSNorthwindServer},
		atMapping{"at-desktop", "acc_1001", "desktop", atemu.DemoCompanyNorthwind, atemu.DemoContractNorthwind, atemu.DemoCSNorthwindDesktop},
	)
	var started struct {
		RunID  string         `json:"run_id"`
		Period billing.Period `json:"period"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	s.waitStatus(started.RunID, billing.AwaitingApproval, 30*time.Second)
	first, next := thisMonth(started.Period)
	for _, it := range s.items(started.RunID) {
		require.NotNil(t, it.AsOf, "%s", it.Item)
		require.True(t, it.AsOf.Equal(first), "%s is read as of %s, want the 1st", it.Item, it.AsOf)
	}

	// On the contract page, someone adds 3 servers from the 15th.
	mid := first.AddDate(0, 0, 14)
	require.NoError(t, s.world.Autotask.AdjustUnits(atemu.DemoCSNorthwindServer, 3, mid))

	s.decideAll(true)
	s.waitStatus(started.RunID, billing.AwaitingSync, 30*time.Second)
	c := s.syncLicences(started.RunID)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 2, c.Counts.Applied)

	s.unitsEveryDay(atemu.DemoCSNorthwindServer, first, next, 5)
	s.unitsEveryDay(atemu.DemoCSNorthwindDesktop, first, next, 25)
	s.unitsEveryDay(atemu.DemoCSNorthwindServer, next, next.AddDate(0, 1, 0), 5)
	got, _ := s.world.Autotask.UnitsOn(atemu.DemoCSNorthwindServer, first.AddDate(0, 0, -1))
	require.Equal(t, int64(2), got, "the month before is left alone")
}

// A contract service added to a running contract on the 10th has no units on the 1st: its
// item is read as of the 10th and set from the 10th, instead of failing every day of its
// first month.
func TestAutotaskServiceStartingMidMonthIsBilledFromTheDayItStarts(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	period := billing.MonthOf(time.Now(), time.UTC)
	first, next := thisMonth(period)
	tenth := first.AddDate(0, 0, 9)
	svc := s.world.Autotask.AddService("Cloud Backup GB", decimal.RequireFromString("0.12"))
	cs, err := s.world.Autotask.AddContractServiceFrom(atemu.DemoContractFabrikam, svc, 0, tenth)
	require.NoError(t, err)
	s.useAutotask(atMapping{"at-cloud", "acc_1003", "cloud_gb", atemu.DemoCompanyFabrikam, atemu.DemoContractFabrikam, cs})

	started, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Manual,
		StartedBy: "ann@demo-msp.example", Period: period})
	require.NoError(t, err)
	s.waitWaiting(started.RunID, 30*time.Second)
	items := s.items(started.RunID)
	require.Len(t, items, 1)
	it := items[0]
	require.Equal(t, billing.Pending, it.State, it.Reason)
	require.Equal(t, "0→251", it.OldQty.Decimal.String()+"→"+it.NewQty.Decimal.String())
	require.NotNil(t, it.AsOf)
	require.True(t, it.AsOf.Equal(tenth), "read as of %s, want the 10th", it.AsOf)

	s.decideAll(true)
	s.waitStatus(started.RunID, billing.AwaitingSync, 30*time.Second)
	c := s.syncLicences(started.RunID)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 1, c.Counts.Applied)
	s.unitsEveryDay(cs, tenth, next, 251)
	_, ok := s.world.Autotask.UnitsOn(cs, tenth.AddDate(0, 0, -1))
	require.False(t, ok, "no units before the service started")
}

// A daily licence period (a daily refresh schedule) is read, and set, as of its own day: the
// seat added on the 10th is billed from the 10th, not from the 1st, and the approved units
// then hold on every later day of the month, whatever staff adjusted in between.
func TestADailyPeriodIsBilledFromItsOwnDay(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.useAutotask(atMapping{"at-server", "acc_1001", "server", atemu.DemoCompanyNorthwind, atemu.DemoContractNorthwind, atemu.DemoCSNorthwindServer})
	cs := atemu.DemoCSNorthwindServer
	tenth := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	first, next := thisMonth("2026-06-10")

	id := s.startLicenceCycle("2026-06-10")
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	items := s.items(id)
	require.Len(t, items, 1)
	require.NotNil(t, items[0].AsOf)
	require.True(t, items[0].AsOf.Equal(tenth), "read as of %s, want the 10th", items[0].AsOf)

	require.NoError(t, s.world.Autotask.AdjustUnits(cs, 3, tenth.AddDate(0, 0, 10))) // staff, on the 20th
	s.decideAll(true)
	s.waitStatus(id, billing.AwaitingSync, 30*time.Second)
	c := s.syncLicences(id)
	require.Equal(t, billing.Completed, c.Status, c.Error)

	s.unitsEveryDay(cs, first, tenth, 2)
	s.unitsEveryDay(cs, tenth, next, 5)
	s.unitsEveryDay(cs, next, next.AddDate(0, 1, 0), 5)
}

// approvedCycle records a licence or usage cycle holding one approved item for target,
// old → new, as a refresh and a person would have left it, and returns the cycle's ID.
func (s *stack) approvedCycle(kind billing.Kind, period billing.Period, account string, target store.ItemTarget, oldQty, newQty string, asOf *time.Time) string {
	s.t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	_, _, err := s.store.CreateCycle(ctx, store.Cycle{ID: id, TenantID: s.tenantID, Kind: kind, Period: period, Mode: "test",
		Trigger: billing.Manual, StartedBy: "ann@demo-msp.example", WorkflowID: "test/" + id})
	require.NoError(s.t, err)
	o, n := decimal.RequireFromString(oldQty), decimal.RequireFromString(newQty)
	require.NoError(s.t, s.store.InsertItems(ctx, []store.Item{{CycleID: id, TenantID: s.tenantID, AccountID: account, AccountName: account,
		Item: "server", Target: target, AsOf: asOf, OldQty: decimal.NewNullDecimal(o), NewQty: decimal.NewNullDecimal(n),
		Delta: decimal.NewNullDecimal(n.Sub(o)), State: billing.Approved, DecidedBy: "ann@demo-msp.example"}}))
	return id
}

type pushRun struct {
	res billing.PushResult
	err error
}

// pushAtOnce runs PushPage for each input at the same time, each in its own activity
// environment, and lines them up at the PSA: the first create (of entity, through the
// emulator's BeforeCreate hook) is held until either a second create arrives — both pushes
// read the PSA before either wrote — or another push waits for the PSA target's lock.
func (s *stack) pushAtOnce(setHook func(func(string)), entity string, ins ...billing.PushInput) []pushRun {
	s.t.Helper()
	var arrived atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	setHook(func(e string) {
		if e == entity {
			arrived.Add(1)
			<-release
		}
	})
	s.t.Cleanup(func() { open(); setHook(nil) })

	runs := make([]pushRun, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
			env.RegisterActivity(s.acts)
			v, err := env.ExecuteActivity(s.acts.PushPage, in)
			if err == nil {
				err = v.Get(&runs[i].res)
			}
			runs[i].err = err
		})
	}
	eventually(s.t, 60*time.Second, "the pushes to meet at the PSA", func() bool {
		n := arrived.Load()
		return n >= 2 || (n == 1 && s.lockWaiters() >= 1)
	})
	open()
	wg.Wait()
	return runs
}

// lockWaiters counts sessions of the test's database waiting for an advisory lock.
func (s *stack) lockWaiters() int {
	var n int
	require.NoError(s.t, s.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n))
	return n
}

// Two pushes of one Autotask contract service at once — two cycles' items for it, or a
// page's retry overlapping its first attempt — must leave the approved units, not both
// adjustments on top of each other.
func TestTwoConcurrentPushesOfOneContractServiceGiveTheApprovedValueNotTheSum(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sameCycle bool
	}{
		{"two cycles' items for one contract service", false},
		{"a retry overlapping its first attempt", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.useAutotask()
			period := billing.DayOf(time.Now(), time.UTC)
			first, next := thisMonth(period)
			target := store.ItemTarget{Target: psa.Target{CompanyID: atemu.DemoCompanyNorthwind, AgreementID: atemu.DemoContractNorthwind,
				AdditionID: atemu.DemoCSNorthwindServer}}
			a := s.approvedCycle(billing.LicenceSync, period, "acc_1001", target, "2", "5", &first)
			b := a
			if !tc.sameCycle {
				b = s.approvedCycle(billing.LicenceSync, period, "acc_1001", target, "2", "5", &first)
			}
			in := func(id string) billing.PushInput {
				return billing.PushInput{CycleID: id, TenantID: s.tenantID, Kind: billing.LicenceSync, Period: period, PageSize: 10}
			}
			runs := s.pushAtOnce(func(f func(string)) { s.world.Autotask.BeforeCreate(f) }, "ContractServiceAdjustments", in(a), in(b))
			s.unitsEveryDay(atemu.DemoCSNorthwindServer, first, next, 5)
			require.Equal(t, 1, s.world.Autotask.AdjustmentCount(atemu.DemoCSNorthwindServer), "one adjustment of +3")
			for _, r := range runs {
				require.NoError(t, r.err)
			}
			for _, id := range []string{a, b} {
				it := s.items(id)[0]
				require.Equal(t, billing.Applied, it.State, it.Reason)
				require.Equal(t, "5", it.AppliedQty.Decimal.String())
			}
			if tc.sameCycle {
				require.Equal(t, 1, runs[0].res.Applied+runs[1].res.Applied, "the item is pushed once")
			}
		})
	}
}

// Two pushes of one Managed ID in basic mode at once must create one Backup Stats record.
func TestTwoConcurrentBasicPushesCreateOneBackupStatsRecord(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"settings": {"publish": {"mode": "basic"}}}`)
	period := billing.MonthOf(time.Now(), time.UTC)
	target := store.ItemTarget{ManagedID: "Contoso"}
	a := s.approvedCycle(billing.UsagePublish, period, "cl_1002", target, "0", "310.2", nil)
	b := s.approvedCycle(billing.UsagePublish, period, "cl_1002", target, "0", "310.2", nil)
	in := func(id string) billing.PushInput {
		return billing.PushInput{CycleID: id, TenantID: s.tenantID, Kind: billing.UsagePublish, Period: period, PageSize: 10}
	}
	runs := s.pushAtOnce(func(f func(string)) { s.world.ConnectWise.BeforeCreate(f) }, cwemu.Configurations, in(a), in(b))
	for _, r := range runs {
		require.NoError(t, r.err)
	}
	records := 0
	for _, doc := range s.world.ConnectWise.Documents(cwemu.Configurations) {
		company, _ := doc["company"].(map[string]any)
		typ, _ := doc["type"].(map[string]any)
		if fmt.Sprint(typ["id"]) == fmt.Sprint(cwemu.ConfigTypeBackupStats) && fmt.Sprint(company["id"]) == fmt.Sprint(cwemu.DemoCompanyContoso) {
			records++
		}
	}
	require.Equal(t, 1, records, "one Backup Stats record for Contoso")
	for _, id := range []string{a, b} {
		it := s.items(id)[0]
		require.Equal(t, billing.Applied, it.State, it.Reason)
	}
}
