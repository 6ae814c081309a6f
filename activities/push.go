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
		out, pushed, err := a.Store.PushItem(ictx, it.ID, targetKey(in.TenantID, client.Kind(), it), func(ctx context.Context, it store.Item) (store.Outcome, error) {
			applied, ref, err := a.pushItem(ctx, client, in, it, year, int(month))
			if err != nil {
				kind := remote.KindOf(err)
				if kind != "" && !kind.ItemLevel() {
					return store.Outcome{}, outsideError(fmt.Sprintf("push %s %s", it.AccountName, it.Item), err)
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

func (a *Activities) pushItem(ctx context.Context, client psa.Client, in billing.PushInput, it store.Item, year, month int) (decimal.Decimal, string, error) {
	want := it.NewQty.Decimal
	if it.Target.ManagedID != "" {
		bw, ok := client.(psa.BackupStatsWriter)
		if !ok {
			return decimal.Zero, "", &remote.Error{Kind: remote.Invalid, Service: string(client.Kind()), Op: "write backup stats",
				Message: "this PSA cannot hold Backup Stats records; use advanced mode"}
		}
		got, err := bw.WriteBackupStats(ctx, it.Target.ManagedID, psa.BackupStats{BillableSpaceGB: want, Year: year, Month: month})
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
	applied, err := client.SetQuantity(ctx, psa.Change{
		Target:    it.Target.Target,
		Quantity:  want,
		Effective: effective,
		Until:     time.Date(effective.Year(), effective.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0),
		Marker:    fmt.Sprintf("meterbridge:%s:%s:%d", in.TenantID, in.Period, it.ID),
	})
	if err != nil {
		return decimal.Zero, "", err
	}
	if !applied.Quantity.Equal(want) {
		return applied.Quantity, applied.Reference, &verifyError{want: want, got: applied.Quantity}
	}
	return applied.Quantity, applied.Reference, nil
}
