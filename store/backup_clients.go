package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// BackupClientSetting is what a tenant chose for one backup client: whether it is published,
// and a Managed ID typed in meterbridge instead of the one the backup service reports.
type BackupClientSetting struct {
	ClientID string `json:"client_id"`
	Excluded bool   `json:"excluded"`
	// ManagedID is the typed Managed ID; "" uses the reported one.
	ManagedID string `json:"managed_id,omitempty"`
	// CompanyID and CompanyName are the ConnectWise company the typed Managed ID named when
	// it was checked.
	CompanyID   int64      `json:"company_id,omitempty"`
	CompanyName string     `json:"company_name,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
}

// MaxClientIDLength bounds a backup client ID read from outside (a path, a form).
const MaxClientIDLength = 200

// CheckClientID refuses what no backup service would call a client: empty, too long, or
// holding control characters or slashes (it is part of workflow IDs and paths).
func CheckClientID(id string) error {
	switch {
	case id == "":
		return errors.New("is empty")
	case len(id) > MaxClientIDLength:
		return fmt.Errorf("is longer than %d characters", MaxClientIDLength)
	case strings.ContainsAny(id, "/\\"):
		return errors.New("must not contain slashes")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return errors.New("must not contain control characters")
		}
	}
	return nil
}

// BackupClientSettings returns every client setting of a tenant by client ID.
func (s *Store) BackupClientSettings(ctx context.Context, tenantID string) (map[string]BackupClientSetting, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+backupClientColumns+` FROM backup_clients WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BackupClientSetting, error) { return scanBackupClient(r) })
	if err != nil {
		return nil, err
	}
	out := make(map[string]BackupClientSetting, len(list))
	for _, b := range list {
		out[b.ClientID] = b
	}
	return out, nil
}

// BackupClientSettingOf returns one client's setting; found is false when the tenant never
// set one (the client is published with its reported Managed ID).
func (s *Store) BackupClientSettingOf(ctx context.Context, tenantID, clientID string) (BackupClientSetting, bool, error) {
	b, err := scanBackupClient(s.pool.QueryRow(ctx, `SELECT `+backupClientColumns+` FROM backup_clients WHERE tenant_id = $1 AND client_id = $2`,
		tenantID, clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return BackupClientSetting{ClientID: clientID}, false, nil
	}
	return b, err == nil, err
}

const backupClientColumns = `client_id, excluded, COALESCE(managed_id, ''), COALESCE(company_id, 0), company_name, updated_at, updated_by`

func scanBackupClient(row pgx.Row) (BackupClientSetting, error) {
	var b BackupClientSetting
	var at time.Time
	err := row.Scan(&b.ClientID, &b.Excluded, &b.ManagedID, &b.CompanyID, &b.CompanyName, &at, &b.UpdatedBy)
	if err == nil {
		b.UpdatedAt = &at
	}
	return b, err
}

// BackupClientChange changes what a tenant chose for one client. Nil fields stay as they are.
type BackupClientChange struct {
	TenantID string
	ClientID string
	// ClientName is how the client is called in the site history.
	ClientName string
	Included   *bool
	// ManagedID sets the typed Managed ID; "" clears it (the reported one is used again).
	// A typed one must have been checked against the PSA: CompanyID and CompanyName are
	// what the check found.
	ManagedID   *string
	CompanyID   int64
	CompanyName string
	Actor       string
	// Details are added to the site-history row (the request ID).
	Details map[string]any
}

// SaveBackupClient applies a change and writes its site-history row in the same
// transaction. It returns the setting before (zero when there was none) and after.
func (s *Store) SaveBackupClient(ctx context.Context, ch BackupClientChange) (before, after BackupClientSetting, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := scanBackupClient(tx.QueryRow(ctx, `SELECT `+backupClientColumns+` FROM backup_clients
			WHERE tenant_id = $1 AND client_id = $2 FOR UPDATE`, ch.TenantID, ch.ClientID))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			cur = BackupClientSetting{ClientID: ch.ClientID}
		case err != nil:
			return err
		}
		before = cur
		next := cur
		var changed []string
		if ch.Included != nil && *ch.Included == cur.Excluded {
			next.Excluded = !*ch.Included
			if next.Excluded {
				changed = append(changed, "excluded from publishing")
			} else {
				changed = append(changed, "included in publishing again")
			}
		}
		if ch.ManagedID != nil && *ch.ManagedID != cur.ManagedID {
			next.ManagedID = *ch.ManagedID
			next.CompanyID, next.CompanyName = ch.CompanyID, ch.CompanyName
			switch {
			case next.ManagedID == "":
				next.CompanyID, next.CompanyName = 0, ""
				changed = append(changed, fmt.Sprintf("typed Managed ID %q removed: the one the backup service reports is used", cur.ManagedID))
			case cur.ManagedID == "":
				changed = append(changed, fmt.Sprintf("Managed ID %q typed (%s)", next.ManagedID, next.CompanyName))
			default:
				changed = append(changed, fmt.Sprintf("Managed ID corrected from %q to %q (%s)", cur.ManagedID, next.ManagedID, next.CompanyName))
			}
		}
		if len(changed) == 0 {
			after = cur
			return nil
		}
		var managed *string
		if next.ManagedID != "" {
			managed = &next.ManagedID
		}
		var company *int64
		if next.CompanyID != 0 {
			company = &next.CompanyID
		}
		after, err = scanBackupClient(tx.QueryRow(ctx, `
			INSERT INTO backup_clients (tenant_id, client_id, excluded, managed_id, company_id, company_name, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
			ON CONFLICT (tenant_id, client_id) DO UPDATE SET excluded = EXCLUDED.excluded, managed_id = EXCLUDED.managed_id,
				company_id = EXCLUDED.company_id, company_name = EXCLUDED.company_name, updated_at = now(), updated_by = EXCLUDED.updated_by
			RETURNING `+backupClientColumns, ch.TenantID, ch.ClientID, next.Excluded, managed, company, next.CompanyName, ch.Actor))
		if err != nil {
			return err
		}
		name := ch.ClientName
		if name == "" {
			name = ch.ClientID
		}
		details := map[string]any{"client_id": ch.ClientID, "excluded": after.Excluded, "managed_id": after.ManagedID}
		for k, v := range ch.Details {
			details[k] = v
		}
		return insertNote(ctx, tx, Note{TenantID: ch.TenantID, Severity: SeverityInfo, Actor: ch.Actor, Action: "backup_client.saved",
			Message: fmt.Sprintf("backup client %s: %s by %s", name, strings.Join(changed, "; "), ch.Actor), Details: details})
	})
	if isForeignKeyViolation(err) {
		return before, after, fmt.Errorf("tenant %q: %w", ch.TenantID, ErrNotFound)
	}
	return before, after, err
}

// ClientPlan is how a publish treats one backup client: the state its item starts in when
// it is not published (Unmapped, Excluded; "" when it is published), the Managed ID used in
// basic mode, and why it is not published.
type ClientPlan struct {
	Skip      billing.ItemState
	ManagedID string
	Reason    string
}

// PlanClient applies the tenant's choices to one client the backup service reports: an
// excluded client is not published; in basic mode the typed Managed ID wins over the
// reported one, and a client without either is unmapped; in advanced mode a client without
// a mapping is unmapped. The refresh and the clients list both ask this, so the list says
// what the next publish does.
func PlanClient(mode string, setting BackupClientSetting, reportedManagedID string, mapped bool) ClientPlan {
	if setting.Excluded {
		by := ""
		if setting.UpdatedBy != "" {
			by = " by " + setting.UpdatedBy
		}
		return ClientPlan{Skip: billing.Excluded, Reason: "not published: excluded from publishing" + by}
	}
	if mode == tenant.ModeBasic {
		id := setting.ManagedID
		if id == "" {
			id = strings.TrimSpace(reportedManagedID)
		}
		if id == "" {
			return ClientPlan{Skip: billing.Unmapped,
				Reason: "not published: unmapped — the backup service reports no Managed ID for this client; type one under Clients"}
		}
		return ClientPlan{ManagedID: id}
	}
	if !mapped {
		return ClientPlan{Skip: billing.Unmapped, Reason: "not published: unmapped — map this client to an agreement addition first"}
	}
	return ClientPlan{}
}
