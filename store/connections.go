package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/secrets"
)

// Connection roles: the tenant's PSA and its vendor sources.
const (
	RolePSA      = "psa"
	RoleBackup   = "backup"
	RoleLicenses = "licenses"
	RoleGauges   = "gauges"
)

// Connection is a stored set of credentials. Secret is the opened secret part; it never
// leaves the process that uses it (activities), and API answers use ConnectionStatus.
type Connection struct {
	TenantID  string
	Role      string
	Provider  string
	Config    json.RawMessage
	Secret    json.RawMessage
	UpdatedAt time.Time
	UpdatedBy string
}

// ConnectionStatus says whether credentials are set and when they changed, without them.
type ConnectionStatus struct {
	Role      string          `json:"role"`
	Provider  string          `json:"provider"`
	Config    json.RawMessage `json:"config"`
	SecretSet bool            `json:"secret_set"`
	UpdatedAt time.Time       `json:"updated_at"`
	UpdatedBy string          `json:"updated_by"`
	// LastCheck is the outcome of the last connection test since the credentials changed.
	LastCheck *ConnectionCheck `json:"last_check,omitempty"`
}

// ConnectionCheck is what the last "test connection" of stored credentials found.
type ConnectionCheck struct {
	At      time.Time `json:"at"`
	OK      bool      `json:"ok"`
	Message string    `json:"message"`
}

// legacyContext is what values of secrets.FormatOwner were bound to: their tenant and role.
func legacyContext(tenantID, role string) string { return "tenant/" + tenantID + "/" + role }

// connectionContext binds a connection's secret to its tenant and role and to where it is
// sent: the provider and every shown field (URLs, company, public key, client ID, user
// name…), in a canonical form that survives PostgreSQL's jsonb normalisation. Changing any
// of them in the row without the key makes the secret unopenable, so a changed row cannot
// send the decrypted credentials somewhere else.
func connectionContext(tenantID, role, provider string, config []byte) (string, error) {
	cfg, err := canonicalJSON(config)
	if err != nil {
		return "", fmt.Errorf("%s connection of tenant %s: config: %w", role, tenantID, err)
	}
	return "meterbridge/connection\ntenant=" + tenantID + "\nrole=" + role + "\nprovider=" + provider + "\nconfig=" + cfg, nil
}

// openContext is the context a stored secret opens under, by its format.
func openContext(sealed []byte, tenantID, role, provider string, config []byte) (string, error) {
	if secrets.Format(sealed) == secrets.FormatOwner {
		return legacyContext(tenantID, role), nil
	}
	return connectionContext(tenantID, role, provider, config)
}

// canonicalJSON writes a JSON value with object keys sorted and numbers in one form
// (1e3, 1000 and 1000.0 are "1000"), so the same config reads the same before and after
// jsonb has stored it.
func canonicalJSON(raw []byte) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := writeCanonical(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeCanonical(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case json.Number:
		d, err := decimal.NewFromString(x.String())
		if err != nil {
			return err
		}
		b.WriteString(d.String())
	default:
		vb, err := json.Marshal(x)
		if err != nil {
			return err
		}
		b.Write(vb)
	}
	return nil
}

// PutConnection stores credentials, sealing the secret part with the primary key.
func (s *Store) PutConnection(ctx context.Context, c Connection) error {
	return s.putConnection(ctx, s.pool, c)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// putConnection is PutConnection on a pool or inside a transaction. New credentials clear
// the last connection test, which was about the old ones.
func (s *Store) putConnection(ctx context.Context, db execer, c Connection) error {
	if s.box == nil {
		return errors.New("store opened without a secret key: set METERBRIDGE_SECRET_KEYS")
	}
	bind, err := connectionContext(c.TenantID, c.Role, c.Provider, c.Config)
	if err != nil {
		return err
	}
	sealed, err := s.box.Seal(c.Secret, bind)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `
		INSERT INTO connections (tenant_id, role, provider, config, secret, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5, now(), $6)
		ON CONFLICT (tenant_id, role) DO UPDATE
		SET provider = EXCLUDED.provider, config = EXCLUDED.config, secret = EXCLUDED.secret,
		    updated_at = now(), updated_by = EXCLUDED.updated_by,
		    checked_at = NULL, check_ok = NULL, check_message = ''`,
		c.TenantID, c.Role, c.Provider, []byte(c.Config), sealed, c.UpdatedBy)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("tenant %q: %w", c.TenantID, ErrNotFound)
	}
	return err
}

// GetConnection reads and opens credentials.
func (s *Store) GetConnection(ctx context.Context, tenantID, role string) (Connection, error) {
	c := Connection{TenantID: tenantID, Role: role}
	var sealed, config []byte
	err := s.pool.QueryRow(ctx, `SELECT provider, config, secret, updated_at, updated_by FROM connections WHERE tenant_id = $1 AND role = $2`,
		tenantID, role).Scan(&c.Provider, &config, &sealed, &c.UpdatedAt, &c.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("%s connection of tenant %s: %w", role, tenantID, ErrNotFound)
	}
	if err != nil {
		return c, err
	}
	if s.box == nil {
		return c, errors.New("store opened without a secret key: set METERBRIDGE_SECRET_KEYS")
	}
	bind, err := openContext(sealed, tenantID, role, c.Provider, config)
	if err != nil {
		return c, err
	}
	secret, err := s.box.Open(sealed, bind)
	if err != nil {
		return c, fmt.Errorf("%s connection of tenant %s: %w", role, tenantID, err)
	}
	c.Config, c.Secret = config, secret
	return c, nil
}

// ConnectionStatuses lists a tenant's connections without their secrets.
func (s *Store) ConnectionStatuses(ctx context.Context, tenantID string) ([]ConnectionStatus, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+connectionStatusColumns+` FROM connections WHERE tenant_id = $1 ORDER BY role`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConnectionStatus, error) { return scanConnectionStatus(r) })
}

// GetConnectionStatus reads one connection of a tenant without its secret.
func (s *Store) GetConnectionStatus(ctx context.Context, tenantID, role string) (ConnectionStatus, error) {
	cs, err := scanConnectionStatus(s.pool.QueryRow(ctx, `SELECT `+connectionStatusColumns+` FROM connections
		WHERE tenant_id = $1 AND role = $2`, tenantID, role))
	if errors.Is(err, pgx.ErrNoRows) {
		return cs, fmt.Errorf("%s connection of tenant %s: %w", role, tenantID, ErrNotFound)
	}
	return cs, err
}

const connectionStatusColumns = `role, provider, config, length(secret) > 0, updated_at, updated_by, checked_at, check_ok, check_message`

func scanConnectionStatus(r pgx.Row) (ConnectionStatus, error) {
	var cs ConnectionStatus
	var cfg []byte
	var checkedAt *time.Time
	var checkOK *bool
	var checkMsg string
	if err := r.Scan(&cs.Role, &cs.Provider, &cfg, &cs.SecretSet, &cs.UpdatedAt, &cs.UpdatedBy, &checkedAt, &checkOK, &checkMsg); err != nil {
		return cs, err
	}
	cs.Config = cfg
	if checkedAt != nil && checkOK != nil {
		cs.LastCheck = &ConnectionCheck{At: *checkedAt, OK: *checkOK, Message: checkMsg}
	}
	return cs, nil
}

// ResealConnections re-encrypts every stored connection secret sealed with a key other
// than the primary one, or in the format that bound it to its owner only, and returns how
// many it changed. Re-sealing binds a secret to the provider and fields its row holds now.
func (s *Store) ResealConnections(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, errors.New("store opened without a secret key")
	}
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = s.resealConnections(ctx, tx)
		return err
	})
	return n, err
}

func (s *Store) resealConnections(ctx context.Context, tx pgx.Tx) (int, error) {
	rows, err := tx.Query(ctx, `SELECT tenant_id, role, provider, config, secret FROM connections FOR UPDATE`)
	if err != nil {
		return 0, err
	}
	type row struct {
		tenant, role, provider string
		config, sealed         []byte
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.tenant, &x.role, &x.provider, &x.config, &x.sealed)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range all {
		if !s.box.NeedsReseal(x.sealed) {
			continue
		}
		from, err := openContext(x.sealed, x.tenant, x.role, x.provider, x.config)
		if err != nil {
			return n, err
		}
		pt, err := s.box.Open(x.sealed, from)
		if err != nil {
			return n, fmt.Errorf("open %s/%s: %w", x.tenant, x.role, err)
		}
		to, err := connectionContext(x.tenant, x.role, x.provider, x.config)
		if err != nil {
			return n, err
		}
		sealed, err := s.box.Seal(pt, to)
		if err != nil {
			return n, err
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET secret = $3 WHERE tenant_id = $1 AND role = $2`, x.tenant, x.role, sealed); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Resealed counts what ResealSecrets changed.
type Resealed struct {
	Connections int `json:"connections"`
	Webhooks    int `json:"webhooks"`
}

// ResealSecrets brings every sealed value to the primary key and the current format in one
// transaction: connection secrets (ResealConnections) and webhook URLs, including those
// still kept plain in the settings of tenants saved before webhooks were sealed. It is what
// `meterbridge secrets rotate` runs.
func (s *Store) ResealSecrets(ctx context.Context) (Resealed, error) {
	var r Resealed
	if s.box == nil {
		return r, errors.New("store opened without a secret key")
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if r.Connections, err = s.resealConnections(ctx, tx); err != nil {
			return err
		}
		r.Webhooks, err = s.resealWebhooks(ctx, tx)
		return err
	})
	return r, err
}

// UnsealedCount counts values that still need `meterbridge secrets rotate` to be bound to
// where they go: connection secrets in the owner-only format and webhook URLs kept plain.
// It needs no key, so a process can warn at start.
func (s *Store) UnsealedCount(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM connections WHERE get_byte(secret, 0) < $1) +
		(SELECT count(*) FROM tenants WHERE COALESCE(settings->'notify'->>'webhook_url', '') <> '')`,
		secrets.FormatDestination).Scan(&n)
	return n, err
}
