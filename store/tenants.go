package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
		cur, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		before = cur
		next := cur
		next.Settings.Notify.Emails = append([]string(nil), cur.Settings.Notify.Emails...)
		if err := change(&next); err != nil {
			return err
		}
		settings, err := json.Marshal(next.Settings)
		if err != nil {
			return err
		}
		var psaKind *string
		if next.PSAKind != "" {
			psaKind = &next.PSAKind
		}
		after, err = scanTenant(tx.QueryRow(ctx, `
			UPDATE tenants SET name = $2, time_zone = $3, psa_kind = $4, settings = $5, updated_at = now()
			WHERE id = $1 RETURNING `+tenantColumns, id, next.Name, next.TimeZone, psaKind, settings))
		return err
	})
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
