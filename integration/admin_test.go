package integration

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// writeRecorder sits in front of an emulator and remembers every request that could change
// something: any method but GET/HEAD, except Autotask's POST …/query, which only reads.
type writeRecorder struct {
	next   http.Handler
	mu     sync.Mutex
	writes []string
	reads  int
}

func (r *writeRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	switch {
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		r.reads++
	case req.Method == http.MethodPost && strings.Contains(strings.ToLower(req.URL.Path), "/query"):
		r.reads++
	default:
		r.writes = append(r.writes, req.Method+" "+req.URL.Path)
	}
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *writeRecorder) counts() (reads int, writes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads, append([]string(nil), r.writes...)
}

// recorded serves h behind a writeRecorder.
func recorded(t *testing.T, h http.Handler) (*writeRecorder, string) {
	rec := &writeRecorder{next: h}
	return rec, serve(t, rec)
}

// emulatorState is an emulator's full state dump, to prove a request changed nothing.
func emulatorState(t *testing.T, h http.Handler, drop ...string) map[string]any {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "/_emulator/state", nil))
	require.Equal(t, http.StatusOK, rr.Code)
	var st map[string]any
	require.NoError(t, json.Unmarshal(rr.Body.Bytes(), &st))
	for _, k := range drop {
		delete(st, k)
	}
	return st
}

func cwCredentials(siteURL string) map[string]any {
	c := cwemu.DefaultCredentials
	return map[string]any{"site_url": siteURL, "company_id": c.CompanyID, "public_key": c.PublicKey, "private_key": c.PrivateKey, "client_id": c.ClientID}
}

func atCredentials(url string) map[string]any {
	c := atemu.DemoCredentials
	return map[string]any{"zone_discovery_url": url + "/atservicesrest", "user_name": c.UserName, "secret": c.Secret, "integration_code": c.IntegrationCode}
}

// adminRaw sends a request and returns the raw answer (for CSV downloads and headers).
func (s *stack) adminRaw(method, path, token string) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.api.URL+path, nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp, b
}

type testResult struct {
	OK       bool     `json:"ok"`
	Message  string   `json:"message"`
	Details  []string `json:"details"`
	Role     string   `json:"role"`
	Provider string   `json:"provider"`
	Tested   string   `json:"tested"`
}

type connectionAnswer struct {
	PSAKind      string                 `json:"psa_kind"`
	Connection   store.ConnectionStatus `json:"connection"`
	PreviousKind string                 `json:"previous_kind"`
	Switched     bool                   `json:"switched"`
	Reset        *struct {
		MappingsDeleted int64    `json:"mappings_deleted"`
		SettingsReset   []string `json:"settings_reset"`
	} `json:"reset"`
}

type detailedError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Field   string         `json:"field"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (s *stack) adminHistory(t *testing.T) []store.HistoryEntry {
	t.Helper()
	h, err := s.store.ListHistory(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	return h
}

func findHistory(entries []store.HistoryEntry, action string) (store.HistoryEntry, bool) {
	for _, e := range entries {
		if e.Action == action {
			return e, true
		}
	}
	return store.HistoryEntry{}, false
}

func TestTestConnectionReadsOnlyAndSaysWhatFailed(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	cwRec, cwURL := recorded(t, s.world.ConnectWise)
	var saved connectionAnswer
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken,
		map[string]any{"kind": "connectwise", "credentials": cwCredentials(cwURL)}, &saved))
	require.False(t, saved.Switched, "same kind only replaces credentials")
	require.True(t, saved.Connection.SecretSet)
	before := emulatorState(t, s.world.ConnectWise)

	// The approver tests the stored credentials: every step is reported, nothing written.
	var res testResult
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.approverToken, nil, &res))
	require.True(t, res.OK, "message: %s", res.Message)
	require.Equal(t, "stored", res.Tested)
	require.Equal(t, "connectwise", res.Provider)
	require.Len(t, res.Details, 3)
	require.Contains(t, res.Details[2], "companies readable")
	reads, writes := cwRec.counts()
	require.Positive(t, reads)
	require.Empty(t, writes, "a connection test must not write")
	require.Equal(t, before, emulatorState(t, s.world.ConnectWise))
	st, err := s.store.GetConnectionStatus(ctx, s.tenantID, store.RolePSA)
	require.NoError(t, err)
	require.True(t, saved.Connection.UpdatedAt.Equal(st.UpdatedAt), "testing does not touch the credentials")
	require.NotNil(t, st.LastCheck)
	require.True(t, st.LastCheck.OK)

	// Revoked keys: the answer says which step failed and why, and the dashboard alerts.
	s.world.ConnectWise.Faults().Update(func(f *fault.Settings) { f.RejectCredentials = true })
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.approverToken, nil, &res))
	require.False(t, res.OK)
	require.Contains(t, res.Message, "refused")
	require.Contains(t, strings.Join(res.Details, "\n"), "failed")
	_, writes = cwRec.counts()
	require.Empty(t, writes)
	var dash store.Dashboard
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &dash))
	require.Contains(t, strings.Join(dash.Alerts, "\n"), "Credentials failing: the PSA (connectwise) connection test")
	failed, ok := findHistory(s.adminHistory(t), "connection.tested")
	require.True(t, ok)
	require.Equal(t, store.SeverityWarning, failed.Severity)
	s.world.ConnectWise.Faults().Update(func(f *fault.Settings) { f.RejectCredentials = false })

	// Credentials sent with the test are tried and not stored; only admins may send them.
	wrong := cwCredentials(cwURL)
	wrong["private_key"] = "not-the-key"
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.adminToken,
		map[string]any{"kind": "connectwise", "credentials": wrong}, &res))
	require.False(t, res.OK)
	require.Equal(t, "request", res.Tested)
	var e detailedError
	require.Equal(t, http.StatusForbidden, s.call("POST", s.tp+"/psa/test", s.approverToken,
		map[string]any{"kind": "connectwise", "credentials": cwCredentials(cwURL)}, &e))
	require.Equal(t, http.StatusForbidden, s.call("POST", s.tp+"/psa/test", s.viewerToken, nil, &e))
	require.Equal(t, http.StatusUnprocessableEntity, s.call("POST", s.tp+"/psa/test", s.adminToken,
		map[string]any{"kind": "connectwise", "credentials": map[string]any{"site_url": cwURL}}, &e))
	require.Equal(t, "credentials.company_id", e.Error.Field)
	after, err := s.store.GetConnection(ctx, s.tenantID, store.RolePSA)
	require.NoError(t, err)
	require.True(t, saved.Connection.UpdatedAt.Equal(after.UpdatedAt))
	require.Contains(t, string(after.Secret), cwemu.DefaultCredentials.PrivateKey, "the stored key is still the good one")

	// An Autotask test before switching reads Autotask and writes nothing there either.
	atRec, atURL := recorded(t, s.world.Autotask)
	atBefore := emulatorState(t, s.world.Autotask, "requestsLastHour", "maxConcurrentByEndpoint", "faults")
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.adminToken,
		map[string]any{"kind": "autotask", "credentials": atCredentials(atURL)}, &res))
	require.True(t, res.OK, "message: %s", res.Message)
	reads, writes = atRec.counts()
	require.Positive(t, reads)
	require.Empty(t, writes)
	require.Equal(t, atBefore, emulatorState(t, s.world.Autotask, "requestsLastHour", "maxConcurrentByEndpoint", "faults"))
	tn, err := s.store.GetTenant(ctx, s.tenantID)
	require.NoError(t, err)
	require.Equal(t, "connectwise", tn.PSAKind, "a test never switches the PSA")

	// Vendor sources: stored and unsaved credentials.
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/sources/licenses/test", s.approverToken, nil, &res))
	require.True(t, res.OK, "message: %s", res.Message)
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/sources/backup/test", s.adminToken,
		map[string]any{"credentials": map[string]any{"base_url": s.urls.Backup, "api_key": "wrong-key"}}, &res))
	require.False(t, res.OK)
	require.NotEmpty(t, res.Message)
	require.Equal(t, http.StatusNotFound, s.call("POST", s.tp+"/sources/crm/test", s.adminToken, nil, &e))
}

func TestSwitchingPSANeedsConfirmationAndResetsEverythingAtOnce(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	// The schedules this test creates live on the shared Temporal server; remove them after.
	t.Cleanup(func() {
		for _, a := range []string{workflows.ActionPublish, workflows.ActionRefresh, workflows.ActionSync} {
			_ = s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, a)).Delete(ctx)
		}
	})
	// Automation on: schedules and rule-based approval.
	require.Equal(t, http.StatusOK, s.call("PATCH", s.tp, s.adminToken, map[string]any{"settings": map[string]any{
		"publish": map[string]any{"mode": "basic", "schedule": map[string]any{"enabled": true, "cadence": "monthly", "day": "5", "hour": 6},
			"approval": map[string]any{"mode": "automatic"}},
		"licences": map[string]any{"refresh": map[string]any{"enabled": true}, "sync": map[string]any{"enabled": true},
			"approval": map[string]any{"mode": "rule", "max_units": "5", "max_percent": "10", "deadline_hours": 48, "deadline_action": "apply_rule_skip_rest", "reminder_hours": 12}},
	}}, nil))
	mappings, err := s.store.ListMappings(ctx, s.tenantID, "")
	require.NoError(t, err)
	require.NotEmpty(t, mappings)
	before, err := s.store.GetTenant(ctx, s.tenantID)
	require.NoError(t, err)
	connBefore, err := s.store.GetConnectionStatus(ctx, s.tenantID, store.RolePSA)
	require.NoError(t, err)
	history := len(s.adminHistory(t))
	switchBody := map[string]any{"kind": "autotask", "credentials": atCredentials(s.urls.Autotask)}

	unchanged := func(t *testing.T) {
		t.Helper()
		ms, err := s.store.ListMappings(ctx, s.tenantID, "")
		require.NoError(t, err)
		require.Len(t, ms, len(mappings))
		tn, err := s.store.GetTenant(ctx, s.tenantID)
		require.NoError(t, err)
		require.Equal(t, before.Settings, tn.Settings)
		require.Equal(t, before.PSAKind, tn.PSAKind)
		c, err := s.store.GetConnectionStatus(ctx, s.tenantID, store.RolePSA)
		require.NoError(t, err)
		require.Equal(t, connBefore, c)
		require.Len(t, s.adminHistory(t), history)
	}

	// Without confirm_reset: 409 saying what would be deleted, and nothing changes.
	var e detailedError
	require.Equal(t, http.StatusConflict, s.call("PUT", s.tp+"/psa", s.adminToken, switchBody, &e))
	require.Equal(t, "confirm_reset_required", e.Error.Code)
	require.Equal(t, "confirm_reset", e.Error.Field)
	require.Contains(t, e.Error.Message, "deletes all")
	require.EqualValues(t, len(mappings), e.Error.Details["mappings"])
	require.Equal(t, "connectwise", e.Error.Details["from"])
	require.Contains(t, e.Error.Details["settings"], "settings.publish.approval.mode")
	require.Contains(t, e.Error.Details["settings"], "settings.licences.approval.mode")
	unchanged(t)

	// Bad credentials are refused before anything else is looked at.
	bad := atCredentials(s.urls.Autotask)
	delete(bad, "user_name")
	require.Equal(t, http.StatusUnprocessableEntity, s.call("PUT", s.tp+"/psa", s.adminToken,
		map[string]any{"kind": "autotask", "credentials": bad, "confirm_reset": true}, &e))
	require.Equal(t, "credentials.user_name", e.Error.Field)
	unchanged(t)

	// An open cycle holds updates aimed at the old PSA: the switch waits for it.
	open := store.Cycle{ID: uuid.NewString(), TenantID: s.tenantID, Kind: billing.LicenceSync, Period: "2026-11", Mode: "licences",
		Trigger: billing.Manual, StartedBy: "ann@demo-msp.example", WorkflowID: "billing-cycle/demo/test-open"}
	_, _, err = s.store.CreateCycle(ctx, open)
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, s.call("PUT", s.tp+"/psa", s.adminToken,
		map[string]any{"kind": "autotask", "credentials": atCredentials(s.urls.Autotask), "confirm_reset": true}, &e))
	require.Equal(t, "cycles_open", e.Error.Code)
	require.Contains(t, e.Error.Message, open.WorkflowID)
	unchanged(t)
	_, err = s.store.FinishCycle(ctx, open.ID, billing.Completed, "")
	require.NoError(t, err)

	// Confirmed: mappings deleted, automation reset, warning recorded, schedules paused.
	switchBody["confirm_reset"] = true
	var ans connectionAnswer
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken, switchBody, &ans))
	require.True(t, ans.Switched)
	require.Equal(t, "autotask", ans.PSAKind)
	require.Equal(t, "connectwise", ans.PreviousKind)
	require.EqualValues(t, len(mappings), ans.Reset.MappingsDeleted)
	require.ElementsMatch(t, []string{
		"settings.publish.schedule.enabled", "settings.licences.refresh.enabled", "settings.licences.sync.enabled",
		"settings.publish.approval.mode",
		"settings.licences.approval.mode", "settings.licences.approval.max_units", "settings.licences.approval.max_percent",
		"settings.licences.approval.deadline_hours", "settings.licences.approval.deadline_action", "settings.publish.mode",
	}, ans.Reset.SettingsReset)
	require.Equal(t, "autotask", ans.Connection.Provider)
	require.True(t, ans.Connection.SecretSet)
	raw, _ := json.Marshal(ans)
	require.NotContains(t, string(raw), atemu.DemoCredentials.Secret)
	require.NotContains(t, string(raw), atemu.DemoCredentials.IntegrationCode)

	ms, err := s.store.ListMappings(ctx, s.tenantID, "")
	require.NoError(t, err)
	require.Empty(t, ms)
	tn, err := s.store.GetTenant(ctx, s.tenantID)
	require.NoError(t, err)
	require.Equal(t, "autotask", tn.PSAKind)
	require.False(t, tn.Settings.Publish.Schedule.Enabled)
	require.Equal(t, "5", tn.Settings.Publish.Schedule.Day, "the timing is kept for when schedules are enabled again")
	require.False(t, tn.Settings.Licences.Refresh.Enabled)
	require.False(t, tn.Settings.Licences.Sync.Enabled)
	require.Equal(t, tenant.ApproveManual, tn.Settings.Publish.Approval.Mode)
	require.Equal(t, tenant.ApproveManual, tn.Settings.Licences.Approval.Mode)
	require.True(t, tn.Settings.Licences.Approval.MaxUnits.IsZero())
	require.Zero(t, tn.Settings.Licences.Approval.DeadlineHours)
	require.Equal(t, 12, tn.Settings.Licences.Approval.ReminderHours, "reminders only tell people; they stay")
	require.Equal(t, tenant.ModeAdvanced, tn.Settings.Publish.Mode, "basic mode exists only in ConnectWise")
	require.Equal(t, []string{"billing@demo-msp.example"}, tn.Settings.Notify.Emails)
	warn, ok := findHistory(s.adminHistory(t), "psa.switched")
	require.True(t, ok)
	require.Equal(t, store.SeverityWarning, warn.Severity)
	require.Equal(t, "admin@demo-msp.example", warn.Actor)
	require.Contains(t, warn.Message, "mapping(s) deleted")
	var details map[string]any
	require.NoError(t, json.Unmarshal(warn.Details, &details))
	require.EqualValues(t, len(mappings), details["mappings_deleted"])
	desc, err := s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, workflows.ActionPublish)).Describe(ctx)
	require.NoError(t, err)
	require.True(t, desc.Schedule.State.Paused, "the publish schedule is paused with the setting")

	// The new PSA works: its test passes and a mapping to it is checked there.
	var res testResult
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.approverToken, nil, &res))
	require.True(t, res.OK, "message: %s", res.Message)
	require.Equal(t, "autotask", res.Provider)

	// Saving the same kind again needs no confirmation and resets nothing.
	ans = connectionAnswer{}
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken,
		map[string]any{"kind": "autotask", "credentials": atCredentials(s.urls.Autotask)}, &ans))
	require.False(t, ans.Switched)
	require.Nil(t, ans.Reset)
}

func TestMappingsAreCheckedAgainstThePSA(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	nw := cwemu.DemoClients()[0]
	fab := cwemu.DemoClients()[2]
	path := s.tp + "/mappings/"
	body := func(account, item string, target psa.Target) map[string]any {
		return map[string]any{"source": "licenses", "account_id": account, "item": item,
			"target": map[string]any{"company_id": target.CompanyID, "agreement_id": target.AgreementID, "addition_id": target.AdditionID}}
	}
	server := psa.Target{CompanyID: nw.CompanyID, AgreementID: nw.AgreementID, AdditionID: cwemu.DemoAdditionNorthwindServer}

	var got struct {
		Mapping store.Mapping `json:"mapping"`
	}
	require.Equal(t, http.StatusCreated, s.call("PUT", path+"acme:server", s.adminToken, body("acc_9001", "server", server), &got))
	require.Equal(t, "acme:server", got.Mapping.ID)
	require.Equal(t, nw.CompanyName, got.Mapping.TargetInfo.CompanyName)
	require.Equal(t, nw.Agreement, got.Mapping.TargetInfo.AgreementName)
	require.Equal(t, "LIC-SERVER", got.Mapping.TargetInfo.Product)
	require.Equal(t, "admin@demo-msp.example", got.Mapping.CreatedBy)
	require.Equal(t, http.StatusOK, s.call("PUT", path+"acme:server", s.adminToken, body("acc_9001", "server", server), &got), "replacing answers 200")

	var e detailedError
	cases := []struct {
		name   string
		id     string
		body   any
		status int
		code   string
		field  string
	}{
		{"same account and item twice", "acme-server-2", body("acc_9001", "server", server), 409, "mapping_exists", ""},
		{"addition of another agreement", "acme:x", body("acc_9002", "server", psa.Target{CompanyID: fab.CompanyID, AgreementID: fab.AgreementID, AdditionID: cwemu.DemoAdditionNorthwindServer}), 422, "target_not_billable", "target"},
		{"agreement of another company", "acme:y", body("acc_9003", "server", psa.Target{CompanyID: fab.CompanyID, AgreementID: nw.AgreementID, AdditionID: cwemu.DemoAdditionNorthwindServer}), 422, "target_not_billable", "target"},
		{"no addition", "acme:z", body("acc_9004", "server", psa.Target{CompanyID: nw.CompanyID, AgreementID: nw.AgreementID}), 422, "validation_failed", "target.addition_id"},
		{"no target", "acme:z", map[string]any{"source": "licenses", "account_id": "a", "item": "server"}, 422, "validation_failed", "target"},
		{"unknown source", "acme:z", map[string]any{"source": "gauges", "account_id": "a", "item": "server", "target": map[string]any{"agreement_id": 1, "addition_id": 1}}, 422, "validation_failed", "source"},
		{"backup item is storage", "acme:z", map[string]any{"source": "backup", "account_id": "cl_1", "item": "server", "target": map[string]any{"agreement_id": 1, "addition_id": 1}}, 422, "validation_failed", "item"},
		{"control character in account", "acme:z", body("acc\n1", "server", server), 422, "validation_failed", "account_id"},
		{"bad mapping ID", "acme%20z", body("acc_9005", "server", server), 400, "invalid_path", "mapping"},
		{"mapping ID too long", strings.Repeat("m", 101), body("acc_9005", "server", server), 400, "invalid_path", "mapping"},
		{"unknown field", "acme:z", `{"source": "licenses", "account_id": "a", "item": "server", "target": {"agreement_id": 1, "addition_id": 1}, "x": 1}`, 400, "unknown_field", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e = detailedError{}
			require.Equal(t, tc.status, s.call("PUT", path+tc.id, s.adminToken, tc.body, &e), "answer %+v", e)
			require.Equal(t, tc.code, e.Error.Code)
			require.Equal(t, tc.field, e.Error.Field)
			require.NotEmpty(t, e.Error.Message)
		})
	}
	require.Equal(t, http.StatusForbidden, s.call("PUT", path+"acme:v", s.approverToken, body("acc_9006", "server", server), &e))

	// The PSA is down: 503 with Retry-After, nothing stored.
	s.world.ConnectWise.Faults().Update(func(f *fault.Settings) { f.Fail500, f.TimeoutText = 100, true })
	resp, raw := func() (*http.Response, []byte) {
		b, _ := json.Marshal(body("acc_9007", "server", server))
		req, _ := http.NewRequest("PUT", s.api.URL+path+"acme:down", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.adminToken)
		resp, err := s.client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, raw
	}()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", raw)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Contains(t, string(raw), "psa_unavailable")
	s.world.ConnectWise.Faults().Set(fault.Settings{})
	_, err := s.store.GetMapping(ctx, s.tenantID, "acme:down")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Listing and deleting.
	var list struct {
		Mappings []store.Mapping `json:"mappings"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/mappings?source=licenses", s.viewerToken, nil, &list))
	ids := []string{}
	for _, m := range list.Mappings {
		require.Equal(t, "licenses", m.Source)
		ids = append(ids, m.ID)
	}
	require.Contains(t, ids, "acme:server")
	require.Equal(t, http.StatusOK, s.call("GET", path+"acme:server", s.viewerToken, nil, &got))
	require.Equal(t, http.StatusForbidden, s.call("DELETE", path+"acme:server", s.approverToken, nil, &e))
	require.Equal(t, http.StatusNoContent, s.call("DELETE", path+"acme:server", s.adminToken, nil, nil))
	require.Equal(t, http.StatusNotFound, s.call("DELETE", path+"acme:server", s.adminToken, nil, &e))
	require.Equal(t, "not_found", e.Error.Code)
	require.Equal(t, http.StatusNotFound, s.call("GET", path+"acme:server", s.viewerToken, nil, &e))

	hist := s.adminHistory(t)
	for _, action := range []string{"mapping.created", "mapping.edited", "mapping.deleted"} {
		h, ok := findHistory(hist, action)
		require.True(t, ok, "history has %s", action)
		require.Equal(t, "admin@demo-msp.example", h.Actor)
		require.Contains(t, h.Message, "acme:server")
	}
	created, _ := findHistory(hist, "mapping.created")
	require.Contains(t, created.Message, nw.CompanyName)

	// On Autotask, a contract without the service cannot be mapped.
	var ans connectionAnswer
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken,
		map[string]any{"kind": "autotask", "credentials": atCredentials(s.urls.Autotask), "confirm_reset": true}, &ans))
	require.Equal(t, http.StatusUnprocessableEntity, s.call("PUT", path+"contoso:server", s.adminToken,
		body("acc_9010", "server", psa.Target{AgreementID: atemu.DemoContractContoso, AdditionID: atemu.DemoCSNorthwindServer}), &e))
	require.Equal(t, "target_not_billable", e.Error.Code)
	require.Contains(t, e.Error.Message, "has no contract service")
	require.Equal(t, http.StatusCreated, s.call("PUT", path+"fabrikam:server", s.adminToken,
		body("acc_9011", "server", psa.Target{AgreementID: atemu.DemoContractFabrikam, AdditionID: atemu.DemoCSFabrikamServer}), &got))
	require.Equal(t, atemu.DemoCompanyFabrikam, got.Mapping.Target.CompanyID, "Autotask fills the company from the contract")
	require.Equal(t, "Server Licence", got.Mapping.TargetInfo.Product)
	require.True(t, got.Mapping.TargetInfo.WholeUnits)

	// A tenant without a PSA cannot map anything yet.
	require.Equal(t, http.StatusCreated, s.call("POST", "/api/v1/tenants", s.adminToken,
		map[string]any{"id": s.tenantID + "-bare", "name": "Bare MSP", "time_zone": "UTC"}, nil))
	require.Equal(t, http.StatusConflict, s.call("PUT", s.tp+"-bare/mappings/m1", s.adminToken, body("acc_1", "server", server), &e))
	require.Equal(t, "psa_not_configured", e.Error.Code)
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"-bare/psa/test", s.adminToken, nil, &e))
	require.Equal(t, "psa_not_configured", e.Error.Code)
}

func TestSourcesAreValidatedAndSealed(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	var ans struct {
		Connection store.ConnectionStatus `json:"connection"`
	}
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/sources/licenses", s.adminToken,
		map[string]any{"credentials": map[string]any{"base_url": s.urls.Licences, "api_key": "new-licence-token-1234"}}, &ans))
	require.Equal(t, "licenses", ans.Connection.Role)
	require.Equal(t, "licenses", ans.Connection.Provider)
	require.True(t, ans.Connection.SecretSet)
	require.JSONEq(t, `{"base_url": "`+s.urls.Licences+`"}`, string(ans.Connection.Config))
	var raw []byte
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT secret FROM connections WHERE tenant_id = $1 AND role = 'licenses'`, s.tenantID).Scan(&raw))
	require.NotContains(t, string(raw), "new-licence-token-1234")
	c, err := s.store.GetConnection(ctx, s.tenantID, store.RoleLicenses)
	require.NoError(t, err)
	require.Contains(t, string(c.Secret), "new-licence-token-1234")
	saved, ok := findHistory(s.adminHistory(t), "source.saved")
	require.True(t, ok)
	require.NotContains(t, string(saved.Details), "new-licence-token-1234")

	before, err := s.store.ConnectionStatuses(ctx, s.tenantID)
	require.NoError(t, err)
	var e detailedError
	cases := []struct {
		name, kind string
		body       any
		status     int
		code       string
		field      string
	}{
		{"unknown kind", "crm", map[string]any{"credentials": map[string]any{}}, 404, "not_found", ""},
		{"unknown provider", "backup", map[string]any{"provider": "acronis", "credentials": map[string]any{"base_url": s.urls.Backup, "api_key": "k"}}, 422, "validation_failed", "provider"},
		{"missing secret", "gauges", map[string]any{"credentials": map[string]any{"base_url": s.urls.Gauges, "client_id": "x"}}, 422, "validation_failed", "credentials.client_secret"},
		{"unknown credential field", "backup", map[string]any{"credentials": map[string]any{"base_url": s.urls.Backup, "api_key": "k", "password": "p"}}, 422, "validation_failed", "credentials.password"},
		{"credentials not an object", "backup", map[string]any{"credentials": "secret"}, 422, "validation_failed", "credentials"},
		{"no credentials", "backup", map[string]any{}, 422, "validation_failed", "credentials"},
		{"bad URL", "backup", map[string]any{"credentials": map[string]any{"base_url": "ftp://x", "api_key": "k"}}, 422, "validation_failed", "credentials.base_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e = detailedError{}
			require.Equal(t, tc.status, s.call("PUT", s.tp+"/sources/"+tc.kind, s.adminToken, tc.body, &e), "answer %+v", e)
			require.Equal(t, tc.code, e.Error.Code)
			require.Equal(t, tc.field, e.Error.Field)
			require.NotEmpty(t, e.Error.Message)
		})
	}
	require.Equal(t, http.StatusForbidden, s.call("PUT", s.tp+"/sources/backup", s.approverToken,
		map[string]any{"credentials": map[string]any{"base_url": s.urls.Backup, "api_key": "k"}}, &e))
	after, err := s.store.ConnectionStatuses(ctx, s.tenantID)
	require.NoError(t, err)
	require.Equal(t, before, after, "refused requests change no connection")
}

func TestAccountsListTheirMappingStatus(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	d := decimal.RequireFromString
	var readings []store.Reading
	for _, c := range demo.BackupClients() {
		readings = append(readings, store.Reading{Source: "backup", AccountID: c.ClientID, AccountName: c.Name, ManagedID: c.ManagedID, Item: billing.StorageItem, Quantity: c.UsageGB})
	}
	for _, l := range demo.Licences() {
		readings = append(readings, store.Reading{Source: "licenses", AccountID: l.AccountID, AccountName: l.AccountName, Item: l.Type, Quantity: l.Units})
	}
	readings = append(readings, store.Reading{Source: "licenses", AccountID: "acc_2000", AccountName: "=cmd|' /C calc'!A0", Item: "server", Quantity: d("3")})
	require.NoError(t, s.store.RecordReadings(ctx, s.tenantID, "2026-11", readings))
	ms, err := s.store.ListMappings(ctx, s.tenantID, "licenses")
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	require.NoError(t, s.store.MarkMapping(ctx, s.tenantID, ms[0].ID, "error", "addition 5002 was cancelled"))

	type accounts struct {
		Accounts []store.AccountItem `json:"accounts"`
		Counts   store.AccountCounts `json:"counts"`
	}
	var all accounts
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/accounts", s.viewerToken, nil, &all))
	require.Len(t, all.Accounts, len(readings))
	unmappedLicences := 1 // the new account
	for _, l := range demo.Licences() {
		if l.Target == (psa.Target{}) {
			unmappedLicences++
		}
	}
	require.Equal(t, store.AccountCounts{Total: len(readings), Unmapped: unmappedLicences, OK: len(readings) - unmappedLicences - 1, Error: 1}, all.Counts)

	var unmapped accounts
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/accounts?source=licenses&status=unmapped", s.viewerToken, nil, &unmapped))
	require.Len(t, unmapped.Accounts, unmappedLicences)
	for _, a := range unmapped.Accounts {
		require.Equal(t, "licenses", a.Source)
		require.Equal(t, "unmapped", a.MappingStatus)
		require.Empty(t, a.MappingID)
	}
	var failed accounts
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/accounts?status=error", s.viewerToken, nil, &failed))
	require.Len(t, failed.Accounts, 1)
	require.Equal(t, ms[0].ID, failed.Accounts[0].MappingID)
	require.Equal(t, "addition 5002 was cancelled", failed.Accounts[0].MappingError)
	var backup accounts
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/accounts?source=backup", s.viewerToken, nil, &backup))
	require.Equal(t, store.AccountCounts{Total: 3, OK: 3}, backup.Counts)

	var e detailedError
	require.Equal(t, http.StatusBadRequest, s.call("GET", s.tp+"/accounts?status=broken", s.viewerToken, nil, &e))
	require.Equal(t, "status", e.Error.Field)
	require.Equal(t, http.StatusBadRequest, s.call("GET", s.tp+"/accounts?sort=name", s.viewerToken, nil, &e))
	require.Equal(t, "unknown_query", e.Error.Code)
}

func TestSiteHistoryExportsSafeCSVAndClearsLeavingOneEntry(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	base := len(s.adminHistory(t))
	require.NoError(t, s.store.AddHistory(ctx, s.tenantID, store.SeverityWarning, "=HYPERLINK(\"http://evil\")", "mapping.created",
		"-2+3 \"quoted\", with comma\nand a second line", map[string]any{"note": "@SUM(A1)"}))
	require.NoError(t, s.store.AddHistory(ctx, s.tenantID, store.SeverityError, store.ActorAutomatic, "usage_publish.failed", "credentials need attention", nil))

	var js struct {
		History []store.HistoryEntry `json:"history"`
		Count   int                  `json:"count"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/history", s.viewerToken, nil, &js))
	require.Equal(t, base+2, js.Count)
	require.Equal(t, "usage_publish.failed", js.History[0].Action, "newest first")
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/history?severity=warning", s.viewerToken, nil, &js))
	require.Len(t, js.History, 1)
	require.Equal(t, "mapping.created", js.History[0].Action)
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/history?limit=1", s.viewerToken, nil, &js))
	require.Len(t, js.History, 1)
	var e detailedError
	for _, q := range []string{"limit=0", "limit=10001", "limit=x", "severity=fatal", "format=xml", "page=2"} {
		require.Equal(t, http.StatusBadRequest, s.call("GET", s.tp+"/history?"+q, s.viewerToken, nil, &e), q)
	}

	resp, body := s.adminRaw("GET", s.tp+"/history?format=csv", s.viewerToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Regexp(t, `^attachment; filename="meterbridge-history-`+s.tenantID+`-\d{8}T\d{6}Z\.csv"$`, resp.Header.Get("Content-Disposition"))
	require.Contains(t, string(body), "\r\n", "RFC 4180 line ends")
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+base+2)
	require.Equal(t, []string{"id", "time_utc", "time_local", "time_zone", "severity", "actor", "action", "message", "details"}, rows[0])
	bad := rows[2]
	require.Equal(t, "'=HYPERLINK(\"http://evil\")", bad[5])
	require.Equal(t, "'-2+3 \"quoted\", with comma\nand a second line", bad[7])
	require.Equal(t, "Europe/London", bad[3])
	at, err := time.Parse(time.RFC3339, bad[1])
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(bad[1], "Z"), "UTC column: %s", bad[1])
	local, err := time.Parse(time.RFC3339, bad[2])
	require.NoError(t, err)
	require.True(t, at.Equal(local), "both columns name the same instant")
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" {
				require.NotContains(t, "=+-@", cell[:1], "cell %q could run as a formula", cell)
			}
		}
	}

	// Clearing: admins only; the count comes back and one entry says who and when.
	require.Equal(t, http.StatusForbidden, s.call("DELETE", s.tp+"/history", s.approverToken, nil, &e))
	var cleared struct {
		Deleted int64              `json:"deleted"`
		Entry   store.HistoryEntry `json:"entry"`
	}
	require.Equal(t, http.StatusOK, s.call("DELETE", s.tp+"/history", s.adminToken, nil, &cleared))
	require.EqualValues(t, base+2, cleared.Deleted)
	require.Equal(t, "history.cleared", cleared.Entry.Action)
	require.Equal(t, "admin@demo-msp.example", cleared.Entry.Actor)
	require.WithinDuration(t, time.Now(), cleared.Entry.At, time.Minute)
	left := s.adminHistory(t)
	require.Len(t, left, 1)
	require.Equal(t, cleared.Entry.ID, left[0].ID)
	require.Contains(t, left[0].Message, fmt.Sprintf("%d entries deleted", base+2))
}

func TestDashboardShowsFiguresAndAlerts(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	var d store.Dashboard
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d))
	require.Zero(t, d.Pending)
	require.Nil(t, d.LastRefreshAt)
	require.Nil(t, d.LastSync)
	require.Empty(t, d.Alerts)

	// A licence cycle that failed on credentials, and an older publish whose items wait past
	// the approval deadline, built directly in the store.
	_, _, err := s.store.UpdateTenant(ctx, s.tenantID, func(t *tenant.Tenant) error {
		t.Settings.Publish.Approval.DeadlineHours, t.Settings.Publish.Approval.DeadlineAction = 24, tenant.DeadlineHold
		return nil
	})
	require.NoError(t, err)
	waiting := store.Cycle{ID: uuid.NewString(), TenantID: s.tenantID, Kind: billing.UsagePublish, Period: "2026-10", Mode: "advanced",
		Trigger: billing.Automatic, WorkflowID: "billing-cycle/demo/2026-10"}
	_, _, err = s.store.CreateCycle(ctx, waiting)
	require.NoError(t, err)
	_, err = s.store.Pool().Exec(ctx, `UPDATE cycles SET started_at = now() - interval '30 hours' WHERE id = $1`, waiting.ID)
	require.NoError(t, err)
	one := decimal.NullDecimal{Decimal: decimal.NewFromInt(1), Valid: true}
	require.NoError(t, s.store.InsertItems(ctx, []store.Item{
		{CycleID: waiting.ID, TenantID: s.tenantID, Seq: 1, AccountID: "cl_1001", Item: billing.StorageItem, State: billing.Pending, OldQty: one, NewQty: one, Delta: one},
		{CycleID: waiting.ID, TenantID: s.tenantID, Seq: 2, AccountID: "cl_1002", Item: billing.StorageItem, State: billing.Pending, OldQty: one, NewQty: one, Delta: one},
		{CycleID: waiting.ID, TenantID: s.tenantID, Seq: 3, AccountID: "cl_1003", Item: billing.StorageItem, State: billing.ItemFailed, Reason: "wrong Managed ID"},
	}))
	failed := store.Cycle{ID: uuid.NewString(), TenantID: s.tenantID, Kind: billing.LicenceSync, Period: "2026-11-05", Mode: "licences",
		Trigger: billing.Automatic, WorkflowID: "billing-cycle/demo/2026-11-05"}
	_, _, err = s.store.CreateCycle(ctx, failed)
	require.NoError(t, err)
	_, err = s.store.FinishCycle(ctx, failed.ID, billing.Failed, "credentials need attention: licenses GET /v1/accounts: credentials (HTTP 401)")
	require.NoError(t, err)
	require.NoError(t, s.store.RecordReadings(ctx, s.tenantID, "2026-11", []store.Reading{
		{Source: "licenses", AccountID: "acc_3000", AccountName: "Unmapped Co", Item: "desktop", Quantity: decimal.NewFromInt(7)},
	}))

	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d))
	require.Equal(t, 2, d.Pending)
	require.Equal(t, 1, d.Unmapped)
	require.Equal(t, 1, d.Errors)
	require.Equal(t, 1, d.ErrorBreakdown.FailedItems)
	require.NotNil(t, d.LastRefresh)
	require.Equal(t, failed.ID, d.LastRefresh.CycleID, "the newest cycle refreshed last")
	require.NotNil(t, d.LastSync)
	require.Equal(t, failed.ID, d.LastSync.CycleID)
	require.Equal(t, billing.Failed, d.LastSync.Status)
	alerts := strings.Join(d.Alerts, "\n")
	require.Contains(t, alerts, "Credentials failing: the last licence sync (2026-11-05) failed")
	require.Contains(t, alerts, "1 vendor account item(s) have no mapping")
	require.Contains(t, alerts, "2 pending update(s) of usage publishes have waited longer than the 24-hour approval deadline")

	// New licence credentials: the failure is no longer blamed on them, but still shown.
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/sources/licenses", s.adminToken,
		map[string]any{"credentials": map[string]any{"base_url": s.urls.Licences, "api_key": "fresh-token-123456"}}, nil))
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d))
	alerts = strings.Join(d.Alerts, "\n")
	require.NotContains(t, alerts, "Credentials failing")
	require.Contains(t, alerts, "The last licence sync (2026-11-05) failed")
}

// The dashboard follows a real publish: pending while it waits, then the sync statistics.
func TestDashboardFollowsARealPublish(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/publish", s.approverToken, nil, nil))
	var d store.Dashboard
	eventually(t, 30*time.Second, "three pending updates on the dashboard", func() bool {
		s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d)
		return d.Pending == 3
	})
	require.NotNil(t, d.LastRefreshAt)
	require.Nil(t, d.LastSync)
	require.Zero(t, d.Unmapped, "every backup client is mapped")
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, nil))
	eventually(t, 60*time.Second, "the last sync on the dashboard", func() bool {
		s.call("GET", s.tp+"/dashboard", s.viewerToken, nil, &d)
		return d.LastSync != nil
	})
	require.Equal(t, billing.Completed, d.LastSync.Status)
	require.Equal(t, 3, d.LastSync.Updated)
	require.Zero(t, d.LastSync.AlreadyUpToDate)
	require.Zero(t, d.LastSync.Errors)
	require.Zero(t, d.Pending)
	require.True(t, d.LastSync.At.Equal(*d.LastSyncAt))
	require.Empty(t, d.Alerts)
}
