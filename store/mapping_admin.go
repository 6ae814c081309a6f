package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrPSAChanged means the tenant's PSA changed while a mapping was being checked against it.
var ErrPSAChanged = errors.New("the PSA connection changed while the mapping was checked; try again")

// MappingChange is what PutCheckedMapping did: the mapping as stored, whether it is new, and
// the mapping it replaced (nil when created).
type MappingChange struct {
	Mapping  Mapping
	Created  bool
	Previous *Mapping
}

// PutCheckedMapping creates or replaces a mapping whose target was checked against a PSA of
// kind psaKind, and writes the site-history row ("mapping.created" or "mapping.edited") in
// the same transaction. It returns ErrPSAChanged when the tenant's PSA connection is no
// longer of that kind (switched meanwhile; SetPSA deletes mappings), and like PutMapping
// ErrConflict when another mapping already maps the same account and item.
func (s *Store) PutCheckedMapping(ctx context.Context, m Mapping, actor, psaKind string, details map[string]any) (MappingChange, error) {
	var res MappingChange
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var provider string
		err := tx.QueryRow(ctx, `SELECT provider FROM connections WHERE tenant_id = $1 AND role = $2 FOR SHARE`, m.TenantID, RolePSA).Scan(&provider)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && provider != psaKind) {
			return ErrPSAChanged
		}
		if err != nil {
			return err
		}
		prev, err := scanMapping(tx.QueryRow(ctx, `SELECT `+mappingColumns+` FROM mappings WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, m.TenantID, m.ID), nil)
		switch {
		case err == nil:
			res.Previous = &prev
		case !errors.Is(err, ErrNotFound):
			return err
		}
		res.Mapping, res.Created, err = putMapping(ctx, tx, m, actor)
		if err != nil {
			return err
		}
		action, verb := "mapping.edited", "edited"
		if res.Created {
			action, verb = "mapping.created", "created"
		}
		d := map[string]any{"mapping_id": m.ID, "source": m.Source, "account_id": m.AccountID, "item": m.Item,
			"target": res.Mapping.Target, "target_info": res.Mapping.TargetInfo}
		if res.Previous != nil {
			d["previous"] = map[string]any{"source": prev.Source, "account_id": prev.AccountID, "item": prev.Item, "target": prev.Target}
		}
		for k, v := range details {
			d[k] = v
		}
		return insertHistory(ctx, tx, m.TenantID, SeverityInfo, actor, action,
			fmt.Sprintf("mapping %s %s: %s account %s, %s → %s", m.ID, verb, m.Source, m.AccountID, m.Item, targetWords(res.Mapping)), d)
	})
	if err != nil {
		return MappingChange{}, err
	}
	return res, nil
}

// RemoveMapping deletes a mapping and writes the "mapping.deleted" site-history row in the
// same transaction; ErrNotFound when the tenant has no such mapping.
func (s *Store) RemoveMapping(ctx context.Context, tenantID, id, actor string, details map[string]any) (Mapping, error) {
	var m Mapping
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		m, err = scanMapping(tx.QueryRow(ctx, `DELETE FROM mappings WHERE tenant_id = $1 AND id = $2 RETURNING `+mappingColumns, tenantID, id), nil)
		if err != nil {
			return err
		}
		d := map[string]any{"mapping_id": m.ID, "source": m.Source, "account_id": m.AccountID, "item": m.Item, "target": m.Target}
		for k, v := range details {
			d[k] = v
		}
		return insertHistory(ctx, tx, tenantID, SeverityInfo, actor, "mapping.deleted",
			fmt.Sprintf("mapping %s deleted: %s account %s, %s no longer goes to %s", m.ID, m.Source, m.AccountID, m.Item, targetWords(m)), d)
	})
	return m, err
}

// targetWords names a mapping's target as people read it.
func targetWords(m Mapping) string {
	i := m.TargetInfo
	if i.CompanyName == "" {
		return fmt.Sprintf("company %d / agreement %d / addition %d", m.Target.CompanyID, m.Target.AgreementID, m.Target.AdditionID)
	}
	return fmt.Sprintf("%s / %s / %s", i.CompanyName, i.AgreementName, i.Product)
}
