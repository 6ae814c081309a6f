package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/psa"
)

// Mapping sends a vendor account's item to a PSA target.
type Mapping struct {
	TenantID   string         `json:"-"`
	ID         string         `json:"id"`
	Source     string         `json:"source"`
	AccountID  string         `json:"account_id"`
	Item       string         `json:"item"`
	Target     psa.Target     `json:"target"`
	TargetInfo psa.TargetInfo `json:"target_info"`
	Status     string         `json:"status"`
	LastError  string         `json:"last_error,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	CreatedBy  string         `json:"created_by"`
	UpdatedAt  time.Time      `json:"updated_at"`
	UpdatedBy  string         `json:"updated_by"`
}

// PutMapping creates or replaces a mapping; created reports which. ErrConflict when another
// mapping of the tenant already maps the same account and item.
func (s *Store) PutMapping(ctx context.Context, m Mapping, actor string) (out Mapping, created bool, err error) {
	return putMapping(ctx, s.pool, m, actor)
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func putMapping(ctx context.Context, db rowQuerier, m Mapping, actor string) (out Mapping, created bool, err error) {
	info, err := json.Marshal(m.TargetInfo)
	if err != nil {
		return Mapping{}, false, err
	}
	var inserted bool
	row := db.QueryRow(ctx, `
		INSERT INTO mappings (tenant_id, id, source, account_id, item, company_id, agreement_id, addition_id, target_info,
			status, last_error, created_by, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'ok', '', $10, $10)
		ON CONFLICT (tenant_id, id) DO UPDATE SET source = EXCLUDED.source, account_id = EXCLUDED.account_id,
			item = EXCLUDED.item, company_id = EXCLUDED.company_id, agreement_id = EXCLUDED.agreement_id,
			addition_id = EXCLUDED.addition_id, target_info = EXCLUDED.target_info, status = 'ok', last_error = '',
			updated_at = now(), updated_by = EXCLUDED.updated_by
		RETURNING `+mappingColumns+`, (xmax = 0)`,
		m.TenantID, m.ID, m.Source, m.AccountID, m.Item, m.Target.CompanyID, m.Target.AgreementID, m.Target.AdditionID, info, actor)
	out, err = scanMapping(row, &inserted)
	if isUniqueViolation(err) {
		return Mapping{}, false, fmt.Errorf("account %s item %s is already mapped: %w", m.AccountID, m.Item, ErrConflict)
	}
	if isForeignKeyViolation(err) {
		return Mapping{}, false, ErrNotFound
	}
	return out, inserted, err
}

// GetMapping reads one mapping of a tenant.
func (s *Store) GetMapping(ctx context.Context, tenantID, id string) (Mapping, error) {
	return scanMapping(s.pool.QueryRow(ctx, `SELECT `+mappingColumns+` FROM mappings WHERE tenant_id = $1 AND id = $2`, tenantID, id), nil)
}

// DeleteMapping removes a mapping.
func (s *Store) DeleteMapping(ctx context.Context, tenantID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM mappings WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// DeleteAllMappings removes every mapping of a tenant (switching PSA) and returns how many.
func (s *Store) DeleteAllMappings(ctx context.Context, tenantID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM mappings WHERE tenant_id = $1`, tenantID)
	return tag.RowsAffected(), err
}

// ListMappings returns a tenant's mappings of one source ("" for all), ordered by ID.
func (s *Store) ListMappings(ctx context.Context, tenantID, source string) ([]Mapping, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+mappingColumns+` FROM mappings WHERE tenant_id = $1 AND ($2 = '' OR source = $2) ORDER BY id`, tenantID, source)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Mapping, error) { return scanMapping(r, nil) })
}

// MarkMapping records whether a mapping last worked.
func (s *Store) MarkMapping(ctx context.Context, tenantID, id, status, lastError string) error {
	_, err := s.pool.Exec(ctx, `UPDATE mappings SET status = $3, last_error = $4 WHERE tenant_id = $1 AND id = $2`, tenantID, id, status, lastError)
	return err
}

const mappingColumns = `tenant_id, id, source, account_id, item, company_id, agreement_id, addition_id, target_info, status, last_error,
	created_at, created_by, updated_at, updated_by`

func scanMapping(row pgx.Row, inserted *bool) (Mapping, error) {
	var m Mapping
	var info []byte
	dest := []any{&m.TenantID, &m.ID, &m.Source, &m.AccountID, &m.Item, &m.Target.CompanyID, &m.Target.AgreementID, &m.Target.AdditionID,
		&info, &m.Status, &m.LastError, &m.CreatedAt, &m.CreatedBy, &m.UpdatedAt, &m.UpdatedBy}
	if inserted != nil {
		dest = append(dest, inserted)
	}
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(info, &m.TargetInfo)
}
