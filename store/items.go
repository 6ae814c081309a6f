package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/psa"
)

// ItemTarget is where an item's quantity goes: a PSA target (advanced mode, licence sync) or
// a Managed ID (basic mode).
type ItemTarget struct {
	psa.Target
	ManagedID string `json:"managed_id,omitempty"`
}

// Item is one client's (or account's) proposed change in a cycle and its outcome.
type Item struct {
	ID          int64      `json:"id"`
	CycleID     string     `json:"cycle_id"`
	TenantID    string     `json:"-"`
	Seq         int        `json:"seq"`
	AccountID   string     `json:"account_id"`
	AccountName string     `json:"account_name"`
	Item        string     `json:"item"`
	MappingID   string     `json:"mapping_id,omitempty"`
	Target      ItemTarget `json:"target"`
	TargetLabel string     `json:"target_label"`
	// AsOf is the day the PSA's quantity was read as of and the change applies from, chosen
	// once when the item is refreshed (nil for Backup Stats records and older items).
	AsOf         *time.Time          `json:"as_of,omitempty"`
	OldQty       decimal.NullDecimal `json:"old_quantity"`
	NewQty       decimal.NullDecimal `json:"new_quantity"`
	Delta        decimal.NullDecimal `json:"delta"`
	State        billing.ItemState   `json:"state"`
	Reason       string              `json:"reason,omitempty"`
	DecidedBy    string              `json:"decided_by,omitempty"`
	DecidedAt    *time.Time          `json:"decided_at,omitempty"`
	AppliedQty   decimal.NullDecimal `json:"applied_quantity"`
	AppliedAt    *time.Time          `json:"applied_at,omitempty"`
	PSAReference string              `json:"psa_reference,omitempty"`
}

// InsertItems adds items to a cycle. Items already there (same account and item) are kept as
// they are, so a retried refresh activity does not duplicate or reset them.
func (s *Store) InsertItems(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, it := range items {
		target, err := json.Marshal(it.Target)
		if err != nil {
			return err
		}
		batch.Queue(`
			INSERT INTO cycle_items (cycle_id, tenant_id, seq, account_id, account_name, item, mapping_id, target, target_label,
				old_qty, new_qty, delta, state, reason, decided_by, decided_at, as_of)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, CASE WHEN $15 = '' THEN NULL ELSE now() END, $16)
			ON CONFLICT (cycle_id, account_id, item) DO NOTHING`,
			it.CycleID, it.TenantID, it.Seq, it.AccountID, it.AccountName, it.Item, it.MappingID, target, it.TargetLabel,
			it.OldQty, it.NewQty, it.Delta, it.State, it.Reason, it.DecidedBy, asOfDate(it.AsOf))
	}
	err := s.pool.SendBatch(ctx, batch).Close()
	if isForeignKeyViolation(err) {
		return fmt.Errorf("cycle %s: %w", items[0].CycleID, ErrNotFound)
	}
	return err
}

// DecideItems moves pending items of a cycle to approved or rejected and returns how many
// moved. Items that are no longer pending are left alone, so a repeated decision is harmless.
func (s *Store) DecideItems(ctx context.Context, cycleID string, d billing.Decision) (int, error) {
	return s.DecideItemsWithNote(ctx, cycleID, d, nil)
}

// ItemsInState returns up to limit items of a cycle in one state with an ID above afterID, in
// ID order: the paging the push step walks.
func (s *Store) ItemsInState(ctx context.Context, cycleID string, state billing.ItemState, afterID int64, limit int) ([]Item, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+` FROM cycle_items
		WHERE cycle_id = $1 AND state = $2 AND id > $3 ORDER BY id LIMIT $4`, cycleID, state, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanItem(r) })
}

// CycleItems returns every item of a cycle of the tenant, in seq order.
func (s *Store) CycleItems(ctx context.Context, tenantID, cycleID string) ([]Item, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+` FROM cycle_items WHERE tenant_id = $1 AND cycle_id = $2 ORDER BY seq`, tenantID, cycleID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanItem(r) })
}

// PendingItems returns the items of a tenant's open cycles that wait for a decision; with
// includeUnchanged, the zero-change items of those cycles too.
func (s *Store) PendingItems(ctx context.Context, tenantID string, includeUnchanged bool) ([]Item, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+` FROM cycle_items i
		WHERE i.tenant_id = $1 AND (i.state = 'pending' OR ($2 AND i.state = 'unchanged'))
		  AND EXISTS (SELECT 1 FROM cycles c WHERE c.id = i.cycle_id AND c.finished_at IS NULL)
		ORDER BY i.cycle_id, i.seq`, tenantID, includeUnchanged)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanItem(r) })
}

// Outcome is what happened when an item was pushed.
type Outcome struct {
	ItemID     int64
	State      billing.ItemState // Applied or ItemFailed
	AppliedQty decimal.NullDecimal
	Reason     string
	Reference  string
}

// RecordOutcome stores a pushed item's result. Only approved items take an outcome, so a
// replayed push cannot overwrite what an earlier attempt recorded. (Pushes record theirs
// through PushItem, under the PSA target's lock.)
func (s *Store) RecordOutcome(ctx context.Context, o Outcome) error {
	return recordOutcome(ctx, s.pool, o)
}

func recordOutcome(ctx context.Context, db execer, o Outcome) error {
	if o.State != billing.Applied && o.State != billing.ItemFailed {
		return fmt.Errorf("outcome state %q is not applied or failed", o.State)
	}
	tag, err := db.Exec(ctx, `
		UPDATE cycle_items SET state = $2, applied_qty = $3, reason = $4, psa_reference = $5,
			applied_at = CASE WHEN $2 = 'applied' THEN now() ELSE NULL END
		WHERE id = $1 AND state = 'approved'`, o.ItemID, o.State, o.AppliedQty, o.Reason, o.Reference)
	if err != nil || tag.RowsAffected() == 1 || o.State != billing.Applied {
		return err
	}
	// The PSA took a write for an item that left "approved" meanwhile (a newer licence
	// refresh superseded it while the push was under way; PushItem's row lock makes that
	// wait, so this is the safety net). The change stands in the PSA, so it must stand in the
	// history too. An item already applied is a replayed push: nothing new; the row is kept
	// once per item, however often the push is retried.
	_, err = db.Exec(ctx, `
		INSERT INTO site_history (tenant_id, severity, actor, action, message, details, once_key)
		SELECT tenant_id, 'warning', 'automatic', 'push.after_supersede',
			format('%s %s was written to the PSA (%s) after a newer refresh superseded it', account_name, item, $2::text),
			jsonb_build_object('item_id', id, 'cycle_id', cycle_id, 'applied_quantity', $2::text, 'psa_reference', $3::text),
			'push-after-supersede/' || id
		FROM cycle_items WHERE id = $1 AND state <> 'applied'
		ON CONFLICT (tenant_id, once_key) WHERE once_key IS NOT NULL DO NOTHING`, o.ItemID, o.AppliedQty.Decimal.String(), o.Reference)
	return err
}

const itemColumns = `id, cycle_id::text, tenant_id, seq, account_id, account_name, item, mapping_id, target, target_label,
	old_qty, new_qty, delta, state, reason, decided_by, decided_at, applied_qty, applied_at, psa_reference, as_of`

func scanItem(row pgx.Row) (Item, error) {
	var it Item
	var target []byte
	var asOf pgtype.Date
	err := row.Scan(&it.ID, &it.CycleID, &it.TenantID, &it.Seq, &it.AccountID, &it.AccountName, &it.Item, &it.MappingID, &target,
		&it.TargetLabel, &it.OldQty, &it.NewQty, &it.Delta, &it.State, &it.Reason, &it.DecidedBy, &it.DecidedAt,
		&it.AppliedQty, &it.AppliedAt, &it.PSAReference, &asOf)
	if err != nil {
		return it, err
	}
	if asOf.Valid {
		d := time.Date(asOf.Time.Year(), asOf.Time.Month(), asOf.Time.Day(), 0, 0, 0, 0, time.UTC)
		it.AsOf = &d
	}
	return it, json.Unmarshal(target, &it.Target)
}

// asOfDate is an item's as-of day as a SQL date (NULL when it has none).
func asOfDate(t *time.Time) pgtype.Date {
	if t == nil || t.IsZero() {
		return pgtype.Date{}
	}
	u := t.UTC()
	return pgtype.Date{Time: time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}
