package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	bkemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// clientAnswer is one backup client of GET …/clients.
type clientAnswer struct {
	ClientID          string           `json:"client_id"`
	Name              string           `json:"name"`
	Reported          bool             `json:"reported"`
	BillableGB        *decimal.Decimal `json:"billable_gb"`
	ReportedManagedID string           `json:"reported_managed_id"`
	TypedManagedID    string           `json:"typed_managed_id"`
	ManagedID         string           `json:"managed_id"`
	CompanyName       string           `json:"company_name"`
	Included          bool             `json:"included"`
	MappingID         string           `json:"mapping_id"`
	Publish           string           `json:"publish"`
	Reason            string           `json:"reason"`
	UpdatedBy         string           `json:"updated_by"`
}

type clientsAnswer struct {
	Period  billing.Period `json:"period"`
	Mode    string         `json:"mode"`
	Clients []clientAnswer `json:"clients"`
	Counts  struct {
		Publish, Unmapped, Excluded int
	} `json:"counts"`
}

func (s *stack) clients() clientsAnswer {
	s.t.Helper()
	var out clientsAnswer
	var e errorAnswer
	code := s.call("GET", s.tp+"/clients", s.viewerToken, nil, &out)
	if code != http.StatusOK {
		s.call("GET", s.tp+"/clients", s.viewerToken, nil, &e)
	}
	require.Equal(s.t, http.StatusOK, code, "GET clients: %+v", e)
	return out
}

func (l clientsAnswer) client(t *testing.T, id string) clientAnswer {
	t.Helper()
	for _, c := range l.Clients {
		if c.ClientID == id {
			return c
		}
	}
	t.Fatalf("client %s not listed in %+v", id, l.Clients)
	return clientAnswer{}
}

// patchClient changes one client's choice as the admin and returns the status and answer.
func (s *stack) patchClient(id, body string) (int, clientAnswer, errorAnswer) {
	s.t.Helper()
	var ok struct {
		Client clientAnswer `json:"client"`
	}
	var e errorAnswer
	code := s.call("PATCH", s.tp+"/clients/"+id, s.adminToken, body, &ok)
	if code != http.StatusOK {
		s.call("PATCH", s.tp+"/clients/"+id, s.adminToken, body, &e)
	}
	return code, ok.Client, e
}

func itemOf(t *testing.T, items []store.Item, accountID string) store.Item {
	t.Helper()
	for _, it := range items {
		if it.AccountID == accountID {
			return it
		}
	}
	t.Fatalf("no item of %s", accountID)
	return store.Item{}
}

// Users choose which backup clients are published. The clients list reads the backup
// service; excluding one is a choice recorded with who made it; a publish then reports the
// excluded client as "excluded" and a client without a mapping as "not published: unmapped"
// — the cycle is completed, not partial, its e-mail is no failure, and ConnectWise's
// addition of the excluded client is left as it was.
func TestUsersChooseWhichBackupClientsArePublished(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	// A client added in the backup console, not mapped to any addition yet.
	s.world.Backup.AddClient(bkemu.ClientRecord{ID: "cl_2001", Name: "Newco Ltd", ManagedID: "NEWCO-1", MonthlyGB: decimal.RequireFromString("42.5")})
	fabrikam := demo.BackupClients()[2]

	list := s.clients()
	require.Equal(t, tenant.ModeAdvanced, list.Mode)
	require.Len(t, list.Clients, 4)
	for _, c := range demo.BackupClients() {
		got := list.client(t, c.ClientID)
		require.True(t, got.Included)
		require.True(t, got.Reported)
		require.Equal(t, "publish", got.Publish, got.Reason)
		require.Equal(t, "backup-"+c.ClientID, got.MappingID)
		require.True(t, got.BillableGB.Equal(c.UsageGB))
	}
	newco := list.client(t, "cl_2001")
	require.Equal(t, "unmapped", newco.Publish)
	require.Contains(t, newco.Reason, "not published: unmapped")
	require.Equal(t, 3, list.Counts.Publish)
	require.Equal(t, 1, list.Counts.Unmapped)

	// Bad input changes nothing.
	for _, tc := range []struct {
		id, body string
		status   int
		field    string
	}{
		{fabrikam.ClientID, `{"included": "no"}`, http.StatusBadRequest, ""},
		{fabrikam.ClientID, `{"included": false, "colour": "red"}`, http.StatusBadRequest, "colour"},
		{fabrikam.ClientID, `{}`, http.StatusUnprocessableEntity, ""},
		{"cl_nobody", `{"included": false}`, http.StatusNotFound, ""},
	} {
		code, _, e := s.patchClient(tc.id, tc.body)
		require.Equal(t, tc.status, code, "%s %s: %+v", tc.id, tc.body, e)
		if tc.field != "" {
			require.Equal(t, tc.field, e.Error.Field)
		}
	}
	require.True(t, s.clients().client(t, fabrikam.ClientID).Included, "refused changes change nothing")

	code, got, e := s.patchClient(fabrikam.ClientID, `{"included": false}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.False(t, got.Included)
	require.Equal(t, "excluded", got.Publish)
	require.Equal(t, "admin@demo-msp.example", got.UpdatedBy)
	require.Contains(t, s.historyActions(), "backup_client.saved")

	id := s.publish(nil)
	c := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, "clients left out on purpose are no failure: %s", c.Error)
	require.Equal(t, 2, c.Counts.Applied)
	require.Equal(t, 1, c.Counts.Excluded)
	require.Equal(t, 1, c.Counts.Unmapped)
	require.Zero(t, c.Counts.Failed)
	items := s.items(id)
	ex := itemOf(t, items, fabrikam.ClientID)
	require.Equal(t, billing.Excluded, ex.State)
	require.Contains(t, ex.Reason, "excluded")
	un := itemOf(t, items, "cl_2001")
	require.Equal(t, billing.Unmapped, un.State)
	require.Contains(t, un.Reason, "not published: unmapped")
	a, ok := s.world.ConnectWise.Addition(fabrikam.Target.AgreementID, fabrikam.Target.AdditionID)
	require.True(t, ok)
	require.True(t, a.Quantity.Equal(fabrikam.BilledGB), "the excluded client's addition is untouched: %s", a.Quantity)
	require.Zero(t, a.Writes)

	// The dashboard counts the unmapped client, not the excluded one.
	var d store.Dashboard
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d))
	require.Equal(t, 1, d.Unmapped)
	require.Zero(t, d.Errors, "clients left out on purpose are no errors")

	msgs, err := s.mail.WaitFor(context.Background(), 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Subject, "completed")
	require.NotContains(t, msgs[0].Subject, "partly")
	require.NotContains(t, msgs[0].Text, "Failed clients")
	require.Contains(t, msgs[0].Text, "Not published")
	require.Contains(t, msgs[0].Text, "Newco Ltd: not published: unmapped")
	require.Contains(t, msgs[0].Text, fabrikam.Name+": not published: excluded")

	// Included again, it is published by the next publish.
	code, got, e = s.patchClient(fabrikam.ClientID, `{"included": true}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, "publish", got.Publish)
	c = s.waitCycle(s.publish(nil), 60*time.Second)
	require.Equal(t, billing.Completed, c.Status)
	require.Equal(t, 1, c.Counts.Applied, "only the client included again had anything to write")
	a, _ = s.world.ConnectWise.Addition(fabrikam.Target.AgreementID, fabrikam.Target.AdditionID)
	require.True(t, a.Quantity.Equal(fabrikam.UsageGB))

	// Excluding the unmapped client takes it off the dashboard's unmapped count.
	code, _, e = s.patchClient("cl_2001", `{"included": false}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d))
	require.Zero(t, d.Unmapped)
}

// backupStatsRecord reads a company's configuration of a type: its name and its answers by
// question.
func (s *stack) backupStatsRecord(companyID, typeID int64) (map[string]string, bool) {
	s.t.Helper()
	for _, doc := range s.world.ConnectWise.Documents(cwemu.Configurations) {
		company, _ := doc["company"].(map[string]any)
		typ, _ := doc["type"].(map[string]any)
		if fmt.Sprint(company["id"]) != fmt.Sprint(companyID) || fmt.Sprint(typ["id"]) != fmt.Sprint(typeID) {
			continue
		}
		out := map[string]string{}
		qs, _ := doc["questions"].([]any)
		for _, q := range qs {
			m, _ := q.(map[string]any)
			if a, ok := m["answer"]; ok {
				out[fmt.Sprint(m["question"])] = fmt.Sprint(a)
			}
		}
		return out, true
	}
	return nil, false
}

// In basic mode a person types (or corrects) a client's Managed ID. It is checked against
// ConnectWise when saved: one that names no company is refused (422 naming managed_id) and
// changes nothing; a good one is used by the next publish instead of the reported one.
// Removing it goes back to the reported one.
func TestManagedIDsTypedInMeterbridgeAreCheckedAgainstConnectWiseAndUsed(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"mode": "basic", "approval": {"mode": "automatic"}}}}`)
	s.world.ConnectWise.SeedCompany(cwemu.Company{ID: 270, Identifier: "TYPO-1", Name: "Typo Ltd"})
	// The backup console has no Managed ID for this client.
	s.world.Backup.AddClient(bkemu.ClientRecord{ID: "cl_2002", Name: "Typo Ltd", MonthlyGB: decimal.RequireFromString("7.25")})

	typo := s.clients().client(t, "cl_2002")
	require.Equal(t, "unmapped", typo.Publish)
	require.Contains(t, typo.Reason, "no Managed ID")

	for _, body := range []string{`{"managed_id": "NOPE-404"}`, `{"managed_id": "` + strings.Repeat("X", 31) + `"}`} {
		code, _, e := s.patchClient("cl_2002", body)
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %+v", body, e)
		require.Equal(t, "managed_id", e.Error.Field)
	}
	code, _, e := s.patchClient("cl_2002", `{"managed_id": "NOPE-404"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, e.Error.Message, "NOPE-404")
	require.Empty(t, s.clients().client(t, "cl_2002").TypedManagedID, "a refused Managed ID is not stored")

	code, got, e := s.patchClient("cl_2002", `{"managed_id": "typo-1"}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, "TYPO-1", got.ManagedID, "stored as ConnectWise spells it")
	require.Equal(t, "Typo Ltd", got.CompanyName)
	require.Equal(t, "publish", got.Publish)

	// Contoso's Managed ID in the backup console is wrong for this test's purpose: correct it
	// to Fabrikam's company, and back.
	code, got, _ = s.patchClient("cl_1002", `{"managed_id": "Fabrikam"}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "Fabrikam", got.ManagedID)
	code, got, _ = s.patchClient("cl_1002", `{"managed_id": null}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "Contoso", got.ManagedID, "back to the reported Managed ID")
	require.Empty(t, got.TypedManagedID)

	id := s.publish(nil)
	c := s.waitCycle(id, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 4, c.Counts.Applied)
	it := itemOf(t, s.items(id), "cl_2002")
	require.Equal(t, "TYPO-1", it.Target.ManagedID)
	year, month := c.Period.YearMonth()
	rec, ok := s.backupStatsRecord(270, cwemu.ConfigTypeBackupStats)
	require.True(t, ok, "Typo Ltd's Backup Stats record was created")
	require.Equal(t, map[string]string{"Billable Space": "7.25", "Year": fmt.Sprint(year), "Month": fmt.Sprint(int(month))}, rec)
}

// Publish now of one client added mid-month publishes that client only, under its own
// workflow ID. It takes no claim and does not stand for the month: while it still waits
// for approval a schedule change says the month will publish, the month's scheduled run
// starts beside it and claims the period, and that run publishes every client.
func TestPublishingOneNewClientLeavesTheOthersAndTheMonthlyRun(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	london, _ := time.LoadLocation("Europe/London")
	s.starter.Now = func() time.Time { return time.Date(2026, 10, 20, 12, 0, 0, 0, london) }
	s.patchSettings(`{"settings": {"publish": {"mode": "basic", "approval": {"mode": "manual"}}}}`)
	s.world.ConnectWise.SeedCompany(cwemu.Company{ID: 280, Identifier: "Newco", Name: "Newco Ltd"})
	s.world.Backup.AddClient(bkemu.ClientRecord{ID: "cl_2003", Name: "Newco Ltd", ManagedID: "Newco", MonthlyGB: decimal.RequireFromString("42.5")})

	// Refused: a client the backup service does not report, an excluded one, a licence sync.
	for _, tc := range []struct{ body, field string }{
		{`{"client_id": "cl_nobody"}`, "client_id"},
		{`{"client_id": "cl_2003", "kind": "licence_sync"}`, "client_id"},
		{`{"client_id": "bad/id"}`, "client_id"},
	} {
		var e errorAnswer
		require.Equal(t, http.StatusUnprocessableEntity, s.call("POST", s.tp+"/publish", s.approverToken, tc.body, &e), tc.body)
		require.Equal(t, tc.field, e.Error.Field, tc.body)
	}
	cycles, err := s.store.ListCycles(ctx, s.tenantID, 0)
	require.NoError(t, err)
	require.Empty(t, cycles, "refused publishes start nothing")

	var started struct {
		WorkflowID string         `json:"workflow_id"`
		RunID      string         `json:"run_id"`
		Period     billing.Period `json:"period"`
		Clients    []string       `json:"clients"`
	}
	var e errorAnswer
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/publish", s.approverToken, `{"client_id": "cl_2003"}`, &started),
		"%s", s.lastError("POST", s.tp+"/publish", s.approverToken, `{"client_id": "cl_2003"}`, &e))
	require.Equal(t, billing.Period("2026-10"), started.Period)
	require.Equal(t, workflows.ClientPublishID(s.tenantID, "2026-10", "cl_2003"), started.WorkflowID)
	require.Equal(t, []string{"cl_2003"}, started.Clients)
	one := s.waitStatus(started.RunID, billing.AwaitingApproval, 60*time.Second)
	require.Equal(t, []string{"cl_2003"}, one.Clients)
	require.Equal(t, billing.Manual, one.Trigger)
	require.Equal(t, 1, one.Counts.Total, "the other clients are not read")
	require.Equal(t, 1, one.Counts.Pending)

	// The month is not published by it: setting the schedule says it will publish.
	a, code, e := s.patchTenant(`{"settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "25", "hour": 6}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticeWillPublish, a.PublishPeriod.Outcome, a.PublishPeriod.Message)

	// The 25th's run (replayed by a backfill) starts the month's cycle beside the open one.
	run := time.Date(2026, 10, 25, 6, 0, 0, 0, london)
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, run.Add(-time.Minute), run.Add(time.Minute)))
	runs := s.scheduledRuns(1)
	require.Equal(t, workflows.OutcomeStarted, runs[0].Result.Outcome, "%+v", runs[0].Result)
	require.Equal(t, workflows.BillingCycleID(s.tenantID, "2026-10"), runs[0].Result.WorkflowID)
	var month store.Cycle
	eventually(t, 60*time.Second, "the month's cycle to wait for approval", func() bool {
		cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
		for _, c := range cycles {
			if c.Trigger == billing.Automatic && c.Status == billing.AwaitingApproval {
				month = c
				return true
			}
		}
		return false
	})
	require.Empty(t, month.Clients)
	require.Equal(t, 4, month.Counts.Total, "the month's publish reads every client")
	var holder string
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT cycle_id::text FROM period_claims WHERE tenant_id = $1 AND kind = 'usage_publish' AND period = '2026-10'`,
		s.tenantID).Scan(&holder))
	require.Equal(t, month.ID, holder, "the month's run holds the claim")

	// Approving the one client's update publishes that client only.
	newcoItem := itemOf(t, s.items(started.RunID), "cl_2003")
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"ids": []int64{newcoItem.ID}}, nil))
	one = s.waitCycle(started.RunID, 60*time.Second)
	require.Equal(t, billing.Completed, one.Status, one.Error)
	require.Equal(t, 1, one.Counts.Applied)
	rec, ok := s.backupStatsRecord(280, cwemu.ConfigTypeBackupStats)
	require.True(t, ok)
	require.Equal(t, "42.5", rec["Billable Space"])
	_, ok = s.backupStatsRecord(cwemu.DemoCompanyContoso, cwemu.ConfigTypeBackupStats)
	require.False(t, ok, "the other clients are not touched")
	nw, _ := s.backupStatsRecord(cwemu.DemoCompanyNorthwind, cwemu.ConfigTypeBackupStats)
	require.Equal(t, "2024", nw["Year"], "Northwind's record still holds December 2024")

	// The month's run publishes everyone.
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, `{"all": true}`, nil))
	month = s.waitCycle(month.ID, 60*time.Second)
	require.Equal(t, billing.Completed, month.Status, month.Error)
	require.Equal(t, 4, month.Counts.Applied+month.Counts.Unchanged)
	for _, co := range []int64{cwemu.DemoCompanyNorthwind, cwemu.DemoCompanyContoso, cwemu.DemoCompanyFabrikam, 280} {
		rec, ok := s.backupStatsRecord(co, cwemu.ConfigTypeBackupStats)
		require.True(t, ok, "company %d", co)
		require.Equal(t, "10", rec["Month"], "company %d", co)
	}
}

// Usage publishes need no approval by default: publish now publishes without waiting, and so
// does the month's automatic run. Licence syncs wait for a person by default. A tenant can
// still ask for approval, or a rule, on its publishes.
func TestUsagePublishesAreHandsOffByDefaultAndLicenceSyncsWaitForApproval(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()

	// A tenant created through the API gets the defaults.
	var created struct {
		tenant.Tenant
	}
	require.Equal(t, http.StatusCreated, s.call("POST", "/api/v1/tenants", s.adminToken,
		`{"id": "fresh-`+s.tenantID+`", "name": "Fresh MSP", "time_zone": "UTC"}`, &created))
	require.Equal(t, tenant.ApproveAutomatic, created.Settings.Publish.Approval.Mode)
	require.Equal(t, tenant.ApproveManual, created.Settings.Licences.Approval.Mode)
	require.Equal(t, tenant.DefaultBackupStats(), created.Settings.Publish.BackupStats)

	// The demo tenant with the default approvals.
	_, _, err := s.store.UpdateTenant(ctx, s.tenantID, func(t *tenant.Tenant) error {
		d := tenant.Defaults()
		t.Settings.Publish.Approval, t.Settings.Licences.Approval = d.Publish.Approval, d.Licences.Approval
		return nil
	})
	require.NoError(t, err)

	c := s.waitCycle(s.publish(nil), 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 3, c.Counts.Applied, "published without waiting")
	for _, it := range s.items(c.ID) {
		require.Equal(t, billing.ActorAutomatic, it.DecidedBy)
	}
	s.assertPublishedOnce()

	// The month's automatic run does not wait either.
	auto, err := s.starter.StartCycle(ctx, starter.StartRequest{TenantID: s.tenantID, Kind: billing.UsagePublish, Trigger: billing.Automatic, Period: "2026-09"})
	require.NoError(t, err)
	require.Equal(t, billing.Completed, s.waitCycle(auto.RunID, 60*time.Second).Status)

	var refreshed struct {
		RunID string `json:"run_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &refreshed))
	lic := s.waitStatus(refreshed.RunID, billing.AwaitingApproval, 60*time.Second)
	require.Positive(t, lic.Counts.Pending, "licence changes wait for a person")

	// Asked for, a rule decides publishes: small changes pass, a large one waits.
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "rule", "max_units": "5", "max_percent": "10"}}}}`)
	year, month := c.Period.YearMonth()
	nw, co := demo.BackupClients()[0], demo.BackupClients()[1]
	require.NoError(t, s.world.Backup.SetUsage(nw.ClientID, year, month, decimal.RequireFromString("123")))
	require.NoError(t, s.world.Backup.SetUsage(co.ClientID, year, month, decimal.RequireFromString("400")))
	ruled := s.waitStatus(s.publish(nil), billing.AwaitingApproval, 60*time.Second)
	items := s.items(ruled.ID)
	require.Equal(t, billing.Approved, itemOf(t, items, nw.ClientID).State)
	require.Equal(t, billing.ActorRule, itemOf(t, items, nw.ClientID).DecidedBy)
	require.Equal(t, billing.Pending, itemOf(t, items, co.ClientID).State)

	// The old single approval is refused with where it moved.
	var e errorAnswer
	require.Equal(t, http.StatusUnprocessableEntity, s.call("PATCH", s.tp, s.adminToken, `{"settings": {"approval": {"mode": "manual"}}}`, &e))
	require.Equal(t, "settings.approval", e.Error.Field)
	require.Contains(t, e.Error.Message, "settings.publish.approval")
}

// The ConnectWise names basic mode uses — the configuration type holding the Backup Stats
// records and the questions of each figure — are tenant settings, validated when saved; a
// publish writes wherever they point, and names ConnectWise does not have fail the publish
// saying which setting to change.
func TestBackupStatsGoWhereTheTenantsSettingsNameThem(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.world.ConnectWise.SeedConfigurationType(cwemu.ConfigurationType{ID: 395, Name: "Cloud Usage", Questions: []cwemu.ConfigurationTypeQuestion{
		{ID: 3951, Question: "GB Used", FieldType: "Number"}, {ID: 3952, Question: "Billing Year", FieldType: "Number"},
		{ID: 3953, Question: "Billing Month", FieldType: "Number"},
	}})
	tn, err := s.store.GetTenant(context.Background(), s.tenantID)
	require.NoError(t, err)
	require.Equal(t, tenant.DefaultBackupStats(), tn.Settings.Publish.BackupStats, "the usage product's names by default")

	for _, tc := range []struct{ patch, field string }{
		{`{"configuration_type": ""}`, "settings.publish.backup_stats.configuration_type"},
		{`{"configuration_type": "` + strings.Repeat("T", 51) + `"}`, "settings.publish.backup_stats.configuration_type"},
		{`{"year_question": "Month"}`, "settings.publish.backup_stats.month_question"},
		{`{"month_question": "Line one\nline two"}`, "settings.publish.backup_stats.month_question"},
		{`{"billable_space_question": " GB "}`, "settings.publish.backup_stats.billable_space_question"},
	} {
		_, code, e := s.patchTenant(`{"settings": {"publish": {"backup_stats": ` + tc.patch + `}}}`)
		require.Equal(t, http.StatusUnprocessableEntity, code, tc.patch)
		require.Equal(t, tc.field, e.Error.Field, tc.patch)
	}
	// The type is no longer a field of the PSA connection: saving one there says where it went.
	cw := cwemu.DefaultCredentials
	var e errorAnswer
	require.Equal(t, http.StatusUnprocessableEntity, s.call("PUT", s.tp+"/psa", s.adminToken, fmt.Sprintf(`{"kind": "connectwise", "credentials":
		{"site_url": %q, "company_id": %q, "public_key": %q, "private_key": %q, "client_id": %q, "backup_config_type": "Cloud Usage"}}`,
		s.urls.ConnectWise, cw.CompanyID, cw.PublicKey, cw.PrivateKey, cw.ClientID), &e))
	require.Equal(t, "credentials.backup_config_type", e.Error.Field)
	require.Contains(t, e.Error.Message, "settings.publish.backup_stats.configuration_type")

	s.patchSettings(`{"settings": {"publish": {"mode": "basic", "approval": {"mode": "automatic"}, "backup_stats": {
		"configuration_type": "Cloud Usage", "billable_space_question": "GB Used", "year_question": "Billing Year", "month_question": "Billing Month"}}}}`)

	c := s.waitCycle(s.publish(nil), 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 3, c.Counts.Applied)
	year, month := c.Period.YearMonth()
	for _, bc := range demo.BackupClients() {
		rec, ok := s.backupStatsRecord(bc.Target.CompanyID, 395)
		require.True(t, ok, bc.Name)
		require.Equal(t, map[string]string{"GB Used": bc.UsageGB.String(), "Billing Year": fmt.Sprint(year), "Billing Month": fmt.Sprint(int(month))}, rec, bc.Name)
		_, other := s.backupStatsRecord(bc.Target.CompanyID, cwemu.ConfigTypeBackupStats)
		require.Equal(t, bc.Target.CompanyID == cwemu.DemoCompanyNorthwind, other, "no Backup Stats record is made for %s", bc.Name)
	}

	// A question the type does not ask fails the publish, naming the setting.
	s.patchSettings(`{"settings": {"publish": {"backup_stats": {"billable_space_question": "Terabytes"}}}}`)
	c = s.waitCycle(s.publish(nil), 60*time.Second)
	require.Equal(t, billing.Failed, c.Status)
	require.Contains(t, c.Error, `no active question "Terabytes"`)
	require.Contains(t, c.Error, "settings.publish.backup_stats.billable_space_question")
}

// The publish history lists the latest ten cycles by default, says when there are more, and
// gives more on request.
func TestCycleListShowsTheLatestTenByDefaultAndMoreOnRequest(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	var ids []string
	for range 11 {
		id := s.publish(nil)
		s.waitCycle(id, 60*time.Second)
		ids = append(ids, id)
	}
	type listAnswer struct {
		Cycles []struct {
			ID        string `json:"id"`
			StartedBy string `json:"started_by"`
		} `json:"cycles"`
		HasMore bool `json:"has_more"`
	}
	var l listAnswer
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/cycles", s.viewerToken, nil, &l))
	require.Len(t, l.Cycles, 10)
	require.True(t, l.HasMore)
	require.Equal(t, ids[10], l.Cycles[0].ID, "newest first")
	require.Equal(t, ids[1], l.Cycles[9].ID)
	require.Equal(t, "ann@demo-msp.example", l.Cycles[0].StartedBy)

	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/cycles?limit=20", s.viewerToken, nil, &l))
	require.Len(t, l.Cycles, 11)
	require.False(t, l.HasMore)
	require.Equal(t, ids[0], l.Cycles[10].ID, "the oldest is kept")

	var e errorAnswer
	for _, q := range []string{"limit=0", "limit=1001", "limit=ten"} {
		require.Equal(t, http.StatusBadRequest, s.call("GET", s.tp+"/cycles?"+q, s.viewerToken, nil, &e), q)
		require.Equal(t, "limit", e.Error.Field, q)
	}
}
