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
	settings, webhook, err := s.storedSettings(t.ID, t.Settings)
	if err != nil {
		return tenant.Tenant{}, err
	}
	var psaKind *string
	if t.PSAKind != "" {
		psaKind = &t.PSAKind
	}
	row := s.pool.QueryRow(ctx, `
		INSERT INTO tenants (id, name, time_zone, psa_kind, settings, webhook_sealed) VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+tenantColumns, t.ID, t.Name, t.TimeZone, psaKind, settings, webhook)
	out, err := s.scanTenant(row)
	if isUniqueViolation(err) {
		return tenant.Tenant{}, fmt.Errorf("tenant %q: %w", t.ID, ErrConflict)
	}
	return out, err
}

// GetTenant reads one tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (tenant.Tenant, error) {
	return s.scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
}

// ListTenants returns every tenant, ordered by ID.
func (s *Store) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Tenant, error) { return s.scanTenant(r) })
}

// UpdateTenant applies change to the current tenant inside a transaction (the row is locked,
// so two concurrent PATCHes cannot lose each other's changes) and returns the old and the new
// tenant. change returns an error to abort without writing.
func (s *Store) UpdateTenant(ctx context.Context, id string, change func(*tenant.Tenant) error) (before, after tenant.Tenant, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		before, after, err = s.updateTenant(ctx, tx, id, change)
		return err
	})
	return before, after, err
}

func (s *Store) updateTenant(ctx context.Context, tx pgx.Tx, id string, change func(*tenant.Tenant) error) (before, after tenant.Tenant, err error) {
	cur, err := s.scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return before, after, err
	}
	before = cur
	next := cur
	next.Settings.Notify.Emails = append([]string(nil), cur.Settings.Notify.Emails...)
	if err := change(&next); err != nil {
		return before, after, err
	}
	settings, webhook, err := s.storedSettings(id, next.Settings)
	if err != nil {
		return before, after, err
	}
	var psaKind *string
	if next.PSAKind != "" {
		psaKind = &next.PSAKind
	}
	after, err = s.scanTenant(tx.QueryRow(ctx, `
		UPDATE tenants SET name = $2, time_zone = $3, psa_kind = $4, settings = $5, webhook_sealed = $6, updated_at = now()
		WHERE id = $1 RETURNING `+tenantColumns, id, next.Name, next.TimeZone, psaKind, settings, webhook))
	return before, after, err
}

const tenantColumns = `id, name, time_zone, COALESCE(psa_kind, ''), settings, created_at, updated_at, webhook_sealed`

// scanTenant reads a row of tenantColumns, opening its sealed webhook URL. A settings
// document of a tenant saved before webhooks were sealed may still hold the URL plain; it is
// read as it is until the tenant is saved again or the secrets are re-sealed.
func (s *Store) scanTenant(row pgx.Row) (tenant.Tenant, error) {
	var t tenant.Tenant
	var settings, webhook []byte
	err := row.Scan(&t.ID, &t.Name, &t.TimeZone, &t.PSAKind, &settings, &t.CreatedAt, &t.UpdatedAt, &webhook)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	if t.Settings, err = tenant.DecodeStored(settings); err != nil {
		return t, fmt.Errorf("tenant %s settings: %w", t.ID, err)
	}
	if webhook != nil {
		if s.box == nil {
			return t, fmt.Errorf("tenant %s has a sealed webhook URL and the store was opened without a secret key: set METERBRIDGE_SECRET_KEYS", t.ID)
		}
		url, err := s.box.Open(webhook, webhookContext(t.ID))
		if err != nil {
			return t, fmt.Errorf("tenant %s webhook URL: %w", t.ID, err)
		}
		t.Settings.Notify.WebhookURL = string(url)
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
// publishing it (open, completed or partly completed), or "" when none did. A publish of
// some clients (Cycle.Clients) publishes those clients, not the period: it does not count.
func (t TenantTx) PeriodPublisher(tenantID string, kind billing.Kind, period billing.Period) (string, error) {
	return periodPublisher(t.ctx, t.tx, tenantID, kind, period)
}

// Note writes a site-history row in the change's transaction.
func (t TenantTx) Note(n Note) error { return insertNote(t.ctx, t.tx, n) }

// UpdateTenantTx is UpdateTenant whose change may also read and write through tx.
func (s *Store) UpdateTenantTx(ctx context.Context, id string, change func(tx TenantTx, t *tenant.Tenant) error) (before, after tenant.Tenant, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		before, after, err = s.updateTenant(ctx, tx, id, func(t *tenant.Tenant) error { return change(TenantTx{ctx: ctx, tx: tx}, t) })
		return err
	})
	return before, after, err
}

// PeriodPublisher is TenantTx.PeriodPublisher outside a transaction.
func (s *Store) PeriodPublisher(ctx context.Context, tenantID string, kind billing.Kind, period billing.Period) (string, error) {
	return periodPublisher(ctx, s.pool, tenantID, kind, period)
}

// PublishSkipped reports whether a decision was recorded to leave a period's automatic
// publish undone: a "schedule.publish_period" site-history row of the period (written in the
// transaction of the change that made the decision) with outcome "skipped" — a settings
// change sent with "missed_period": "skip" (starter.NoticeSkipped), or a PSA switch that
// turned the schedule off before the month's run.
func (s *Store) PublishSkipped(ctx context.Context, tenantID string, period billing.Period) (bool, error) {
	var skipped bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM site_history
		WHERE tenant_id = $1 AND action = 'schedule.publish_period' AND details->>'period' = $2 AND details->>'outcome' = 'skipped')`,
		tenantID, period).Scan(&skipped)
	return skipped, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func periodPublisher(ctx context.Context, db querier, tenantID string, kind billing.Kind, period billing.Period) (string, error) {
	var id string
	err := db.QueryRow(ctx, `SELECT id::text FROM cycles WHERE tenant_id = $1 AND kind = $2 AND period = $3 AND clients IS NULL
		AND (finished_at IS NULL OR status IN ($4, $5)) ORDER BY started_at LIMIT 1`,
		tenantID, kind, period, billing.Completed, billing.Partial).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// webhookContext binds a sealed webhook URL to its tenant. The URL is both the secret and
// where it goes, so sealing it also keeps it from being changed without the key.
func webhookContext(tenantID string) string { return "meterbridge/webhook\ntenant=" + tenantID }

// storedSettings is how a tenant's settings are written: the settings document without the
// webhook URL, and the URL sealed apart (nil when there is none).
func (s *Store) storedSettings(tenantID string, st tenant.Settings) (settings, webhook []byte, err error) {
	if url := st.Notify.WebhookURL; url != "" {
		if s.box == nil {
			return nil, nil, errors.New("store opened without a secret key: set METERBRIDGE_SECRET_KEYS to keep a webhook URL")
		}
		if webhook, err = s.box.Seal([]byte(url), webhookContext(tenantID)); err != nil {
			return nil, nil, err
		}
	}
	st.Notify.WebhookURL = ""
	settings, err = json.Marshal(st)
	return settings, webhook, err
}

// resealWebhooks brings every webhook URL to the primary key and current format, and seals
// the URLs still kept plain in settings (removing them from there).
func (s *Store) resealWebhooks(ctx context.Context, tx pgx.Tx) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id, COALESCE(settings->'notify'->>'webhook_url', ''), webhook_sealed FROM tenants
		WHERE webhook_sealed IS NOT NULL OR COALESCE(settings->'notify'->>'webhook_url', '') <> '' FOR UPDATE`)
	if err != nil {
		return 0, err
	}
	type row struct {
		id, plain string
		sealed    []byte
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.plain, &x.sealed)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range all {
		url := x.plain
		switch {
		case x.sealed != nil && !s.box.NeedsReseal(x.sealed) && x.plain == "":
			continue
		case x.sealed != nil:
			// A sealed URL wins over a plain one left behind.
			pt, err := s.box.Open(x.sealed, webhookContext(x.id))
			if err != nil {
				return n, fmt.Errorf("open webhook URL of tenant %s: %w", x.id, err)
			}
			url = string(pt)
		}
		sealed, err := s.box.Seal([]byte(url), webhookContext(x.id))
		if err != nil {
			return n, err
		}
		if _, err := tx.Exec(ctx, `UPDATE tenants SET webhook_sealed = $2, settings = settings #- '{notify,webhook_url}' WHERE id = $1`, x.id, sealed); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
