package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/billing"
)

// Pushing one item is read → write → read back against the PSA, and two pushes of the same
// PSA target must never interleave: both would read 10 and both add 5 (an Autotask
// adjustment is a delta), or both would create a Backup Stats record. Two pushes meet when a
// superseded cycle's page is still running while the newer cycle pushes, or when an
// activity attempt that Temporal gave up on (a worker that stalled past its heartbeat
// timeout) is still writing while its retry starts — on another worker, in another process.
//
// So a push holds a PostgreSQL advisory lock keyed by the PSA target, in a transaction that
// also locks the item's row and records the item's outcome before it commits. An advisory
// lock was chosen over an item lease (a row with an expiry):
//
//   - PostgreSQL ends it with the session. A worker that dies, or whose connection drops,
//     loses it at once (or when the server notices the dead peer), with no expiry to guess
//     and no sweeper; a lease held by a dead worker blocks the target until it expires.
//   - Waiters queue in the server and are woken when it is free, instead of polling.
//   - The lock is keyed by the target, not the item, so different items — of different
//     cycles, even of both kinds — that write one PSA target are serialised too.
//   - It sits in the same transaction as the item's row lock and outcome: whoever gets the
//     lock next sees the item already applied (a retry skips it) or superseded (a stale
//     cycle skips it), and a newer refresh's supersede waits for a push under way instead of
//     racing it.
//
// What keeps a lock from being held forever:
//
//   - idle_in_transaction_session_timeout: while the worker talks to the PSA the session is
//     idle; a goroutine pings it every Ping. A worker that is gone or frozen stops pinging,
//     and the server ends the session — and the lock — after Idle.
//   - TCP keepalives on the session, so a peer that vanished is noticed even mid-statement.
//   - MaxHold bounds one item's push, and lock_timeout (Wait) bounds the wait for a lock
//     (the attempt then fails as retryable, its activity retries with backoff), so a target
//     is never wedged by a push that does not end. Wait and MaxHold together fit inside the
//     push activity's StartToClose, so MaxHold is what ends a push that hangs.
//
// What keeps a holder from writing after it lost the lock: the server may end the session
// when its pings stop arriving — the path to PostgreSQL went silent, so a ping blocks rather
// than fails — and another push then takes the lock. So each ping has its own deadline,
// (Idle−Ping)/2, and the write's context is cancelled (errLockLost) as soon as a ping fails
// or times out, and in any case once the last answered ping was sent Idle−Ping ago: before
// the server could have ended the session, the holder stops before its next PSA request.
//
// What keeps pushes from starving other work: a push holds a pooled connection and an open
// transaction while it talks to the PSA and while it waits for a held target. At most half
// the pool's connections are held by pushes (pushSlots; the others wait without one), and a
// PSA's rate limit is not waited out under the lock (the write's caller returns it, and the
// activity's retry honours Retry-After), so the rest of the product keeps its database.
//
// What it cannot do: a request already on the wire when the connection is lost may still
// land after another worker took the lock. Absolute writes and read-backs keep that rare
// case visible (a read-back mismatch fails the item) rather than silent.

// PushLockTimings bound how PushItem holds and waits for a PSA target's lock.
type PushLockTimings struct {
	Ping    time.Duration // how often the holder's session is pinged while it writes
	Idle    time.Duration // the server ends a holder's session silent this long
	Wait    time.Duration // how long a push waits for a held target before giving up
	MaxHold time.Duration // how long one item's push may take
}

// DefaultPushLockTimings: an item's push normally takes seconds (rate limits are not waited
// out under the lock); a few Autotask adjustments with read-backs and short 5xx backoffs
// take well under MaxHold. Wait+MaxHold (7 minutes) is less than the push activity's
// StartToClose (workflows.OutsideStartToClose, 10 minutes), so MaxHold can end a push.
var DefaultPushLockTimings = PushLockTimings{Ping: 5 * time.Second, Idle: 30 * time.Second, Wait: 2 * time.Minute, MaxHold: 5 * time.Minute}

// SetPushLockTimings changes the timings (tests shorten them); zero fields keep the default.
func (s *Store) SetPushLockTimings(t PushLockTimings) {
	d := DefaultPushLockTimings
	if t.Ping > 0 {
		d.Ping = t.Ping
	}
	if t.Idle > 0 {
		d.Idle = t.Idle
	}
	if t.Wait > 0 {
		d.Wait = t.Wait
	}
	if t.MaxHold > 0 {
		d.MaxHold = t.MaxHold
	}
	if d.Idle <= d.Ping {
		d.Idle = 3 * d.Ping // a ping must come well inside the idle timeout
	}
	s.lockTimings = d
}

func (s *Store) pushLockTimings() PushLockTimings {
	if s.lockTimings.Ping <= 0 {
		return DefaultPushLockTimings
	}
	return s.lockTimings
}

// ErrTargetBusy means another push held the PSA target longer than a push waits; the
// attempt can be retried.
var ErrTargetBusy = errors.New("another push of the same PSA target is under way")

// errLockLost is the cause of a write's context being cancelled because the lock's
// session stopped answering.
var errLockLost = errors.New("lost the database session holding the PSA target's lock")

// PublishedAfter names the periods later than an item's own that are already published to
// the item's PSA target: an item of the tenant (of any cycle and kind) that was applied to
// it, or found already holding its number, for a period that starts later. Empty when none.
// An older period must not be written over them (see activities.PushPage).
type PublishedAfter struct {
	// Next is the earliest of them, Newest the latest.
	Next, Newest billing.Period
}

// Any reports whether a later period is published to the target.
func (p PublishedAfter) Any() bool { return p.Newest != "" }

// PushItem pushes one approved item while holding its PSA target's lock (targetKey names
// the target: tenant, PSA and what in it is written) and the item's row. write gets the
// item as it is now and the later periods already published to its target (read under the
// lock, so a push of a later period cannot slip in between), and returns its outcome, which
// is stored before the locks are released; a write error stores nothing (the item stays
// approved for a retry). pushed is false, and write is not called, when the item is no
// longer approved: another attempt pushed it, a newer refresh superseded it, or a person
// removed it.
func (s *Store) PushItem(ctx context.Context, itemID int64, targetKey string, write func(context.Context, Item, PublishedAfter) (Outcome, error)) (out Outcome, pushed bool, err error) {
	timings := s.pushLockTimings()
	select {
	case s.pushSlots <- struct{}{}:
		defer func() { <-s.pushSlots }()
	case <-ctx.Done():
		return Outcome{}, false, fmt.Errorf("wait for a free push slot: %w", context.Cause(ctx))
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Outcome{}, false, err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return Outcome{}, false, err
	}
	defer func() {
		if err != nil || !pushed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = tx.Rollback(rctx)
			cancel()
		}
	}()
	// One round trip: bound the session, take the target's lock, then lock and re-read the
	// item (statements of a batch run in order, each after the one before finished).
	batch := &pgx.Batch{}
	batch.Queue(`SELECT set_config('idle_in_transaction_session_timeout', $1, true), set_config('lock_timeout', $2, true),
			set_config('tcp_keepalives_idle', '15', true), set_config('tcp_keepalives_interval', '5', true),
			set_config('tcp_keepalives_count', '3', true)`,
		fmt.Sprint(timings.Idle.Milliseconds()), fmt.Sprint(timings.Wait.Milliseconds()))
	batch.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "meterbridge/psa-target/"+targetKey)
	batch.Queue(`SELECT `+itemColumns+` FROM cycle_items WHERE id = $1 FOR UPDATE`, itemID)
	batch.Queue(publishedAfterSQL, itemID)
	// The server's idle clock starts when the batch ends, after this.
	sent := time.Now()
	br := tx.SendBatch(ctx, batch)
	var after PublishedAfter
	it, err := func() (Item, error) {
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return Item{}, fmt.Errorf("prepare PSA target lock: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "55P03" {
				return Item{}, fmt.Errorf("%w (%s)", ErrTargetBusy, targetKey)
			}
			return Item{}, fmt.Errorf("lock PSA target %s: %w", targetKey, err)
		}
		it, err := scanItem(br.QueryRow())
		if err != nil {
			return it, err
		}
		var next, newest pgtype.Text
		if err := br.QueryRow().Scan(&next, &newest); err != nil {
			return it, fmt.Errorf("read the periods published to PSA target %s: %w", targetKey, err)
		}
		after = PublishedAfter{Next: billing.Period(next.String), Newest: billing.Period(newest.String)}
		return it, nil
	}()
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, err
	}
	if it.State != billing.Approved {
		return Outcome{}, false, nil
	}

	wctx, cancel := context.WithTimeoutCause(ctx, timings.MaxHold, fmt.Errorf("pushing one item took longer than %v", timings.MaxHold))
	defer cancel()
	wctx, cancelLost := context.WithCancelCause(wctx)
	defer cancelLost(nil)
	stopPing := keepSessionAlive(wctx, tx, timings, sent, cancelLost)
	out, werr := write(wctx, it, after)
	stopPing()
	if werr != nil {
		if cause := context.Cause(wctx); errors.Is(cause, errLockLost) {
			werr = fmt.Errorf("%w: %w", cause, werr)
		}
		return Outcome{}, false, werr
	}
	if out.ItemID == 0 {
		out.ItemID = it.ID
	}
	if out.ItemID != it.ID {
		return Outcome{}, false, fmt.Errorf("outcome of item %d returned for item %d", out.ItemID, it.ID)
	}
	if err := recordOutcome(ctx, tx, out); err != nil {
		return Outcome{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		// The PSA holds the write; the item stays approved, and the retry reads the PSA,
		// finds the quantity already there and records it.
		return Outcome{}, false, fmt.Errorf("record outcome of item %d: %w", it.ID, err)
	}
	return out, true, nil
}

// publishedAfterSQL finds, for an item ($1), the earliest and the latest period after its own
// cycle's period that the tenant published to the same PSA target (meterbridge_target_key):
// an item applied there, or found already holding its number (unchanged).
const publishedAfterSQL = `
	SELECT
		(SELECT c.period FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
			WHERE i.tenant_id = me.tenant_id AND i.state IN ('applied', 'unchanged')
				AND meterbridge_target_key(i.target) = meterbridge_target_key(me.target)
				AND meterbridge_period_start(c.period) > meterbridge_period_start(mc.period)
			ORDER BY meterbridge_period_start(c.period), c.period LIMIT 1),
		(SELECT c.period FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
			WHERE i.tenant_id = me.tenant_id AND i.state IN ('applied', 'unchanged')
				AND meterbridge_target_key(i.target) = meterbridge_target_key(me.target)
				AND meterbridge_period_start(c.period) > meterbridge_period_start(mc.period)
			ORDER BY meterbridge_period_start(c.period) DESC, c.period DESC LIMIT 1)
	FROM cycle_items me JOIN cycles mc ON mc.id = me.cycle_id
	WHERE me.id = $1`

// KeptUnits returns the units a PSA target held on day `until` before an item's change was
// first written (see PublishedAfter): read with read the first time it is asked for, and
// from the record on every later attempt of the same item, whose first attempt may already
// have written part of the change. Invalid false: nothing was billed that day.
func (s *Store) KeptUnits(ctx context.Context, tenantID string, itemID int64, until time.Time, read func() (decimal.NullDecimal, error)) (decimal.NullDecimal, error) {
	day := asOfDate(&until)
	var units decimal.NullDecimal
	err := s.pool.QueryRow(ctx, `SELECT units FROM push_kept_units WHERE item_id = $1 AND until = $2`, itemID, day).Scan(&units)
	if err == nil {
		return units, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return units, err
	}
	if units, err = read(); err != nil {
		return units, err
	}
	// Of two attempts reading at once (one a stale attempt that lost the lock), the first
	// record stands.
	err = s.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO push_kept_units (tenant_id, item_id, until, units) VALUES ($1, $2, $3, $4)
			ON CONFLICT (item_id, until) DO NOTHING RETURNING units
		)
		SELECT units FROM ins UNION ALL SELECT units FROM push_kept_units WHERE item_id = $2 AND until = $3 LIMIT 1`,
		tenantID, itemID, day, units).Scan(&units)
	return units, err
}

// keepSessionAlive pings the transaction's session every t.Ping, so the server's
// idle-in-transaction timeout ends it only when this worker is gone, and cancels the write
// with errLockLost when the lock may be gone: a ping failed or did not answer within its
// deadline, or the last answered ping (the lock itself, sent at `since`, at first) was sent
// t.Idle−t.Ping ago — the server could end the session t.Idle after it. The returned
// function stops the pings and waits for the last one, so the transaction is free for the
// caller again.
func keepSessionAlive(ctx context.Context, tx pgx.Tx, t PushLockTimings, since time.Time, lost context.CancelCauseFunc) func() {
	lease := t.Idle - t.Ping
	pingTimeout := lease / 2
	watchdog := time.AfterFunc(time.Until(since.Add(lease)), func() {
		lost(fmt.Errorf("%w: no ping answered for %v (the server ends a silent session after %v)", errLockLost, lease, t.Idle))
	})
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer watchdog.Stop()
		tick := time.NewTicker(t.Ping)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				at := time.Now()
				pctx, cancel := context.WithTimeout(ctx, pingTimeout)
				_, err := tx.Exec(pctx, `SELECT 1`)
				cancel()
				if err != nil {
					if ctx.Err() == nil {
						lost(fmt.Errorf("%w: %w", errLockLost, err))
					}
					return
				}
				watchdog.Reset(time.Until(at.Add(lease)))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
