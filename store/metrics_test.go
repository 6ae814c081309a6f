package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
)

func newMetric(t *testing.T, s *store.Store, tenantID string) store.Metric {
	t.Helper()
	newTenant(t, s, tenantID)
	m, err := s.CreateMetric(context.Background(), store.Metric{
		ID: store.NewMetricID(tenantID), TenantID: tenantID, Name: "Open tickets", OwnerEmail: "owner@acme.example",
		TimeZone: "Australia/Brisbane", GaugeID: "g_open_tickets", Schedule: scorecard.DefaultSchedule(),
		WorkflowID: "metric-snapshot/x", CreatedBy: "ann@acme.example",
	})
	require.NoError(t, err)
	return m
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func snap(m store.Metric, week scorecard.Week, value string, final bool) store.Snapshot {
	return store.Snapshot{MetricID: m.ID, TenantID: m.TenantID, Week: week, Value: dec(value), ReadAt: time.Now(), Kind: scorecard.KindScheduled, Final: final}
}

func historyActions(t *testing.T, s *store.Store, tenantID string) []string {
	t.Helper()
	h, err := s.ListHistory(context.Background(), tenantID, 0)
	require.NoError(t, err)
	var out []string
	for i := len(h) - 1; i >= 0; i-- {
		out = append(out, h[i].Severity+" "+h[i].Action)
	}
	return out
}

func TestMetricIDsAreUniqueAndTenantScoped(t *testing.T) {
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	ctx := context.Background()
	m := store.Metric{ID: "acme-m1", TenantID: "acme", Name: "MRR", OwnerEmail: "o@acme.example", TimeZone: "UTC",
		GaugeID: "g_mrr", Schedule: scorecard.DefaultSchedule(), WorkflowID: "metric-snapshot/acme-m1"}
	_, err := s.CreateMetric(ctx, m)
	require.NoError(t, err)
	require.Equal(t, []string{"info metric.created"}, historyActions(t, s, "acme"), "the metric and its row commit together")
	_, err = s.CreateMetric(ctx, m)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.GetMetric(ctx, "other", "acme-m1")
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant cannot read it")
	all, err := s.AllMetrics(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1)
}

func TestSnapshotNeverOverwritesAManualCheckin(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")
	_, _, err := s.RecordSnapshot(ctx, snap(m, "2026-W48", "40", false))
	require.NoError(t, err)

	c, frozen, err := s.SetOverride(ctx, store.Override{TenantID: m.TenantID, MetricID: m.ID, Week: "2026-W48", Value: dec("55.5"), Actor: "ann@acme.example"})
	require.NoError(t, err)
	require.False(t, frozen)
	require.True(t, c.Overridden())
	require.Equal(t, "ann@acme.example", c.OverriddenBy)

	c, eff, err := s.RecordSnapshot(ctx, snap(m, "2026-W48", "41", false))
	require.NoError(t, err)
	require.True(t, eff.KeptManual)
	require.True(t, c.Value.Equal(dec("55.5")), "the manual value stays: %s", c.Value)
	require.Equal(t, scorecard.SourceManual, c.Source)
	require.True(t, c.GaugeValue.Decimal.Equal(dec("41")), "the reading is kept beside it")
	require.Equal(t, 2, c.Snapshots)

	c, err = s.GetCheckin(ctx, m.ID, "2026-W48")
	require.NoError(t, err)
	require.True(t, c.Value.Equal(dec("55.5")))

	// Clearing the override shows the latest reading again; snapshots then apply.
	back, wasFrozen, err := s.ClearOverride(ctx, m.TenantID, m.ID, "2026-W48", "ann@acme.example", false)
	require.NoError(t, err)
	require.False(t, wasFrozen)
	require.NotNil(t, back)
	require.Equal(t, scorecard.SourceGauge, back.Source)
	require.True(t, back.Value.Equal(dec("41")))
	c, _, err = s.RecordSnapshot(ctx, snap(m, "2026-W48", "42", false))
	require.NoError(t, err)
	require.True(t, c.Value.Equal(dec("42")))

	_, _, err = s.ClearOverride(ctx, m.TenantID, m.ID, "2026-W48", "ann@acme.example", false)
	require.ErrorIs(t, err, store.ErrNotFound, "nothing to clear")
	require.Equal(t, []string{"info metric.created", "info metric.override_set", "info metric.override_cleared"}, historyActions(t, s, "acme"))
}

func TestFinalSnapshotFreezesTheWeekOnceAndLaterSnapshotsLeaveIt(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")
	c, eff, err := s.RecordSnapshot(ctx, snap(m, "2026-W48", "70", true))
	require.NoError(t, err)
	require.True(t, eff.Froze)
	require.True(t, c.Frozen)
	require.NotNil(t, c.FrozenAt)

	// A retried final snapshot, or a sync now later that Sunday, changes nothing.
	for _, v := range []string{"71", "72"} {
		c, eff, err = s.RecordSnapshot(ctx, snap(m, "2026-W48", v, true))
		require.NoError(t, err)
		require.True(t, eff.AlreadyFrozen)
		require.True(t, c.Value.Equal(dec("70")))
		require.Equal(t, 1, c.Snapshots)
	}
	require.Equal(t, []string{"info metric.created", "info metric.week_frozen"}, historyActions(t, s, "acme"), "the freeze is recorded once")

	// Monday's snapshot starts the next week.
	c, _, err = s.RecordSnapshot(ctx, snap(m, "2026-W49", "10", false))
	require.NoError(t, err)
	require.False(t, c.Frozen)
	all, err := s.ListCheckins(ctx, m.TenantID, m.ID, 0)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, scorecard.Week("2026-W49"), all[0].Week, "newest first")
	require.Equal(t, "2026-11-30", all[0].WeekStart.Format(time.DateOnly))
}

func TestOverridingAFrozenWeekNeedsTheFlagAndIsAWarning(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")
	_, _, err := s.RecordSnapshot(ctx, snap(m, "2026-W48", "70", true))
	require.NoError(t, err)

	o := store.Override{TenantID: m.TenantID, MetricID: m.ID, Week: "2026-W48", Value: dec("65"), Actor: "ann@acme.example"}
	_, _, err = s.SetOverride(ctx, o)
	require.ErrorIs(t, err, store.ErrWeekFrozen)
	c, err := s.GetCheckin(ctx, m.ID, "2026-W48")
	require.NoError(t, err)
	require.True(t, c.Value.Equal(dec("70")), "a refused override changes nothing")

	o.AllowFrozen = true
	c, wasFrozen, err := s.SetOverride(ctx, o)
	require.NoError(t, err)
	require.True(t, wasFrozen)
	require.True(t, c.Frozen, "the week stays frozen")
	require.True(t, c.Value.Equal(dec("65")))

	_, _, err = s.ClearOverride(ctx, m.TenantID, m.ID, "2026-W48", "ann@acme.example", false)
	require.ErrorIs(t, err, store.ErrWeekFrozen, "clearing changes a frozen week too")
	back, _, err := s.ClearOverride(ctx, m.TenantID, m.ID, "2026-W48", "ann@acme.example", true)
	require.NoError(t, err)
	require.True(t, back.Value.Equal(dec("70")))

	h, err := s.ListHistory(ctx, "acme", 2)
	require.NoError(t, err)
	for _, e := range h {
		require.Equal(t, store.SeverityWarning, e.Severity, "%s: %s", e.Action, e.Message)
	}
}

func TestOverrideOfAWeekWithoutSnapshotsIsRemovedWhenCleared(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")
	_, _, err := s.SetOverride(ctx, store.Override{TenantID: m.TenantID, MetricID: m.ID, Week: "2026-W40", Value: dec("3"), Actor: "a@acme.example"})
	require.NoError(t, err)
	back, _, err := s.ClearOverride(ctx, m.TenantID, m.ID, "2026-W40", "a@acme.example", false)
	require.NoError(t, err)
	require.Nil(t, back)
	_, err = s.GetCheckin(ctx, m.ID, "2026-W40")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestSnapshotFreezesEarlierWeeksThatMissedTheirFinalSnapshot(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")
	_, _, err := s.RecordSnapshot(ctx, snap(m, "2026-W47", "1", false))
	require.NoError(t, err)
	_, eff, err := s.RecordSnapshot(ctx, snap(m, "2026-W48", "2", false))
	require.NoError(t, err)
	require.Equal(t, []scorecard.Week{"2026-W47"}, eff.Closed)
	c, err := s.GetCheckin(ctx, m.ID, "2026-W47")
	require.NoError(t, err)
	require.True(t, c.Frozen)
}

func TestSyncClaimAdmitsOneOfTwoRacingRequests(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")

	var wg sync.WaitGroup
	var mu sync.Mutex
	var admitted []store.SyncClaim
	var refused []*store.SyncTooSoonError
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.ClaimSync(ctx, m.TenantID, m.ID, "ann@acme.example", scorecard.SyncWindow)
			mu.Lock()
			defer mu.Unlock()
			var tooSoon *store.SyncTooSoonError
			switch {
			case err == nil:
				admitted = append(admitted, c)
			case errors.As(err, &tooSoon):
				refused = append(refused, tooSoon)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Len(t, admitted, 1)
	require.Len(t, refused, 7)
	for _, r := range refused {
		require.Greater(t, r.RetryAfter, 4*time.Minute)
		require.LessOrEqual(t, r.RetryAfter, scorecard.SyncWindow)
	}

	// A claim whose signal could not be sent is given back; the window opens again.
	require.NoError(t, s.ReleaseSync(ctx, m.ID, admitted[0]))
	c, err := s.ClaimSync(ctx, m.TenantID, m.ID, "ann@acme.example", scorecard.SyncWindow)
	require.NoError(t, err)

	// Five minutes later the next one is admitted.
	_, err = s.Pool().Exec(ctx, `UPDATE metrics SET last_sync_at = last_sync_at - interval '5 minutes' WHERE id = $1`, m.ID)
	require.NoError(t, err)
	_, err = s.ClaimSync(ctx, m.TenantID, m.ID, "ann@acme.example", scorecard.SyncWindow)
	require.NoError(t, err)
	require.False(t, c.At.IsZero())

	_, err = s.ClaimSync(ctx, "other", m.ID, "x@other.example", scorecard.SyncWindow)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// Each change of a metric raises its revision, also when two changes race: the loop is sent
// the revision with the schedule, and keeps the newest.
func TestEachMetricChangeRaisesItsRevision(t *testing.T) {
	s := testenv.Store(t, nil)
	m := newMetric(t, s, "acme")
	require.Equal(t, int64(1), m.Revision)
	ctx := context.Background()
	var wg sync.WaitGroup
	revs := make([]int64, 2)
	for i, at := range []string{"07:00", "08:00"} {
		wg.Go(func() {
			after, err := s.UpdateMetric(ctx, "acme", m.ID, "ann@acme.example", func(m *store.Metric) error {
				m.Schedule = scorecard.Schedule{Cadence: scorecard.Daily, Time: at}
				return nil
			})
			require.NoError(t, err)
			revs[i] = after.Revision
		})
	}
	wg.Wait()
	require.ElementsMatch(t, []int64{2, 3}, revs)
	got, err := s.GetMetric(ctx, "acme", m.ID)
	require.NoError(t, err)
	require.Equal(t, int64(3), got.Revision)
	want := map[int64]string{2: "07:00", 3: "08:00"}
	if revs[0] == 3 {
		want = map[int64]string{2: "08:00", 3: "07:00"}
	}
	require.Equal(t, want[3], got.Schedule.Time, "the change with the highest revision is the one stored")
}
