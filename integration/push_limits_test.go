package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
)

// Autotask answers every request with 429 and Retry-After: 20. The push does not wait it out
// while it holds the target's lock and a database connection (once per request, up to four
// times, as calls elsewhere do): the attempt ends at the first 429 with a retryable failure
// whose next retry waits what Autotask asked, the item stays approved for that retry, and
// the database stays free for everything else.
func TestA429StormEndsThePushAttemptWithTheWaitForItsRetry(t *testing.T) {
	s := newStack(t)
	s.useAutotask()
	period := billing.MonthOf(time.Now(), time.UTC)
	first, _ := thisMonth(period)
	target := store.ItemTarget{Target: psa.Target{CompanyID: atemu.DemoCompanyNorthwind, AgreementID: atemu.DemoContractNorthwind,
		AdditionID: atemu.DemoCSNorthwindServer}}
	var ids []string
	for range 2 {
		ids = append(ids, s.approvedCycle(billing.LicenceSync, period, "acc_1001", target, "2", "5", &first))
	}
	s.world.Autotask.Faults().Set(fault.Settings{Burst429: 1000, RetryAfterSeconds: 20})
	for _, id := range ids {
		_, err := s.pushOnce(billing.PushInput{CycleID: id, TenantID: s.tenantID, Kind: billing.LicenceSync, Period: period, PageSize: 10})
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.Equal(t, "RateLimited", app.Type())
		require.Equal(t, 20*time.Second, app.NextRetryDelay())
		require.Equal(t, billing.Approved, s.items(id)[0].State)
	}
	require.Equal(t, len(ids), s.world.Autotask.Faults().Counts().Throttled, "one 429 per attempt, none waited out and sent again")
	stat := s.store.Pool().Stat()
	require.Zero(t, stat.AcquiredConns(), "no connection is held after the attempts")
	_, err := s.store.GetTenant(context.Background(), s.tenantID)
	require.NoError(t, err)
	got, _ := s.world.Autotask.UnitsOn(atemu.DemoCSNorthwindServer, first)
	require.Equal(t, int64(2), got, "nothing was written")
}
