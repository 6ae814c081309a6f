package activities

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

var failSeq atomic.Int64

// failFirstHistoryRow makes PostgreSQL refuse the next site-history row of an action, as
// when the database goes away between an activity's change and its row. A sequence counts
// the attempts: unlike a table, it is not rolled back with the failed transaction.
func failFirstHistoryRow(t *testing.T, st *store.Store, action string) {
	t.Helper()
	ctx := context.Background()
	n := failSeq.Add(1)
	for _, q := range []string{
		fmt.Sprintf(`CREATE SEQUENCE test_fail_%d`, n),
		fmt.Sprintf(`CREATE FUNCTION test_fail_%d() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.action = %s AND nextval('test_fail_%d') = 1 THEN
					RAISE EXCEPTION 'the database went away (test)';
				END IF;
				RETURN NEW;
			END $$`, n, quote(action), n),
		fmt.Sprintf(`CREATE TRIGGER test_fail_%d BEFORE INSERT ON site_history FOR EACH ROW EXECUTE FUNCTION test_fail_%d()`, n, n),
	} {
		_, err := st.Pool().Exec(ctx, q)
		require.NoError(t, err)
	}
}

func quote(s string) string { return "'" + s + "'" }

// rows returns the tenant's site-history rows of an action.
func rows(t *testing.T, st *store.Store, action string) []store.HistoryEntry {
	t.Helper()
	all, err := st.ListHistory(context.Background(), "acme", 0)
	require.NoError(t, err)
	var out []store.HistoryEntry
	for _, h := range all {
		if h.Action == action {
			out = append(out, h)
		}
	}
	return out
}

type onceFixture struct {
	st    *store.Store
	env   *testsuite.TestActivityEnvironment
	cycle string
}

// newOnceFixture is a tenant with a cycle holding three pending updates.
func newOnceFixture(t *testing.T) *onceFixture {
	t.Helper()
	ctx := context.Background()
	st := testenv.Store(t, nil)
	_, err := st.CreateTenant(ctx, tenant.Tenant{ID: "acme", Name: "Acme", TimeZone: "UTC", Settings: tenant.Defaults()})
	require.NoError(t, err)
	f := &onceFixture{st: st, cycle: uuid.NewString()}
	_, _, err = st.CreateCycle(ctx, store.Cycle{ID: f.cycle, TenantID: "acme", Kind: billing.LicenceSync, Period: "2026-11", Mode: "licences", Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)
	var items []store.Item
	for i, q := range []int64{11, 12, 40} {
		items = append(items, store.Item{CycleID: f.cycle, TenantID: "acme", Seq: i, AccountID: fmt.Sprint("acc-", i), AccountName: "Client", Item: "server",
			OldQty: decimal.NewNullDecimal(decimal.NewFromInt(10)), NewQty: decimal.NewNullDecimal(decimal.NewFromInt(q)),
			Delta: decimal.NewNullDecimal(decimal.NewFromInt(q - 10)), State: billing.Pending})
	}
	require.NoError(t, st.InsertItems(ctx, items))
	var s testsuite.WorkflowTestSuite
	f.env = s.NewTestActivityEnvironment()
	f.env.RegisterActivity(&Activities{Store: st})
	return f
}

// An activity whose site-history row fails after its change is retried by Temporal. The
// change and its row are one transaction, so the retry finds the change undone and writes
// both: one row, saying what happened.
func TestActivityRetriedAfterItsHistoryRowFailedWritesOneRow(t *testing.T) {
	t.Run("BeginCycle", func(t *testing.T) {
		f := newOnceFixture(t)
		failFirstHistoryRow(t, f.st, "usage_publish.started")
		in := billing.BeginInput{CycleID: uuid.NewString(), WorkflowID: "billing-cycle/acme/2026-11", TenantID: "acme", Kind: billing.UsagePublish,
			Period: "2026-11", Trigger: billing.Manual, StartedBy: "ann@acme.example"}
		_, err := f.env.ExecuteActivity(workflows.ActivityBeginCycle, in)
		require.Error(t, err)
		_, err = f.env.ExecuteActivity(workflows.ActivityBeginCycle, in)
		require.NoError(t, err)
		require.Len(t, rows(t, f.st, "usage_publish.started"), 1)
	})
	t.Run("Decide", func(t *testing.T) {
		f := newOnceFixture(t)
		failFirstHistoryRow(t, f.st, "pending.approved")
		in := billing.DecideInput{CycleID: f.cycle, Decision: billing.Decision{All: true, Approve: true, Actor: "ann@acme.example"}}
		_, err := f.env.ExecuteActivity(workflows.ActivityDecide, in)
		require.Error(t, err)
		v, err := f.env.ExecuteActivity(workflows.ActivityDecide, in)
		require.NoError(t, err)
		var counts billing.Counts
		require.NoError(t, v.Get(&counts))
		require.Equal(t, 3, counts.Approved)
		got := rows(t, f.st, "pending.approved")
		require.Len(t, got, 1)
		require.Contains(t, got[0].Message, "3 pending update(s)")
	})
	t.Run("ApplyDeadline", func(t *testing.T) {
		f := newOnceFixture(t)
		failFirstHistoryRow(t, f.st, "approval.deadline")
		in := billing.DeadlineInput{CycleID: f.cycle, Action: tenant.DeadlineApplyRule,
			Approval: billing.ApprovalPolicy{Mode: tenant.ApproveRule, MaxUnits: decimal.NewFromInt(5), MaxPercent: decimal.NewFromInt(50)}}
		_, err := f.env.ExecuteActivity(workflows.ActivityApplyDeadline, in)
		require.Error(t, err)
		_, err = f.env.ExecuteActivity(workflows.ActivityApplyDeadline, in)
		require.NoError(t, err)
		got := rows(t, f.st, "approval.deadline")
		require.Len(t, got, 1)
		require.Contains(t, got[0].Message, "2 update(s) approved by the rule, 1 skipped")
	})
}

// An activity retried after its transaction committed (the worker died before Temporal
// heard back) finds its change done and writes no second row.
func TestActivityRetriedAfterItCommittedWritesNoSecondRow(t *testing.T) {
	f := newOnceFixture(t)
	twice := func(name string, in any) {
		t.Helper()
		for range 2 {
			_, err := f.env.ExecuteActivity(name, in)
			require.NoError(t, err)
		}
	}
	twice(workflows.ActivityBeginCycle, billing.BeginInput{CycleID: uuid.NewString(), WorkflowID: "billing-cycle/acme/2026-11", TenantID: "acme",
		Kind: billing.UsagePublish, Period: "2026-11", Trigger: billing.Manual, StartedBy: "ann@acme.example"})
	require.Len(t, rows(t, f.st, "usage_publish.started"), 1)

	twice(workflows.ActivityDecide, billing.DecideInput{CycleID: f.cycle, Decision: billing.Decision{IDs: []int64{1}, Approve: true, Actor: "ann@acme.example"}})
	require.Len(t, rows(t, f.st, "pending.approved"), 1)

	twice(workflows.ActivityApplyDeadline, billing.DeadlineInput{CycleID: f.cycle, Action: tenant.DeadlineApplyRule,
		Approval: billing.ApprovalPolicy{Mode: tenant.ApproveRule, MaxUnits: decimal.NewFromInt(5), MaxPercent: decimal.NewFromInt(50)}})
	require.Len(t, rows(t, f.st, "approval.deadline"), 1)

	twice(workflows.ActivityFinishCycle, billing.FinishInput{CycleID: f.cycle})
	require.Len(t, rows(t, f.st, "licence_sync.completed"), 1)

	_, err := f.st.CreateMetric(context.Background(), store.Metric{ID: "acme-m1", TenantID: "acme", Name: "Open tickets", OwnerEmail: "desk@acme.example",
		TimeZone: "UTC", GaugeID: "g", Schedule: scorecard.DefaultSchedule(), WorkflowID: workflows.MetricSnapshotID("acme-m1")})
	require.NoError(t, err)
	at := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	twice(workflows.ActivityNoteSnapshotFailure, scorecard.FailureNote{MetricID: "acme-m1", TenantID: "acme", Week: "2026-W48", Kind: scorecard.KindScheduled, Error: "gauge down", At: at})
	require.Len(t, rows(t, f.st, "metric.snapshot_failed"), 1)
	// Another failure of the same week is another row.
	_, err = f.env.ExecuteActivity(workflows.ActivityNoteSnapshotFailure, scorecard.FailureNote{MetricID: "acme-m1", TenantID: "acme", Week: "2026-W48",
		Kind: scorecard.KindScheduled, Error: "gauge down", At: at.AddDate(0, 0, 1)})
	require.NoError(t, err)
	require.Len(t, rows(t, f.st, "metric.snapshot_failed"), 2)

	twice(workflows.ActivityCheckScheduledRun, workflows.RunCheckInput{TenantID: "acme", WorkflowID: "scheduled-publish/acme-2026-11-25T06:00:00Z",
		Action: workflows.ActionPublish, Nominal: time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC),
		Schedule: tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: "25", Hour: 6}, TimeZone: "UTC"})
	skipped := rows(t, f.st, "schedule.skipped")
	require.Len(t, skipped, 1)
	require.Contains(t, skipped[0].Message, "turned off")
}
