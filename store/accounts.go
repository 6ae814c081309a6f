package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/billing"
)

// Reading is what a vendor reported for one account item in a period.
type Reading struct {
	Source      string
	AccountID   string
	AccountName string
	ManagedID   string
	Item        string
	Quantity    decimal.Decimal
}

// RecordReadings stores what a vendor reported (and the accounts it named) for a period.
func (s *Store) RecordReadings(ctx context.Context, tenantID string, period billing.Period, readings []Reading) error {
	if len(readings) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, r := range readings {
		batch.Queue(`
			INSERT INTO vendor_accounts (tenant_id, source, account_id, name, managed_id, seen_at) VALUES ($1, $2, $3, $4, $5, now())
			ON CONFLICT (tenant_id, source, account_id) DO UPDATE SET name = EXCLUDED.name, managed_id = EXCLUDED.managed_id, seen_at = now()`,
			tenantID, r.Source, r.AccountID, r.AccountName, r.ManagedID)
		batch.Queue(`
			INSERT INTO usage_readings (tenant_id, source, account_id, item, period, quantity, read_at) VALUES ($1, $2, $3, $4, $5, $6, now())
			ON CONFLICT (tenant_id, source, account_id, item, period) DO UPDATE SET quantity = EXCLUDED.quantity, read_at = now()`,
			tenantID, r.Source, r.AccountID, r.Item, period, r.Quantity)
	}
	return s.pool.SendBatch(ctx, batch).Close()
}

// AccountItem is a vendor account's item with its latest reading and mapping, if any.
type AccountItem struct {
	Source      string          `json:"source"`
	AccountID   string          `json:"account_id"`
	AccountName string          `json:"name"`
	ManagedID   string          `json:"managed_id,omitempty"`
	Item        string          `json:"item"`
	Quantity    decimal.Decimal `json:"quantity"`
	Period      string          `json:"period"`
	ReadAt      time.Time       `json:"read_at"`
	MappingID   string          `json:"mapping_id,omitempty"`
	// MappingStatus is "unmapped", "ok" or "error".
	MappingStatus string `json:"mapping_status"`
	MappingError  string `json:"mapping_error,omitempty"`
}

// ListAccountItems returns every account item a vendor reported for the tenant (latest
// period each) with its mapping status.
func (s *Store) ListAccountItems(ctx context.Context, tenantID string) ([]AccountItem, error) {
	return s.FilterAccountItems(ctx, tenantID, AccountFilter{})
}

// AccountFilter narrows FilterAccountItems; empty fields match everything.
type AccountFilter struct {
	Source string // "backup" or "licenses"
	Status string // "unmapped", "ok" or "error"
}

// FilterAccountItems is ListAccountItems narrowed to one source and mapping status.
func (s *Store) FilterAccountItems(ctx context.Context, tenantID string, f AccountFilter) ([]AccountItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
		SELECT DISTINCT ON (r.source, r.account_id, r.item)
			r.source, r.account_id, a.name, a.managed_id, r.item, r.quantity, r.period, r.read_at,
			COALESCE(m.id, '') AS mapping_id, COALESCE(m.status, 'unmapped') AS mapping_status, COALESCE(m.last_error, '')
		FROM usage_readings r
		JOIN vendor_accounts a USING (tenant_id, source, account_id)
		LEFT JOIN mappings m ON m.tenant_id = r.tenant_id AND m.source = r.source AND m.account_id = r.account_id AND m.item = r.item
		WHERE r.tenant_id = $1 AND ($2 = '' OR r.source = $2)
		ORDER BY r.source, r.account_id, r.item, r.period DESC) x
		WHERE $3 = '' OR x.mapping_status = $3
		ORDER BY x.source, x.account_id, x.item`, tenantID, f.Source, f.Status)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccountItem, error) {
		var a AccountItem
		err := r.Scan(&a.Source, &a.AccountID, &a.AccountName, &a.ManagedID, &a.Item, &a.Quantity, &a.Period, &a.ReadAt,
			&a.MappingID, &a.MappingStatus, &a.MappingError)
		return a, err
	})
}

// AccountName is how a vendor last named one of its accounts.
type AccountName struct {
	Name      string
	ManagedID string
}

// AccountNames returns the accounts a vendor source (backup, licenses) reported for the
// tenant, as last seen, by account ID.
func (s *Store) AccountNames(ctx context.Context, tenantID, source string) (map[string]AccountName, error) {
	rows, err := s.pool.Query(ctx, `SELECT account_id, name, managed_id FROM vendor_accounts WHERE tenant_id = $1 AND source = $2`, tenantID, source)
	if err != nil {
		return nil, err
	}
	out := map[string]AccountName{}
	var id string
	var a AccountName
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Name, &a.ManagedID}, func() error {
		out[id] = a
		return nil
	})
	return out, err
}
