package integration

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
)

// refreshAndSync runs a manual licence cycle of a period to its end: refresh, approve every
// update, sync now.
func (s *stack) refreshAndSync(period billing.Period) store.Cycle {
	s.t.Helper()
	id := s.startLicenceCycle(period)
	s.waitStatus(id, billing.AwaitingApproval, 30*time.Second)
	s.decideAll(true)
	s.waitStatus(id, billing.AwaitingSync, 30*time.Second)
	return s.syncLicences(id)
}

// publishPeriod publishes a usage period by hand (approval automatic) and waits for its end.
func (s *stack) publishPeriod(period billing.Period) store.Cycle {
	s.t.Helper()
	return s.waitCycle(s.publish(map[string]any{"period": period}), 60*time.Second)
}

// A failed June is published again after July was: on Autotask, whose units are dated, June
// gets its own number on every June day, and July keeps what it holds — it must not move by
// June's difference while its cycle says "applied".
func TestPublishingJuneAfterJulyOnAutotaskLeavesJulyAsItIs(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.useAutotask(atMapping{"at-server", "acc_1001", "server", atemu.DemoCompanyNorthwind, atemu.DemoContractNorthwind, atemu.DemoCSNorthwindServer})
	cs := atemu.DemoCSNorthwindServer
	june, july := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	august := july.AddDate(0, 1, 0)

	s.setLicenceCounts(15, 43, 10)
	c := s.refreshAndSync("2026-07")
	require.Equal(t, billing.Completed, c.Status, c.Error)
	s.unitsEveryDay(cs, july, august.AddDate(0, 1, 0), 15)

	s.setLicenceCounts(12, 43, 10)
	c = s.refreshAndSync("2026-06")
	require.Equal(t, billing.Completed, c.Status, c.Error)
	it := s.items(c.ID)[0]
	require.Equal(t, billing.Applied, it.State, it.Reason)
	require.Equal(t, "12", it.AppliedQty.Decimal.String())

	s.unitsEveryDay(cs, june, july, 12)
	s.unitsEveryDay(cs, july, august.AddDate(0, 1, 0), 15)
	got, _ := s.world.Autotask.UnitsOn(cs, june.AddDate(0, 0, -1))
	require.Equal(t, int64(2), got, "May is left alone")

	require.Equal(t, 3, s.world.Autotask.AdjustmentCount(cs), "July's change; June's, and July's units kept on July 1st")
}

// ConnectWise keeps one quantity per addition: publishing June after July would replace
// July's number. The June update fails with a reason people can act on; nothing is written.
func TestPublishingJuneAfterJulyOnConnectWiseFailsJuneAndKeepsJuly(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	var server demo.Licence
	for _, l := range demo.Licences() {
		if l.AccountID == "acc_1001" && l.Type == "server" {
			server = l
		}
	}
	require.NotZero(t, server.Target.AdditionID)

	s.setLicenceCounts(7, 43, 10)
	c := s.refreshAndSync("2026-07")
	require.Equal(t, billing.Completed, c.Status, c.Error)
	a, _ := s.world.ConnectWise.Addition(server.Target.AgreementID, server.Target.AdditionID)
	require.Equal(t, "7", a.Quantity.String())
	writes := a.Writes

	s.setLicenceCounts(6, 44, 11)
	c = s.refreshAndSync("2026-06")
	require.Equal(t, billing.Partial, c.Status, c.Error)
	for _, it := range s.items(c.ID) {
		if it.State == billing.Unchanged {
			continue
		}
		require.Equal(t, billing.ItemFailed, it.State, "%s %s", it.AccountName, it.Item)
		require.Contains(t, it.Reason, "not written: 2026-07 is already published to this addition")
		require.Contains(t, it.Reason, "add it by hand in ConnectWise")
	}
	a, _ = s.world.ConnectWise.Addition(server.Target.AgreementID, server.Target.AdditionID)
	require.Equal(t, "7", a.Quantity.String(), "July's quantity stands")
	require.Equal(t, writes, a.Writes, "nothing was written")
}

// In basic mode a company has one Backup Stats record, holding one month: June published
// after July fails and leaves July's record.
func TestPublishingJuneAfterJulyInBasicModeFailsJuneAndKeepsJulysRecord(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"mode": "basic", "approval": {"mode": "automatic"}}}}`)
	for _, c := range demo.BackupClients() {
		require.NoError(t, s.world.Backup.SetUsage(c.ClientID, 2026, time.June, decimal.RequireFromString("40")))
	}

	c := s.publishPeriod("2026-07")
	require.Equal(t, billing.Completed, c.Status, c.Error)
	c = s.publishPeriod("2026-06")
	require.Equal(t, billing.Failed, c.Status, c.Error)
	for _, it := range s.items(c.ID) {
		require.Equal(t, billing.ItemFailed, it.State, "%s", it.AccountName)
		require.Contains(t, it.Reason, "Backup Stats record already holds 2026-07")
	}

	client, err := s.acts.Connect.PSA(context.Background(), s.tenantID)
	require.NoError(t, err)
	var ids []string
	for _, c := range demo.BackupClients() {
		ids = append(ids, c.ManagedID)
	}
	records, err := client.(psa.BackupStatsWriter).ReadBackupStats(context.Background(), psa.BackupStatsLayout{
		ConfigurationType: "Backup Stats", BillableSpaceQuestion: "Billable Space", YearQuestion: "Year", MonthQuestion: "Month"}, ids)
	require.NoError(t, err)
	for i, r := range records {
		require.NoError(t, r.Err)
		require.Equal(t, [2]int{2026, 7}, [2]int{r.Stats.Year, r.Stats.Month}, "%s", r.ManagedID)
		require.True(t, r.Stats.BillableSpaceGB.Equal(demo.BackupClients()[i].UsageGB), "%s holds %s", r.ManagedID, r.Stats.BillableSpaceGB)
	}
}

// A manual refresh of a past period must not supersede the current period's open licence
// cycle: that cycle would end "completed", keep its claim, and the current month would
// never be published automatically.
func TestAPastPeriodLicenceRefreshDoesNotSupersedeTheCurrentOne(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	current, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.LicenceSync, Trigger: billing.Automatic, Period: "2026-11"})
	require.NoError(t, err)
	s.waitStatus(current.RunID, billing.AwaitingApproval, 30*time.Second)

	past := s.startLicenceCycle("2026-10")
	s.waitStatus(past, billing.AwaitingApproval, 30*time.Second)

	c, err := s.store.GetCycle(ctx, s.tenantID, current.RunID)
	require.NoError(t, err)
	require.Equal(t, billing.AwaitingApproval, c.Status, "the current period's cycle still waits")
	require.Zero(t, c.Counts.Superseded)
	require.Positive(t, c.Counts.Pending)
	for _, it := range s.items(current.RunID) {
		require.NotEqual(t, billing.Superseded, it.State, "%s %s", it.AccountName, it.Item)
	}
}

// pushOnce runs one PushPage attempt in an activity environment, as a retry would.
func (s *stack) pushOnce(in billing.PushInput) (billing.PushResult, error) {
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(s.acts)
	var res billing.PushResult
	v, err := env.ExecuteActivity(s.acts.PushPage, in)
	if err == nil {
		err = v.Get(&res)
	}
	return res, err
}

// June's push after July's writes June's change, and then Autotask rate-limits the
// adjustment that keeps July's units. The attempt ends at once (no wait inside the target's
// lock); its retry keeps July at what it held before June's first attempt — not at what
// June's half-written change left there.
func TestARetriedJunePushKeepsJulysUnitsAfterItsFirstAttemptWroteHalf(t *testing.T) {
	s := newStack(t)
	s.useAutotask()
	cs := atemu.DemoCSNorthwindServer
	target := store.ItemTarget{Target: psa.Target{CompanyID: atemu.DemoCompanyNorthwind, AgreementID: atemu.DemoContractNorthwind, AdditionID: cs}}
	june, july := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	in := func(id string, p billing.Period) billing.PushInput {
		return billing.PushInput{CycleID: id, TenantID: s.tenantID, Kind: billing.LicenceSync, Period: p, PageSize: 10}
	}
	julyID := s.approvedCycle(billing.LicenceSync, "2026-07", "acc_1001", target, "2", "15", &july)
	res, err := s.pushOnce(in(julyID, "2026-07"))
	require.NoError(t, err)
	require.Equal(t, 1, res.Applied)

	juneID := s.approvedCycle(billing.LicenceSync, "2026-06", "acc_1001", target, "2", "12", &june)
	creates := 0
	s.world.Autotask.BeforeCreate(func(entity string) {
		if entity == "ContractServiceAdjustments" {
			if creates++; creates == 1 {
				// June's own adjustment lands; the next create, July's, is refused.
				s.world.Autotask.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 30, PathPrefix: "/atservicesrest/v1.0/ContractServiceAdjustments"})
			}
		}
	})
	t.Cleanup(func() { s.world.Autotask.BeforeCreate(nil) })
	_, err = s.pushOnce(in(juneID, "2026-06"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "429")
	got, _ := s.world.Autotask.UnitsOn(cs, july)
	require.Equal(t, int64(25), got, "the first attempt left July moved by June's change")

	res, err = s.pushOnce(in(juneID, "2026-06"))
	require.NoError(t, err)
	require.Equal(t, 1, res.Applied)
	s.unitsEveryDay(cs, june, july, 12)
	s.unitsEveryDay(cs, july, july.AddDate(0, 2, 0), 15)
}
