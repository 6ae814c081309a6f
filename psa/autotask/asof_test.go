package autotask

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

func monthOf(t time.Time) (first, next time.Time) {
	first = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return first, first.AddDate(0, 1, 0)
}

// unitsEveryDay checks the emulator's units on every day of [from, until).
func (e *testEnv) unitsEveryDay(t *testing.T, csID int64, from, until time.Time, want int64) {
	t.Helper()
	for d := from; d.Before(until); d = d.AddDate(0, 0, 1) {
		got, ok := e.emu.UnitsOn(csID, d)
		if !ok || got != want {
			t.Errorf("%s holds %d units (row: %t), want %d", d.Format(time.DateOnly), got, ok, want)
		}
	}
}

// Someone adjusted the units on the 15th after meterbridge read them as of the 1st: setting
// the month to 9 units must leave 9 on every day of it, not 9 until the 14th and 12 after.
func TestSetQuantityHoldsEveryDayOfTheMonthDespiteAMidMonthAdjustment(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	first, next := monthOf(time.Now().UTC())
	mid := first.AddDate(0, 0, 14)
	if err := e.emu.AdjustUnits(tg.AdditionID, 3, mid); err != nil {
		t.Fatal(err)
	}
	applied, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.NewFromInt(9), Effective: first, Until: next})
	if err != nil {
		t.Fatal(err)
	}
	if !applied.Quantity.Equal(decimal.NewFromInt(9)) {
		t.Errorf("applied %s, want 9", applied.Quantity)
	}
	e.unitsEveryDay(t, tg.AdditionID, first, next, 9)
	e.unitsEveryDay(t, tg.AdditionID, next, next.AddDate(0, 1, 0), 9)
	if got, _ := e.emu.UnitsOn(tg.AdditionID, first.AddDate(0, 0, -1)); got != 5 {
		t.Errorf("the month before holds %d, want 5 (untouched)", got)
	}
	refs, err := ParseReferences(applied.Reference)
	if err != nil || len(refs) != 2 || refs[0].UnitChange != 4 || !refs[0].Effective.Equal(first) ||
		refs[1].UnitChange != -3 || !refs[1].Effective.Equal(mid) {
		t.Fatalf("references %q (%v), want +4 on the 1st and -3 on the 15th", applied.Reference, err)
	}
	// Again: every day already holds 9, nothing is created.
	again, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.NewFromInt(9), Effective: first, Until: next})
	if err != nil || again.Reference != "" {
		t.Errorf("repeat = %+v, %v; want no new adjustment", again, err)
	}
	// Undone, last first, every day is back as it was.
	if _, err := e.client.Reverse(testCtx(t), applied.Reference); err != nil {
		t.Fatal(err)
	}
	e.unitsEveryDay(t, tg.AdditionID, first, mid, 5)
	e.unitsEveryDay(t, tg.AdditionID, mid, next, 8)
}

// A contract service added on the 10th has no units on the 1st: it is read, and changed,
// from the day it starts, instead of failing every day of its first month.
func TestServiceStartingMidMonthIsReadAndSetFromItsFirstDay(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	first, next := monthOf(time.Now().UTC())
	tenth := first.AddDate(0, 0, 9)
	svc := e.emu.AddService("Desktop Licence", decimal.RequireFromString("8.50"))
	csID, err := e.emu.AddContractServiceFrom(tg.AgreementID, svc, 2, tenth)
	if err != nil {
		t.Fatal(err)
	}
	late := psa.Target{CompanyID: tg.CompanyID, AgreementID: tg.AgreementID, AdditionID: csID}
	got, err := e.client.ReadQuantities(testCtx(t), []psa.Target{tg, late}, first)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Err != nil || !got[0].AsOf.Equal(first) || !got[0].Quantity.Equal(decimal.NewFromInt(5)) {
		t.Errorf("service running all month = %+v, want 5 as of the 1st", got[0])
	}
	if got[1].Err != nil || !got[1].AsOf.Equal(tenth) || !got[1].Quantity.Equal(decimal.NewFromInt(2)) {
		t.Fatalf("service starting on the 10th = %+v, want 2 as of the 10th", got[1])
	}
	if _, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: late, Quantity: decimal.NewFromInt(7), Effective: got[1].AsOf, Until: next}); err != nil {
		t.Fatal(err)
	}
	e.unitsEveryDay(t, csID, tenth, next, 7)
	if _, ok := e.emu.UnitsOn(csID, tenth.AddDate(0, 0, -1)); ok {
		t.Error("the service has units before it started")
	}
	// A service that starts after the month is not billed in it.
	nextSvc, err := e.emu.AddContractServiceFrom(tg.AgreementID, e.emu.AddService("Server Licence", decimal.NewFromInt(45)), 1, next.AddDate(0, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.client.ReadQuantities(testCtx(t), []psa.Target{{CompanyID: tg.CompanyID, AgreementID: tg.AgreementID, AdditionID: nextSvc}}, first)
	if err != nil || got[0].Err == nil {
		t.Errorf("service of next month read as of this month = %+v, %v; want a NotFound reading", got, err)
	}
}

// A past month is set after the next one was: with Keep, only the past month's days change,
// and the next month keeps the units it held (one more adjustment on its first day); reading
// back covers that day too, and a repeat creates nothing.
func TestSetQuantityWithKeepChangesOnlyItsOwnDays(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	first, next := monthOf(time.Now().UTC())
	if err := e.emu.AdjustUnits(tg.AdditionID, 10, next); err != nil { // next month: 15
		t.Fatal(err)
	}
	ch := psa.Change{Target: tg, Quantity: decimal.NewFromInt(12), Effective: first, Until: next, Keep: decimal.NewNullDecimal(decimal.NewFromInt(15))}
	applied, err := e.client.SetQuantity(testCtx(t), ch)
	if err != nil {
		t.Fatal(err)
	}
	if !applied.Quantity.Equal(decimal.NewFromInt(12)) {
		t.Errorf("applied %s, want 12", applied.Quantity)
	}
	e.unitsEveryDay(t, tg.AdditionID, first, next, 12)
	e.unitsEveryDay(t, tg.AdditionID, next, next.AddDate(0, 2, 0), 15)
	refs, err := ParseReferences(applied.Reference)
	if err != nil || len(refs) != 2 || refs[0].UnitChange != 7 || !refs[0].Effective.Equal(first) ||
		refs[1].UnitChange != -7 || !refs[1].Effective.Equal(next) {
		t.Fatalf("references %q (%v), want +7 on the 1st and -7 on the next month's 1st", applied.Reference, err)
	}
	if again, err := e.client.SetQuantity(testCtx(t), ch); err != nil || again.Reference != "" {
		t.Errorf("repeat = %+v, %v; want no new adjustment", again, err)
	}
	bad := ch
	bad.Until = first
	if _, err := e.client.SetQuantity(testCtx(t), bad); remote.KindOf(err) != remote.Invalid {
		t.Errorf("a kept change with nothing before Until: %v, want Invalid", err)
	}
}

// A push holds its PSA target's lock while it writes: in a context without waits a rate
// limit ends SetQuantity at once with the wait Autotask asked for, instead of sleeping it
// out inside the lock (the activity's retry honours it).
func TestARateLimitedAdjustmentIsNotWaitedOutInsideALock(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	clock := &fakeClock{t: time.Now()}
	e.client.sleep = clock.sleep
	e.client.sender.Sleep = clock.sleep
	e.client.creates.Sleep = clock.sleep
	tg := e.target(t, 5)
	first, next := monthOf(time.Now().UTC())
	ctx := remote.WithoutWaits(testCtx(t))
	for _, path := range []string{"/atservicesrest/v1.0/ContractServiceAdjustments", "/atservicesrest/v1.0/ContractServiceUnits"} {
		e.emu.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 20, PathPrefix: path})
		_, err := e.client.SetQuantity(ctx, psa.Change{Target: tg, Quantity: decimal.NewFromInt(9), Effective: first, Until: next})
		var re *remote.Error
		if !errors.As(err, &re) || re.Kind != remote.RateLimited || re.RetryAfter != 20*time.Second {
			t.Fatalf("%s: err = %#v, want RateLimited after 20s", path, err)
		}
		if s := clock.sleeps(); len(s) != 0 {
			t.Fatalf("%s: slept %v inside the lock", path, s)
		}
	}
	e.emu.Faults().Set(fault.Settings{})
	if _, err := e.client.SetQuantity(ctx, psa.Change{Target: tg, Quantity: decimal.NewFromInt(9), Effective: first, Until: next}); err != nil {
		t.Fatal(err)
	}
	e.unitsEveryDay(t, tg.AdditionID, first, next, 9)
}
