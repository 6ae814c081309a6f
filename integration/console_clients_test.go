package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	bkemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/tenant"
)

// A billing admin, in the console: sets each job's approval under Settings, switches the
// publish to basic mode (the Backup Stats names show with the usage product's defaults),
// then on the Publish page excludes a client, types a new client's Managed ID (a wrong one is
// refused next to its field), publishes that one client alone, and publishes the month: the
// excluded client reads "not published: excluded".
func TestConsolePublishPageChoosesClientsTypesAManagedIDAndPublishesOneClient(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	s.world.ConnectWise.SeedCompany(cwemu.Company{ID: 290, Identifier: "HOOLI-9", Name: "Hooli"})
	s.world.Backup.AddClient(bkemu.ClientRecord{ID: "cl_2004", Name: "Hooli", MonthlyGB: decimal.RequireFromString("64")})
	fabrikam := demo.BackupClients()[2]
	tp := "/tenants/" + s.tenantID
	b := newBrowser(t, s)
	b.signIn(s.adminToken)

	// Each job's approval, in Settings.
	b.open(tp + "/settings#approval")
	require.Equal(t, "manual", value(b, chromedp.Evaluate[string](`document.querySelector('input[name="publish.approval.mode"]:checked').value`)),
		"the demo asks a person to approve its publishes")
	b.run(chromedp.Click(chromedp.CSS(`input[name="publish.approval.mode"][value=automatic]`)))
	b.screenshot("settings-approval")
	b.submit(`form[action$="/settings/approval"] button[type=submit]`)
	require.Contains(t, b.text(".flash-ok"), "Approval settings saved")
	got, err := s.store.GetTenant(ctx, s.tenantID)
	require.NoError(t, err)
	require.Equal(t, tenant.ApproveAutomatic, got.Settings.Publish.Approval.Mode)
	require.Equal(t, tenant.ApproveManual, got.Settings.Licences.Approval.Mode)
	b.open(tp)
	require.Contains(t, b.text("main"), "Usage publishes: automatic")
	require.Contains(t, b.text("main"), "Licence syncs: manual")

	// Basic mode; the Backup Stats names are the usage product's.
	b.open(tp + "/publish")
	require.Equal(t, tenant.DefaultBackupConfigurationType, value(b, chromedp.Evaluate[string](`document.querySelector("#f-publish-backup_stats-configuration_type").value`)))
	require.Equal(t, tenant.DefaultBillableSpaceQuestion, value(b, chromedp.Evaluate[string](`document.querySelector("#f-publish-backup_stats-billable_space_question").value`)))
	b.run(chromedp.Click(chromedp.CSS(`input[name="publish.mode"][value=basic]`)))
	b.submit(`form[action$="/publish/settings"] button[type=submit]`)
	require.Contains(t, b.text(".flash-ok"), "Publish settings saved")

	// The clients: Hooli has no Managed ID yet.
	b.open(tp + "/publish#clients")
	b.screenshot("publish-clients")
	rowText := func(id string) string {
		return value(b, chromedp.Evaluate[string](`document.querySelector('#clients-table tr[data-client="`+id+`"]').innerText`))
	}
	require.Contains(t, rowText("cl_2004"), "not published: unmapped")
	require.Contains(t, rowText(fabrikam.ClientID), "published")

	// Exclude Fabrikam.
	b.submit(`tr[data-client="` + fabrikam.ClientID + `"] form input[name=included][value=false] ~ button`)
	require.Contains(t, b.text(".flash-ok"), fabrikam.Name+" is excluded")
	require.Contains(t, rowText(fabrikam.ClientID), "excluded")
	require.Contains(t, rowText(fabrikam.ClientID), "admin@demo-msp.example")

	// A wrong Managed ID is refused next to its field, and keeps what was typed.
	input := `#f-clients-cl_2004-managed_id`
	b.run(chromedp.SetValue(chromedp.CSS(input), "HOOLI-404"))
	b.submit(`tr[data-client="cl_2004"] form button[type=submit]`)
	require.Equal(t, http.StatusUnprocessableEntity, b.status())
	require.Contains(t, b.text(input+"-error"), "HOOLI-404")
	require.Equal(t, "HOOLI-404", value(b, chromedp.Evaluate[string](`document.querySelector("`+input+`").value`)))
	b.screenshot("publish-client-refused")
	b.run(chromedp.SetValue(chromedp.CSS(input), "hooli-9"))
	b.submit(`tr[data-client="cl_2004"] form button[type=submit]`)
	require.Contains(t, b.text(".flash-ok"), "Managed ID HOOLI-9 (Hooli)")
	require.Contains(t, rowText("cl_2004"), "typed in meterbridge")

	// Publish Hooli alone.
	b.submit(`tr[data-client="cl_2004"] form[action$="/clients/cl_2004/publish"] button`)
	require.Contains(t, b.text(".flash-ok"), "Publish of client cl_2004")
	require.Contains(t, b.location(), "/cycles/")
	// The page answers once the worker has recorded the cycle (it may take a moment).
	b.waitFor(b.location(), "the cycle's page", func() bool { return strings.Contains(b.text("main"), "cl_2004 only") })
	cycles, err := s.store.ListCycles(ctx, s.tenantID, 1)
	require.NoError(t, err)
	one := s.waitCycle(cycles[0].ID, 60*time.Second)
	require.Equal(t, billing.Completed, one.Status, one.Error)
	require.Equal(t, billing.Counts{Total: 1, Applied: 1}, one.Counts)

	// The month: Fabrikam reads as excluded, not failed.
	b.open(tp + "/publish")
	b.submit(`form[action$="/tenants/` + s.tenantID + `/publish"] button[type=submit]`)
	cycles, err = s.store.ListCycles(ctx, s.tenantID, 1)
	require.NoError(t, err)
	month := s.waitCycle(cycles[0].ID, 60*time.Second)
	require.Equal(t, billing.Completed, month.Status, month.Error)
	require.Equal(t, 1, month.Counts.Excluded)
	b.open(tp + "/cycles/" + month.ID)
	require.Contains(t, b.text("main"), "1 excluded")
	require.Contains(t, b.text("main table"), "not published: excluded")
	b.screenshot("cycle-excluded")
}
