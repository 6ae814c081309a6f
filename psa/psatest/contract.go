// Package psatest is the contract every PSA client must meet, run against that PSA's
// emulator through the real client. Each PSA package's tests supply a Harness and call Run.
package psatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// Harness connects the contract to one PSA's client and emulator. Each call to Start gives
// a fresh emulator so cases do not share state.
type Harness interface {
	Start(t *testing.T) Env
}

// Env is one emulator with clients pointed at it.
type Env interface {
	// Client has valid credentials.
	Client() psa.Client
	// ClientWithBadCredentials has a wrong secret.
	ClientWithBadCredentials() psa.Client
	// SeedTargets creates n billable targets (spread over a few companies) holding the given
	// quantity and returns them in a stable order.
	SeedTargets(t *testing.T, n int, qty decimal.Decimal) []psa.Target
	// SetMaxPageSize caps the emulator's page size so paging shows with few rows.
	SetMaxPageSize(n int)
	// Faults switches the emulator's faults.
	Faults() *fault.Injector
	// Quantity reads the emulator's state directly, bypassing the client.
	Quantity(t *testing.T, target psa.Target) decimal.Decimal
	// Writes counts the writes the emulator accepted for the target.
	Writes(target psa.Target) int
	// WholeUnits is true when the PSA only holds integer quantities.
	WholeUnits() bool
	CatalogSeeder
}

// Run runs the contract.
func Run(t *testing.T, h Harness) {
	t.Run("ReadsQuantitiesAcrossPages", func(t *testing.T) {
		env := h.Start(t)
		env.SetMaxPageSize(3)
		targets := env.SeedTargets(t, 10, decimal.RequireFromString("7"))
		got, err := env.Client().ReadQuantities(ctx(t), targets, time.Time{})
		if err != nil {
			t.Fatalf("ReadQuantities: %v", err)
		}
		if len(got) != len(targets) {
			t.Fatalf("got %d readings for %d targets", len(got), len(targets))
		}
		for i, r := range got {
			if r.Err != nil || r.Target != targets[i] || !r.Quantity.Equal(decimal.NewFromInt(7)) {
				t.Errorf("reading %d = %+v, want target %+v quantity 7", i, r, targets[i])
			}
		}
	})

	t.Run("SetsAbsoluteQuantityAndReadsItBack", func(t *testing.T) {
		env := h.Start(t)
		targets := env.SeedTargets(t, 2, decimal.RequireFromString("5"))
		want := decimal.RequireFromString("123.45")
		if env.WholeUnits() {
			want = decimal.NewFromInt(124)
		}
		c := psa.Change{Target: targets[0], Quantity: want, Effective: today(), Marker: "contract-test/1"}
		for range 2 { // twice: setting an absolute value is idempotent
			applied, err := env.Client().SetQuantity(ctx(t), c)
			if err != nil {
				t.Fatalf("SetQuantity: %v", err)
			}
			if !applied.Quantity.Equal(want) {
				t.Fatalf("read back %s, want %s", applied.Quantity, want)
			}
		}
		if q := env.Quantity(t, targets[0]); !q.Equal(want) {
			t.Errorf("emulator holds %s, want %s", q, want)
		}
		if q := env.Quantity(t, targets[1]); !q.Equal(decimal.NewFromInt(5)) {
			t.Errorf("untouched target holds %s, want 5", q)
		}
	})

	t.Run("WaitsOutA429Burst", func(t *testing.T) {
		env := h.Start(t)
		targets := env.SeedTargets(t, 1, decimal.NewFromInt(1))
		env.Faults().Set(fault.Settings{Burst429: 2, RetryAfterSeconds: 1})
		start := time.Now()
		got, err := env.Client().ReadQuantities(ctx(t), targets, time.Time{})
		if err != nil {
			t.Fatalf("ReadQuantities after a 429 burst: %v", err)
		}
		if got[0].Err != nil || !got[0].Quantity.Equal(decimal.NewFromInt(1)) {
			t.Fatalf("reading = %+v", got[0])
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("client retried after %v, before the 1s Retry-After", waited)
		}
		if c := env.Faults().Counts(); c.Throttled != 2 {
			t.Errorf("emulator throttled %d requests, want 2", c.Throttled)
		}
	})

	t.Run("BadCredentialsFailFastWithoutRetry", func(t *testing.T) {
		env := h.Start(t)
		targets := env.SeedTargets(t, 1, decimal.NewFromInt(1))
		before := env.Faults().Counts().Requests
		_, err := env.ClientWithBadCredentials().ReadQuantities(ctx(t), targets, time.Time{})
		if remote.KindOf(err) != remote.Credentials {
			t.Fatalf("err = %v, want a credentials error", err)
		}
		if n := env.Faults().Counts().Requests - before; n > 2 {
			t.Errorf("client sent %d requests with bad credentials; a credentials error must not be retried", n)
		}
		if res := env.ClientWithBadCredentials().Check(ctx(t)); res.OK {
			t.Errorf("Check with bad credentials = %+v, want not OK", res)
		}
		if res := env.Client().Check(ctx(t)); !res.OK {
			t.Errorf("Check with good credentials = %+v, want OK", res)
		}
	})

	t.Run("ValidationErrorIsItemLevelAndNamesTheField", func(t *testing.T) {
		env := h.Start(t)
		targets := env.SeedTargets(t, 1, decimal.NewFromInt(3))
		_, err := env.Client().SetQuantity(ctx(t), psa.Change{Target: targets[0], Quantity: decimal.NewFromInt(-5), Effective: today(), Marker: "contract-test/neg"})
		var re *remote.Error
		if !errors.As(err, &re) || re.Kind != remote.Invalid {
			t.Fatalf("err = %v, want an invalid-request error", err)
		}
		if re.Message == "" {
			t.Errorf("validation error has no message: %+v", re)
		}
		if q := env.Quantity(t, targets[0]); !q.Equal(decimal.NewFromInt(3)) {
			t.Errorf("a rejected change altered the quantity to %s", q)
		}
	})

	t.Run("MissingTargetFailsOnlyThatItem", func(t *testing.T) {
		env := h.Start(t)
		targets := env.SeedTargets(t, 2, decimal.NewFromInt(4))
		missing := psa.Target{CompanyID: targets[0].CompanyID, AgreementID: targets[0].AgreementID, AdditionID: 987654321}
		got, err := env.Client().ReadQuantities(ctx(t), []psa.Target{targets[0], missing, targets[1]}, time.Time{})
		if err != nil {
			t.Fatalf("ReadQuantities: %v", err)
		}
		if got[0].Err != nil || got[2].Err != nil {
			t.Errorf("good targets failed: %+v %+v", got[0], got[2])
		}
		if remote.KindOf(got[1].Err) != remote.NotFound {
			t.Errorf("missing target err = %v, want not found", got[1].Err)
		}
		if _, err := env.Client().DescribeTarget(ctx(t), missing); remote.KindOf(err) != remote.NotFound {
			t.Errorf("DescribeTarget(missing) err = %v, want not found", err)
		}
		info, err := env.Client().DescribeTarget(ctx(t), targets[0])
		if err != nil || info.CompanyName == "" || info.Product == "" {
			t.Errorf("DescribeTarget = %+v, %v", info, err)
		}
	})

	t.Run("ServerErrorsAreRetried", func(t *testing.T) {
		env := h.Start(t)
		targets := env.SeedTargets(t, 1, decimal.NewFromInt(2))
		env.Faults().Set(fault.Settings{Fail500: 1, TimeoutText: true})
		applied, err := env.Client().SetQuantity(ctx(t), psa.Change{Target: targets[0], Quantity: decimal.NewFromInt(9), Effective: today(), Marker: "contract-test/500"})
		if err != nil {
			t.Fatalf("SetQuantity after one 500: %v", err)
		}
		if !applied.Quantity.Equal(decimal.NewFromInt(9)) {
			t.Errorf("read back %s, want 9", applied.Quantity)
		}
	})

	runCatalog(t, h)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func today() time.Time {
	y, m, d := time.Now().UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
