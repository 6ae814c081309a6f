package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// Dashboard is a tenant's figures at a glance. The definitions:
//   - Pending: items waiting for a person in the tenant's open cycles (what GET /pending lists).
//   - Unmapped: vendor account items (latest reading of each account and item) without a
//     mapping. Backup items do not count while the tenant publishes in basic mode, which
//     finds companies by Managed ID instead of mappings.
//   - Errors: mappings whose last use failed, plus the failed items of the newest cycle of
//     each kind (usage publish, licence sync; "already published" duplicates skipped).
//   - LastRefresh: the newest cycle of either kind (duplicates skipped): every cycle starts
//     by refreshing the vendor's figures, so its start time is when they were last pulled;
//     its status shows whether that refresh failed.
//   - LastSync: the newest cycle of either kind that finished completed, partial or failed,
//     at its finish time (when its push ended), with its counts: updated = applied,
//     already up to date = unchanged, errors = failed.
//   - Alerts: failing credentials (the last test of a stored connection failed, or the
//     newest finished cycle of a kind failed on credentials that have not changed since),
//     unmapped account items, mappings in error, pending updates older than the approval
//     deadline (counted from their cycle's start), and a failed newest cycle of a kind.
type Dashboard struct {
	Pending        int            `json:"pending"`
	Unmapped       int            `json:"unmapped"`
	Errors         int            `json:"errors"`
	ErrorBreakdown ErrorBreakdown `json:"error_breakdown"`
	LastRefreshAt  *time.Time     `json:"last_refresh_at"`
	LastRefresh    *CycleRef      `json:"last_refresh"`
	LastSyncAt     *time.Time     `json:"last_sync_at"`
	LastSync       *SyncStats     `json:"last_sync"`
	Alerts         []string       `json:"alerts"`
}

// ErrorBreakdown splits Dashboard.Errors.
type ErrorBreakdown struct {
	Mappings    int `json:"mappings"`
	FailedItems int `json:"failed_items"`
}

// CycleRef names a cycle on the dashboard.
type CycleRef struct {
	CycleID string         `json:"cycle_id"`
	Kind    billing.Kind   `json:"kind"`
	Period  billing.Period `json:"period"`
	Status  billing.Status `json:"status"`
	At      time.Time      `json:"at"`
}

// SyncStats is the last sync and what it did.
type SyncStats struct {
	CycleRef
	Updated         int `json:"updated"`
	AlreadyUpToDate int `json:"already_up_to_date"`
	Errors          int `json:"errors"`
}

// GetDashboard computes a tenant's dashboard from one consistent snapshot.
func (s *Store) GetDashboard(ctx context.Context, tenantID string) (Dashboard, error) {
	d := Dashboard{Alerts: []string{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		t, err := s.scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tenantID))
		if err != nil {
			return err
		}
		var now time.Time
		var overdue [2]int // usage publishes, licence syncs
		if err := tx.QueryRow(ctx, `
			SELECT now(), count(*),
				count(*) FILTER (WHERE c.kind <> 'licence_sync' AND $2 > 0 AND c.started_at < now() - make_interval(hours => $2)),
				count(*) FILTER (WHERE c.kind = 'licence_sync' AND $3 > 0 AND c.started_at < now() - make_interval(hours => $3))
			FROM cycle_items i JOIN cycles c ON c.id = i.cycle_id
			WHERE i.tenant_id = $1 AND i.state = 'pending' AND c.finished_at IS NULL`,
			tenantID, t.Settings.Publish.Approval.DeadlineHours, t.Settings.Licences.Approval.DeadlineHours).Scan(&now, &d.Pending, &overdue[0], &overdue[1]); err != nil {
			return fmt.Errorf("pending: %w", err)
		}
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FROM (SELECT DISTINCT r.source, r.account_id, r.item
				FROM usage_readings r JOIN vendor_accounts a USING (tenant_id, source, account_id)
				WHERE r.tenant_id = $1 AND NOT (r.source = 'backup' AND $2)) x
			WHERE NOT EXISTS (SELECT 1 FROM mappings m
				WHERE m.tenant_id = $1 AND m.source = x.source AND m.account_id = x.account_id AND m.item = x.item)
			  -- A backup client the tenant chose not to publish needs no mapping.
			  AND NOT EXISTS (SELECT 1 FROM backup_clients b
				WHERE b.tenant_id = $1 AND x.source = 'backup' AND b.client_id = x.account_id AND b.excluded)`,
			tenantID, t.Settings.Publish.Mode == tenant.ModeBasic).Scan(&d.Unmapped); err != nil {
			return fmt.Errorf("unmapped: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM mappings WHERE tenant_id = $1 AND status = 'error'`, tenantID).
			Scan(&d.ErrorBreakdown.Mappings); err != nil {
			return fmt.Errorf("mapping errors: %w", err)
		}
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FROM cycle_items WHERE state = 'failed' AND cycle_id IN (
				SELECT DISTINCT ON (kind) id FROM cycles WHERE tenant_id = $1 AND status <> 'already_published'
				ORDER BY kind, started_at DESC, id)`, tenantID).Scan(&d.ErrorBreakdown.FailedItems); err != nil {
			return fmt.Errorf("failed items: %w", err)
		}
		d.Errors = d.ErrorBreakdown.Mappings + d.ErrorBreakdown.FailedItems

		refresh, err := queryCycles(ctx, tx, `SELECT `+cycleColumns+` FROM cycles
			WHERE tenant_id = $1 AND status <> 'already_published' ORDER BY started_at DESC, id LIMIT 1`, tenantID)
		if err != nil {
			return fmt.Errorf("last refresh: %w", err)
		}
		if len(refresh) == 1 {
			c := refresh[0]
			d.LastRefresh = &CycleRef{CycleID: c.ID, Kind: c.Kind, Period: c.Period, Status: c.Status, At: c.StartedAt}
			d.LastRefreshAt = &c.StartedAt
		}
		// The newest finished cycle of each kind: the last sync is the newer of them, and each
		// one's failure is an alert.
		finished, err := queryCycles(ctx, tx, `SELECT `+cycleColumns+` FROM (
			SELECT DISTINCT ON (kind) * FROM cycles
			WHERE tenant_id = $1 AND finished_at IS NOT NULL AND status IN ('completed', 'partial', 'failed')
			ORDER BY kind, finished_at DESC, id) c ORDER BY finished_at DESC, id`, tenantID)
		if err != nil {
			return fmt.Errorf("last sync: %w", err)
		}
		if len(finished) > 0 {
			c := finished[0]
			d.LastSync = &SyncStats{CycleRef: CycleRef{CycleID: c.ID, Kind: c.Kind, Period: c.Period, Status: c.Status, At: *c.FinishedAt},
				Updated: c.Counts.Applied, AlreadyUpToDate: c.Counts.Unchanged, Errors: c.Counts.Failed}
			d.LastSyncAt = c.FinishedAt
		}
		rows, err := tx.Query(ctx, `SELECT `+connectionStatusColumns+` FROM connections WHERE tenant_id = $1 ORDER BY role`, tenantID)
		if err != nil {
			return fmt.Errorf("connections: %w", err)
		}
		conns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConnectionStatus, error) { return scanConnectionStatus(r) })
		if err != nil {
			return fmt.Errorf("connections: %w", err)
		}
		d.Alerts = dashboardAlerts(d, t, conns, finished, overdue)
		return nil
	})
	return d, err
}

func queryCycles(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]Cycle, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
}

// credentialsFailure is how a cycle that failed on refused credentials reads (see
// workflows: the cycle's error starts with it).
const credentialsFailure = "credentials need attention"

func dashboardAlerts(d Dashboard, t tenant.Tenant, conns []ConnectionStatus, finished []Cycle, overdue [2]int) []string {
	alerts := []string{}
	var changed time.Time
	for _, c := range conns {
		if c.UpdatedAt.After(changed) {
			changed = c.UpdatedAt
		}
		if c.LastCheck != nil && !c.LastCheck.OK {
			alerts = append(alerts, fmt.Sprintf("Credentials failing: the %s connection test at %s failed: %s",
				connectionWords(c), c.LastCheck.At.UTC().Format(time.RFC3339), c.LastCheck.Message))
		}
	}
	for _, c := range finished {
		if c.Status != billing.Failed {
			continue
		}
		what := fmt.Sprintf("the last %s (%s) failed: %s", kindWords(c.Kind), c.Period, orWords(c.Error, "no reason recorded"))
		if strings.Contains(c.Error, credentialsFailure) && c.FinishedAt.After(changed) {
			alerts = append(alerts, "Credentials failing: "+what)
		} else {
			alerts = append(alerts, strings.ToUpper(what[:1])+what[1:])
		}
	}
	if d.Unmapped > 0 {
		alerts = append(alerts, fmt.Sprintf("%d vendor account item(s) have no mapping", d.Unmapped))
	}
	if d.ErrorBreakdown.Mappings > 0 {
		alerts = append(alerts, fmt.Sprintf("%d mapping(s) failed when last used", d.ErrorBreakdown.Mappings))
	}
	for i, job := range []struct {
		what  string
		hours int
	}{{"usage publishes", t.Settings.Publish.Approval.DeadlineHours}, {"licence syncs", t.Settings.Licences.Approval.DeadlineHours}} {
		if overdue[i] > 0 {
			alerts = append(alerts, fmt.Sprintf("%d pending update(s) of %s have waited longer than the %d-hour approval deadline",
				overdue[i], job.what, job.hours))
		}
	}
	return alerts
}

func connectionWords(c ConnectionStatus) string {
	if c.Role == RolePSA {
		return "PSA (" + c.Provider + ")"
	}
	return c.Role
}

func kindWords(k billing.Kind) string {
	switch k {
	case billing.UsagePublish:
		return "usage publish"
	case billing.LicenceSync:
		return "licence sync"
	}
	return string(k)
}

func orWords(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
