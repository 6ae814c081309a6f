package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// Approval became per job. An upgrade keeps every existing tenant's choice for both jobs —
// one that explicitly asked for manual approval keeps it for its usage publishes too, and
// so does one left on the old default — and basic mode keeps the configuration type it
// wrote to, without questions. Tenants created afterwards get the new defaults.
func TestExistingTenantsKeepTheirApprovalForBothJobs(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	require.NoError(t, store.MigrateDownTo(ctx, url, 89))
	s, err := store.Open(ctx, url, nil)
	require.NoError(t, err)
	defer s.Close()
	// Settings as the release before wrote them: one approval for both jobs, and the
	// configuration type on the PSA connection.
	legacy := func(id, approval string) {
		_, err := s.Pool().Exec(ctx, `INSERT INTO tenants (id, name, time_zone, settings) VALUES ($1, $1, 'UTC', $2)`, id,
			`{"publish": {"mode": "basic", "schedule": {"enabled": false, "cadence": "monthly", "day": "1", "hour": 6}},
			  "licences": {"refresh": {"enabled": false, "cadence": "daily", "hour": 5}, "sync": {"enabled": false, "cadence": "daily", "hour": 7}, "rounding": "up"},
			  "approval": `+approval+`, "notify": {"emails": []}}`)
		require.NoError(t, err)
	}
	legacy("chose-manual", `{"mode": "manual", "max_units": "0", "max_percent": "0", "reminder_hours": 12, "deadline_hours": 0, "deadline_action": "hold_and_alert"}`)
	legacy("chose-rule", `{"mode": "rule", "max_units": "5", "max_percent": "10", "reminder_hours": 0, "deadline_hours": 48, "deadline_action": "apply_rule_skip_rest"}`)
	_, err = s.Pool().Exec(ctx, `INSERT INTO connections (tenant_id, role, provider, config, secret) VALUES
		('chose-rule', 'psa', 'connectwise', '{"site_url": "https://cw.example", "backup_config_type": "Vault Stats"}', '\x00'),
		('chose-manual', 'psa', 'connectwise', '{"site_url": "https://cw.example"}', '\x00')`)
	require.NoError(t, err)

	require.NoError(t, store.Migrate(ctx, url, nil))
	manual, err := s.GetTenant(ctx, "chose-manual")
	require.NoError(t, err)
	for _, a := range []tenant.ApprovalSettings{manual.Settings.Publish.Approval, manual.Settings.Licences.Approval} {
		require.Equal(t, tenant.ApproveManual, a.Mode)
		require.Equal(t, 12, a.ReminderHours)
	}
	require.Equal(t, tenant.BackupStatsSettings{ConfigurationType: "Backup"}, manual.Settings.Publish.BackupStats,
		"the type basic mode wrote to before, and no questions")
	rule, err := s.GetTenant(ctx, "chose-rule")
	require.NoError(t, err)
	for _, a := range []tenant.ApprovalSettings{rule.Settings.Publish.Approval, rule.Settings.Licences.Approval} {
		require.Equal(t, tenant.ApproveRule, a.Mode)
		require.Equal(t, "5", a.MaxUnits.String())
		require.Equal(t, 48, a.DeadlineHours)
		require.Equal(t, tenant.DeadlineApplyRule, a.DeadlineAction)
	}
	require.Equal(t, "Vault Stats", rule.Settings.Publish.BackupStats.ConfigurationType, "the connection's type moved to the settings")
	var kept string
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT config->>'backup_config_type' FROM connections WHERE tenant_id = 'chose-rule'`).Scan(&kept))
	require.Equal(t, "Vault Stats", kept, "the connection's fields stay as stored: its sealed secret is bound to them")
	require.NoError(t, manual.Settings.Validate())
	require.NoError(t, rule.Settings.Validate())

	// A document an older process writes during a rolling upgrade (one approval again) is
	// read as that approval for both jobs, never as the new hands-off default.
	_, err = s.Pool().Exec(ctx, `UPDATE tenants SET settings = (settings #- '{publish,approval}' #- '{licences,approval}')
		|| '{"approval": {"mode": "manual", "max_units": "0", "max_percent": "0"}}' WHERE id = 'chose-rule'`)
	require.NoError(t, err)
	rule, err = s.GetTenant(ctx, "chose-rule")
	require.NoError(t, err)
	require.Equal(t, tenant.ApproveManual, rule.Settings.Publish.Approval.Mode)
	require.Equal(t, tenant.ApproveManual, rule.Settings.Licences.Approval.Mode)

	// New tenants get the new defaults.
	fresh, err := s.CreateTenant(ctx, tenant.Tenant{ID: "fresh", Name: "Fresh", TimeZone: "UTC", Settings: tenant.Defaults()})
	require.NoError(t, err)
	require.Equal(t, tenant.ApproveAutomatic, fresh.Settings.Publish.Approval.Mode)
	require.Equal(t, tenant.ApproveManual, fresh.Settings.Licences.Approval.Mode)
	require.Equal(t, tenant.DefaultBackupStats(), fresh.Settings.Publish.BackupStats)
}
