package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// approvedItems records a cycle with n approved items and returns their IDs.
func approvedItems(t testing.TB, s *store.Store, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	_, _, err := s.CreateCycle(ctx, store.Cycle{ID: id, TenantID: "acme", Kind: billing.LicenceSync, Period: "2026-11-23", Mode: "licences",
		Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)
	var items []store.Item
	for i := range n {
		items = append(items, store.Item{CycleID: id, TenantID: "acme", Seq: i, AccountID: uuid.NewString(), Item: "server",
			NewQty: decimal.NewNullDecimal(decimal.NewFromInt(5)), State: billing.Approved, DecidedBy: "ann@example.com"})
	}
	require.NoError(t, s.InsertItems(ctx, items))
	got, err := s.ItemsInState(ctx, id, billing.Approved, 0, n)
	require.NoError(t, err)
	ids := make([]int64, len(got))
	for i, it := range got {
		ids[i] = it.ID
	}
	return ids
}

func applied(_ context.Context, it store.Item, _ store.PublishedAfter) (store.Outcome, error) {
	return store.Outcome{ItemID: it.ID, State: billing.Applied, AppliedQty: it.NewQty}, nil
}

// blockingWrite is a write that says when it started and then hangs until its context ends.
func blockingWrite(started chan<- struct{}) func(context.Context, store.Item, store.PublishedAfter) (store.Outcome, error) {
	return func(ctx context.Context, _ store.Item, _ store.PublishedAfter) (store.Outcome, error) {
		close(started)
		<-ctx.Done()
		return store.Outcome{}, context.Cause(ctx)
	}
}

type pushResult struct {
	out    store.Outcome
	pushed bool
	err    error
}

func pushAsync(s *store.Store, itemID int64, key string, write func(context.Context, store.Item, store.PublishedAfter) (store.Outcome, error)) <-chan pushResult {
	ch := make(chan pushResult, 1)
	go func() {
		out, pushed, err := s.PushItem(context.Background(), itemID, key, write)
		ch <- pushResult{out, pushed, err}
	}()
	return ch
}

func TestAnItemPushedByAnotherAttemptIsNotWrittenAgain(t *testing.T) {
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	ctx := context.Background()
	item := approvedItems(t, s, 1)[0]
	out, pushed, err := s.PushItem(ctx, item, "acme/autotask/target/9", applied)
	require.NoError(t, err)
	require.True(t, pushed)
	require.Equal(t, billing.Applied, out.State)
	_, pushed, err = s.PushItem(ctx, item, "acme/autotask/target/9", func(context.Context, store.Item, store.PublishedAfter) (store.Outcome, error) {
		t.Fatal("an applied item was written again")
		return store.Outcome{}, nil
	})
	require.NoError(t, err)
	require.False(t, pushed)
}

func TestAFailedWriteRecordsNothingAndReleasesTheTarget(t *testing.T) {
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	ctx := context.Background()
	item := approvedItems(t, s, 1)[0]
	_, _, err := s.PushItem(ctx, item, "acme/autotask/target/9", func(context.Context, store.Item, store.PublishedAfter) (store.Outcome, error) {
		return store.Outcome{}, errors.New("PSA unavailable")
	})
	require.ErrorContains(t, err, "PSA unavailable")
	_, pushed, err := s.PushItem(ctx, item, "acme/autotask/target/9", applied)
	require.NoError(t, err)
	require.True(t, pushed, "the item stayed approved for the retry")
}

// A worker whose database session dies (process killed, connection cut) loses the lock at
// once: the next push of the target goes ahead, and the dead holder's write is stopped.
func TestTheLockOfADeadSessionIsReleasedAndItsWriteStopped(t *testing.T) {
	s := testenv.Store(t, nil)
	s.SetPushLockTimings(store.PushLockTimings{Ping: 100 * time.Millisecond})
	newTenant(t, s, "acme")
	ids := approvedItems(t, s, 2)
	started := make(chan struct{})
	first := pushAsync(s, ids[0], "acme/autotask/target/9", blockingWrite(started))
	<-started
	var n int
	require.NoError(t, s.Pool().QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n))
	require.Equal(t, 1, n, "one session holds the target")

	res := <-first
	require.Error(t, res.err)
	require.ErrorContains(t, res.err, "lost the database session")
	out, pushed, err := s.PushItem(context.Background(), ids[1], "acme/autotask/target/9", applied)
	require.NoError(t, err)
	require.True(t, pushed)
	require.Equal(t, billing.Applied, out.State)
	out, pushed, err = s.PushItem(context.Background(), ids[0], "acme/autotask/target/9", applied)
	require.NoError(t, err)
	require.True(t, pushed, "the dead attempt's item is still approved for its retry")
	require.Equal(t, billing.Applied, out.State)
}

// A push that never ends is stopped after MaxHold, and a push waiting for a held target
// gives up as busy after Wait: no target stays wedged.
func TestAPushThatNeverEndsCannotWedgeItsTarget(t *testing.T) {
	s := testenv.Store(t, nil)
	s.SetPushLockTimings(store.PushLockTimings{Wait: 200 * time.Millisecond, MaxHold: 2 * time.Second})
	newTenant(t, s, "acme")
	ids := approvedItems(t, s, 2)
	started := make(chan struct{})
	first := pushAsync(s, ids[0], "acme/autotask/target/9", blockingWrite(started))
	<-started

	_, _, err := s.PushItem(context.Background(), ids[1], "acme/autotask/target/9", applied)
	require.ErrorIs(t, err, store.ErrTargetBusy)
	_, pushed, err := s.PushItem(context.Background(), ids[1], "acme/autotask/target/10", applied)
	require.NoError(t, err)
	require.True(t, pushed, "another target is not held")

	res := <-first
	require.ErrorContains(t, res.err, "took longer than")
	_, pushed, err = s.PushItem(context.Background(), ids[0], "acme/autotask/target/9", applied)
	require.NoError(t, err)
	require.True(t, pushed)
}

// BenchmarkPushItem measures what the PSA target lock adds to recording one item's outcome
// (compare BenchmarkRecordOutcome, the unlocked write it replaces in the push).
func BenchmarkPushItem(b *testing.B) {
	s, ids := benchItems(b)
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := s.PushItem(context.Background(), ids[i], "acme/autotask/target/9", applied); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordOutcome(b *testing.B) {
	s, ids := benchItems(b)
	b.ResetTimer()
	for i := range b.N {
		if err := s.RecordOutcome(context.Background(), store.Outcome{ItemID: ids[i], State: billing.Applied}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchItems(b *testing.B) (*store.Store, []int64) {
	s := testenv.Store(b, nil)
	if _, err := s.CreateTenant(context.Background(), tenant.Tenant{ID: "acme", Name: "Acme MSP", TimeZone: "UTC", Settings: tenant.Defaults()}); err != nil {
		b.Fatal(err)
	}
	return s, approvedItems(b, s, b.N)
}

// publishedItem records a cycle of a period with one item for target in state.
func publishedItem(t *testing.T, s *store.Store, period billing.Period, target store.ItemTarget, state billing.ItemState) int64 {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	_, _, err := s.CreateCycle(ctx, store.Cycle{ID: id, TenantID: "acme", Kind: billing.LicenceSync, Period: period, Mode: "licences",
		Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)
	require.NoError(t, s.InsertItems(ctx, []store.Item{{CycleID: id, TenantID: "acme", AccountID: "acc", Item: "server", Target: target,
		NewQty: decimal.NewNullDecimal(decimal.NewFromInt(5)), State: state, DecidedBy: "ann@example.com"}}))
	items, err := s.CycleItems(ctx, "acme", id)
	require.NoError(t, err)
	return items[0].ID
}

// Under the target's lock a push learns which later periods are already published to the
// same target — applied, or found already holding their number — by any cycle: periods
// compare by their first day (a month by its 1st, a day by itself), other targets and
// updates that were not written do not count, and a Managed ID matches whatever its case.
func TestAPushSeesTheLaterPeriodsPublishedToItsTarget(t *testing.T) {
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	x := store.ItemTarget{Target: psa.Target{CompanyID: 1, AgreementID: 2, AdditionID: 3}}
	xNoCompany := store.ItemTarget{Target: psa.Target{AgreementID: 2, AdditionID: 3}}
	y := store.ItemTarget{Target: psa.Target{CompanyID: 1, AgreementID: 2, AdditionID: 4}}
	publishedItem(t, s, "2026-07", x, billing.Applied)
	publishedItem(t, s, "2026-07-20", xNoCompany, billing.Unchanged)
	publishedItem(t, s, "2026-09", x, billing.ItemFailed)
	publishedItem(t, s, "2026-10", x, billing.Rejected)
	publishedItem(t, s, "2026-11", y, billing.Applied)
	publishedItem(t, s, "2026-08", store.ItemTarget{ManagedID: "contoso"}, billing.Applied)

	for _, tc := range []struct {
		period billing.Period
		target store.ItemTarget
		want   store.PublishedAfter
	}{
		{"2026-06", x, store.PublishedAfter{Next: "2026-07", Newest: "2026-07-20"}},
		{"2026-06-30", xNoCompany, store.PublishedAfter{Next: "2026-07", Newest: "2026-07-20"}},
		{"2026-07-01", x, store.PublishedAfter{Next: "2026-07-20", Newest: "2026-07-20"}},
		{"2026-07-25", x, store.PublishedAfter{}},
		{"2026-08", x, store.PublishedAfter{}},
		{"2026-06", y, store.PublishedAfter{Next: "2026-11", Newest: "2026-11"}},
		{"2026-07", store.ItemTarget{ManagedID: "Contoso"}, store.PublishedAfter{Next: "2026-08", Newest: "2026-08"}},
	} {
		item := publishedItem(t, s, tc.period, tc.target, billing.Approved)
		var got store.PublishedAfter
		_, pushed, err := s.PushItem(context.Background(), item, "acme/test", func(ctx context.Context, it store.Item, after store.PublishedAfter) (store.Outcome, error) {
			got = after
			return applied(ctx, it, after)
		})
		require.NoError(t, err)
		require.True(t, pushed)
		require.Equal(t, tc.want, got, "%s on %+v", tc.period, tc.target)
		require.Equal(t, tc.want.Any(), got.Any())
	}
}
