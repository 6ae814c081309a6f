package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

func sealContext(tenantID, role string) string { return "tenant/" + tenantID + "/" + role }

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
	sealed, err := s.box.Seal(c.Secret, sealContext(c.TenantID, c.Role))
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
	secret, err := s.box.Open(sealed, sealContext(tenantID, role))
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

// ResealConnections re-encrypts every stored secret sealed with a key other than the primary
// one (key rotation) and returns how many it changed.
func (s *Store) ResealConnections(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, errors.New("store opened without a secret key")
	}
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, role, secret FROM connections FOR UPDATE`)
		if err != nil {
			return err
		}
		type row struct {
			tenant, role string
			sealed       []byte
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.tenant, &x.role, &x.sealed)
		})
		if err != nil {
			return err
		}
		for _, x := range all {
			if !s.box.NeedsReseal(x.sealed) {
				continue
			}
			ctxName := sealContext(x.tenant, x.role)
			pt, err := s.box.Open(x.sealed, ctxName)
			if err != nil {
				return fmt.Errorf("open %s/%s: %w", x.tenant, x.role, err)
			}
			sealed, err := s.box.Seal(pt, ctxName)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE connections SET secret = $3 WHERE tenant_id = $1 AND role = $2`, x.tenant, x.role, sealed); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
