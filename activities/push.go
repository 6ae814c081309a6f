package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/telemetry"
)

// PushPage writes up to PageSize approved items to the PSA, each as an absolute value read
// back to verify, and stores each outcome at once. An item the PSA refuses fails alone; a
// credentials failure stops the cycle; a rate limit or outage ends the attempt with what is
// done recorded, so the retry carries on from there.
//
// Each item is pushed under its PSA target's lock (store.PushItem): a stale attempt of this
// page, or another cycle's page writing the same target, waits; whoever comes second finds
// the item already applied or superseded and leaves it, or reads what the first wrote.
func (a *Activities) PushPage(ctx context.Context, in billing.PushInput) (billing.PushResult, error) {
	var res billing.PushResult
	defer func() {
		telemetry.ItemsPushed(string(in.Kind), "applied", res.Applied)
		telemetry.ItemsPushed(string(in.Kind), "failed", res.Failed)
	}()
	items, err := a.Store.ItemsInState(ctx, in.CycleID, billing.Approved, 0, in.PageSize)
	if err != nil {
		return res, fmt.Errorf("load approved items: %w", err)
	}
	if len(items) == 0 {
		res.Done = true
		return res, nil
	}
	client, err := a.Connect.PSA(ctx, in.TenantID)
	if err != nil {
		return res, outsideError("open PSA connection", err)
	}
	year, month := in.Period.YearMonth()
	// Basic-mode records go where the tenant's settings say now (its configuration type
	// and questions).
	var layout psa.BackupStatsLayout
	if in.Kind == billing.UsagePublish {
		t, err := a.tenant(ctx, in.TenantID)
		if err != nil {
			return res, err
		}
		layout = backupLayout(t)
	}
	var done atomic.Int64
	defer keepAlive(ctx, func() any { return done.Load() })()
	for i, it := range items {
		done.Store(int64(i))
		activity.RecordHeartbeat(ctx, i)
		if err := ctx.Err(); err != nil {
			// Cancelled (the cycle was cancelled in Temporal, or the worker stops): stop
			// between items; every write so far is recorded.
			return res, err
		}
		ictx, cancel := itemContext(ctx)
		out, pushed, err := a.Store.PushItem(ictx, it.ID, targetKey(in.TenantID, client.Kind(), it), func(ctx context.Context, it store.Item, after store.PublishedAfter) (store.Outcome, error) {
			// The target's lock and a database connection are held while this runs: a
			// rate limit ends the attempt instead of being waited out here, and the
			// activity's retry honours the wait.
			ctx = remote.WithoutWaits(ctx)
			applied, ref, err := a.pushItem(ctx, client, in, layout, it, after, year, int(month))
			var notWritten *notWrittenError
			if err != nil {
				kind := remote.KindOf(err)
				if kind != "" && !kind.ItemLevel() {
					return store.Outcome{}, outsideError(fmt.Sprintf("push %s %s", it.AccountName, it.Item), err)
				}
				if errors.As(err, &notWritten) {
					return store.Outcome{ItemID: it.ID, State: billing.ItemFailed, Reason: notWritten.reason}, nil
				}
				if kind == "" && !errors.As(err, new(*verifyError)) {
					return store.Outcome{}, fmt.Errorf("push item %d: %w", it.ID, err)
				}
				return store.Outcome{ItemID: it.ID, State: billing.ItemFailed, Reason: itemReason(err)}, nil
			}
			return store.Outcome{ItemID: it.ID, State: billing.Applied, AppliedQty: decimal.NewNullDecimal(applied), Reference: ref}, nil
		})
		cancel()
		switch {
		case errors.Is(err, store.ErrTargetBusy):
			return res, temporal.NewApplicationErrorWithOptions(err.Error(), "TargetBusy", temporal.ApplicationErrorOptions{Cause: err})
		case err != nil:
			return res, err
		case !pushed:
			// Another attempt pushed it, or it left "approved" (superseded, removed).
			continue
		case out.State == billing.Applied:
			res.Applied++
		default:
			res.Failed++
		}
	}
	res.Done = len(items) < in.PageSize
	return res, nil
}

// itemContext is the context of one item's push — write, read-back and recorded outcome —
// which a cancellation of the activity does not cut: a request aborted mid-flight may still
// have reached the PSA, and a write that landed must be recorded before the cycle is (the
// cycle's record waits for the item's row, see store.FinishCycle). Cancellation takes effect
// between items; the activity's deadline still bounds the item.
func itemContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ictx := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ictx, deadline)
	}
	return context.WithCancel(ictx)
}

// targetKey names what an item writes in the tenant's PSA, for the push lock: an addition
// (ConnectWise) or contract service (Autotask) by its id, or a Managed ID's Backup Stats
// record. It is keyed by the tenant's PSA connection, not the PSA's own identity: tenants
// are separate MSPs, each with its own PSA.
func targetKey(tenantID string, kind psa.Kind, it store.Item) string {
	if it.Target.ManagedID != "" {
		return fmt.Sprintf("%s/%s/backup-stats/%s", tenantID, kind, strings.ToLower(strings.TrimSpace(it.Target.ManagedID)))
	}
	return fmt.Sprintf("%s/%s/target/%d", tenantID, kind, it.Target.AdditionID)
}

type verifyError struct{ want, got decimal.Decimal }

func (e *verifyError) Error() string {
	return fmt.Sprintf("the PSA holds %s after writing %s", e.got, e.want)
}

// notWrittenError fails an item that meterbridge itself declined to write, with the reason
// people read on it.
type notWrittenError struct{ reason string }

func (e *notWrittenError) Error() string { return e.reason }

// pushItem writes one item. An older period is never written over a later one that is
// already published to the same target (after): a ConnectWise addition and a Backup Stats
// record hold one current value, so the item fails with the reason and nothing is written;
// Autotask's units are dated, so the change is limited to the item's own days, up to the
// first later period, which keeps what it holds.
func (a *Activities) pushItem(ctx context.Context, client psa.Client, in billing.PushInput, layout psa.BackupStatsLayout, it store.Item, after store.PublishedAfter, year, month int) (decimal.Decimal, string, error) {
	want := it.NewQty.Decimal
	if it.Target.ManagedID != "" {
		if after.Any() {
			return decimal.Zero, "", &notWrittenError{fmt.Sprintf(
				"not written: Managed ID %s's Backup Stats record already holds %s, and it keeps one month, so writing %s would replace %s's numbers. "+
					"If %s still needs recording, enter it in ConnectWise by hand",
				it.Target.ManagedID, after.Newest, in.Period, after.Newest, in.Period)}
		}
		bw, ok := client.(psa.BackupStatsWriter)
		if !ok {
			return decimal.Zero, "", &remote.Error{Kind: remote.Invalid, Service: string(client.Kind()), Op: "write backup stats",
				Message: "this PSA cannot hold Backup Stats records; use advanced mode"}
		}
		got, err := bw.WriteBackupStats(ctx, layout, it.Target.ManagedID, psa.BackupStats{BillableSpaceGB: want, Year: year, Month: month})
		if err != nil {
			return decimal.Zero, "", err
		}
		if !got.BillableSpaceGB.Equal(want) || got.Year != year || got.Month != month {
			return got.BillableSpaceGB, "", &verifyError{want: want, got: got.BillableSpaceGB}
		}
		return got.BillableSpaceGB, "", nil
	}
	// The day the item was read as of at refresh is the day the change applies from, and the
	// quantity must hold from then to the end of that month, whatever someone changed inside
	// it since. Items refreshed before items carried the day fall back to the same rule.
	effective := periodStart(in.Period)
	if it.AsOf != nil {
		effective = *it.AsOf
	}
	ch := psa.Change{
		Target:    it.Target.Target,
		Quantity:  want,
		Effective: effective,
		Until:     monthAfter(effective),
		Marker:    fmt.Sprintf("meterbridge:%s:%s:%d", in.TenantID, in.Period, it.ID),
	}
	if after.Any() {
		if !client.Kind().DatedQuantities() {
			return decimal.Zero, "", &notWrittenError{fmt.Sprintf(
				"not written: %s is already published to this addition, which holds one current quantity, so writing %s's %s would change what %s bills. "+
					"If %s needs billing, add it by hand in ConnectWise (an agreement adjustment)",
				after.Newest, in.Period, want, after.Newest, in.Period)}
		}
		// Only the item's own days change: up to the first later period published here,
		// whose units (as they were before this change) every later day keeps.
		if next := periodStart(after.Next); next.Before(ch.Until) {
			ch.Until = next
		}
		if !ch.Until.After(effective) {
			return decimal.Zero, "", &notWrittenError{fmt.Sprintf(
				"not written: %s is already published to this contract service from %s, and %s's change would only apply from %s, so none of its days is left to bill",
				after.Next, ch.Until.Format(time.DateOnly), in.Period, effective.Format(time.DateOnly))}
		}
		keep, err := a.Store.KeptUnits(ctx, in.TenantID, it.ID, ch.Until, func() (decimal.NullDecimal, error) {
			return unitsOn(ctx, client, it.Target.Target, ch.Until)
		})
		if err != nil {
			return decimal.Zero, "", fmt.Errorf("read the units %s holds from %s: %w", after.Next, ch.Until.Format(time.DateOnly), err)
		}
		ch.Keep = keep
	}
	applied, err := client.SetQuantity(ctx, ch)
	if err != nil {
		return decimal.Zero, "", err
	}
	if !applied.Quantity.Equal(want) {
		return applied.Quantity, applied.Reference, &verifyError{want: want, got: applied.Quantity}
	}
	return applied.Quantity, applied.Reference, nil
}

// unitsOn reads a target's quantity in force on day d; not valid when nothing bills that day.
func unitsOn(ctx context.Context, client psa.Client, t psa.Target, d time.Time) (decimal.NullDecimal, error) {
	rs, err := client.ReadQuantities(ctx, []psa.Target{t}, d)
	if err != nil {
		return decimal.NullDecimal{}, err
	}
	for _, r := range rs {
		switch {
		case r.Target != t:
		case r.Err != nil && remote.KindOf(r.Err) == remote.NotFound:
			return decimal.NullDecimal{}, nil
		case r.Err != nil:
			return decimal.NullDecimal{}, r.Err
		case !r.AsOf.IsZero() && !r.AsOf.Equal(d):
			return decimal.NullDecimal{}, nil // billing only starts later
		default:
			return decimal.NewNullDecimal(r.Quantity), nil
		}
	}
	return decimal.NullDecimal{}, fmt.Errorf("the PSA returned no reading of %d on %s", t.AdditionID, d.Format(time.DateOnly))
}

// monthAfter is the first day of the month after d's.
func monthAfter(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
}
