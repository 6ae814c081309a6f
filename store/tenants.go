package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// CreateTenant inserts a tenant; ErrConflict when the ID is taken.
func (s *Store) CreateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return tenant.Tenant{}, err
	}
	var psaKind *string
	if t.PSAKind != "" {
		psaKind = &t.PSAKind
	}
	row := s.pool.QueryRow(ctx, `
		INSERT INTO tenants (id, name, time_zone, psa_kind, settings) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+tenantColumns, t.ID, t.Name, t.TimeZone, psaKind, settings)
	out, err := scanTenant(row)
	if isUniqueViolation(err) {
		return tenant.Tenant{}, fmt.Errorf("tenant %q: %w", t.ID, ErrConflict)
	}
	return out, err
}

// GetTenant reads one tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (tenant.Tenant, error) {
	return scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
}

// ListTenants returns every tenant, ordered by ID.
func (s *Store) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Tenant, error) { return scanTenant(r) })
}

// UpdateTenant applies change to the current tenant inside a transaction (the row is locked,
// so two concurrent PATCHes cannot lose each other's changes) and returns the old and the new
// tenant. change returns an error to abort without writing.
func (s *Store) UpdateTenant(ctx context.Context, id string, change func(*tenant.Tenant) error) (before, after tenant.Tenant, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		before, after, err = updateTenant(ctx, tx, id, change)
		return err
	})
	return before, after, err
}

func updateTenant(ctx context.Context, tx pgx.Tx, id string, change func(*tenant.Tenant) error) (before, after tenant.Tenant, err error) {
	cur, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return before, after, err
	}
	before = cur
	next := cur
	next.Settings.Notify.Emails = append([]string(nil), cur.Settings.Notify.Emails...)
	if err := change(&next); err != nil {
		return before, after, err
	}
	settings, err := json.Marshal(next.Settings)
	if err != nil {
		return before, after, err
	}
	var psaKind *string
	if next.PSAKind != "" {
		psaKind = &next.PSAKind
	}
	after, err = scanTenant(tx.QueryRow(ctx, `
		UPDATE tenants SET name = $2, time_zone = $3, psa_kind = $4, settings = $5, updated_at = now()
		WHERE id = $1 RETURNING `+tenantColumns, id, next.Name, next.TimeZone, psaKind, settings))
	return before, after, err
}

const tenantColumns = `id, name, time_zone, COALESCE(psa_kind, ''), settings, created_at, updated_at`

func scanTenant(row pgx.Row) (tenant.Tenant, error) {
	var t tenant.Tenant
	var settings []byte
	err := row.Scan(&t.ID, &t.Name, &t.TimeZone, &t.PSAKind, &settings, &t.CreatedAt, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Settings = tenant.Defaults()
	if err := json.Unmarshal(settings, &t.Settings); err != nil {
		return t, fmt.Errorf("tenant %s settings: %w", t.ID, err)
	}
	if t.Settings.Notify.Emails == nil {
		t.Settings.Notify.Emails = []string{}
	}
	return t, nil
}

// TenantTx is what a tenant change may read and write inside its transaction besides the
// tenant: who published a period, and the site-history rows that record the change.
type TenantTx struct {
	ctx context.Context
	tx  pgx.Tx
}

// PeriodPublisher returns the ID of a cycle of the tenant that published (kind, period) or is
// publishing it (open, completed or partly completed), or "" when none did.
func (t TenantTx) PeriodPublisher(tenantID string, kind billing.Kind, period billing.Period) (string, error) {
	return periodPublisher(t.ctx, t.tx, tenantID, kind, period)
}

// Note writes a site-history row in the change's transaction.
func (t TenantTx) Note(n Note) error { return insertNote(t.ctx, t.tx, n) }

// UpdateTenantTx is UpdateTenant whose change may also read and write through tx.
func (s *Store) UpdateTenantTx(ctx context.Context, id string, change func(tx TenantTx, t *tenant.Tenant) error) (before, after tenant.Tenant, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		before, after, err = updateTenant(ctx, tx, id, func(t *tenant.Tenant) error { return change(TenantTx{ctx: ctx, tx: tx}, t) })
		return err
	})
	return before, after, err
}

// PeriodPublisher is TenantTx.PeriodPublisher outside a transaction.
func (s *Store) PeriodPublisher(ctx context.Context, tenantID string, kind billing.Kind, period billing.Period) (string, error) {
	return periodPublisher(ctx, s.pool, tenantID, kind, period)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func periodPublisher(ctx context.Context, db querier, tenantID string, kind billing.Kind, period billing.Period) (string, error) {
	var id string
	err := db.QueryRow(ctx, `SELECT id::text FROM cycles WHERE tenant_id = $1 AND kind = $2 AND period = $3
		AND (finished_at IS NULL OR status IN ($4, $5)) ORDER BY started_at LIMIT 1`,
		tenantID, kind, period, billing.Completed, billing.Partial).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}
