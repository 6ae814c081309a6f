package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/dev/demo"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/store"
)

// URLs a person types are refused when saved if the outbound policy refuses them: 422
// naming the field, and nothing stored.
func TestSavingAURLThatPointsInsideIsRefusedNamingTheField(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	before, err := s.store.GetConnection(ctx, s.tenantID, store.RolePSA)
	require.NoError(t, err)

	var e detailedError
	for _, tc := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"PUT", s.tp + "/psa", map[string]any{"kind": "connectwise", "credentials": cwCredentials("https://169.254.169.254")}, "credentials.site_url"},
		{"PUT", s.tp + "/psa", map[string]any{"kind": "connectwise", "credentials": cwCredentials("https://[fd00:ec2::254]")}, "credentials.site_url"},
		{"PUT", s.tp + "/psa", map[string]any{"kind": "autotask", "confirm_reset": true, "credentials": atCredentials("https://metadata.google.internal")}, "credentials.zone_discovery_url"},
		{"PUT", s.tp + "/psa", map[string]any{"kind": "connectwise", "credentials": cwCredentials("http://10.0.0.9")}, "credentials.site_url"},
		{"PUT", s.tp + "/sources/backup", map[string]any{"credentials": map[string]any{"base_url": "https://169.254.169.254/latest", "api_key": "k3y-of-the-backup-service"}}, "credentials.base_url"},
		{"PUT", s.tp + "/sources/gauges", map[string]any{"credentials": map[string]any{"base_url": "https://gauges.example", "token_url": "https://169.254.169.254/oauth/token", "client_id": "c", "client_secret": "s3cret"}}, "credentials.token_url"},
		{"POST", s.tp + "/sources/backup/test", map[string]any{"credentials": map[string]any{"base_url": "https://[::ffff:169.254.169.254]", "api_key": "k3y-of-the-backup-service"}}, "credentials.base_url"},
		{"PATCH", s.tp, `{"settings": {"notify": {"webhook_url": "https://169.254.169.254/hook"}}}`, "settings.notify.webhook_url"},
		{"PATCH", s.tp, `{"settings": {"notify": {"webhook_url": "http://chat.example/hook"}}}`, "settings.notify.webhook_url"},
	} {
		e = detailedError{}
		require.Equal(t, http.StatusUnprocessableEntity, s.call(tc.method, tc.path, s.adminToken, tc.body, &e), "%s %s %v", tc.method, tc.path, tc.body)
		require.Equal(t, tc.field, e.Error.Field, "%s %s: %+v", tc.method, tc.path, e)
		require.Contains(t, e.Error.Message, "outbound policy refuses", "%+v", e)
	}
	after, err := s.store.GetConnection(ctx, s.tenantID, store.RolePSA)
	require.NoError(t, err)
	require.True(t, before.UpdatedAt.Equal(after.UpdatedAt), "a refused PUT changed the PSA connection")
	tn, err := s.store.GetTenant(ctx, s.tenantID)
	require.NoError(t, err)
	require.Empty(t, tn.Settings.Notify.WebhookURL)
}

// With the production policy, the dev stack's connections (loopback emulators over http)
// fail when used, clearly, and nothing reaches them.
func TestStoredConnectionTheStrictPolicyRefusesFailsClearlyWhenUsed(t *testing.T) {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) { d.Outbound = egress.Strict() })
	var res testResult
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.approverToken, nil, &res))
	require.False(t, res.OK)
	require.Contains(t, res.Message, "outbound policy refuses")
	require.Contains(t, res.Message, "plain http")
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/sources/backup/test", s.approverToken, nil, &res))
	require.False(t, res.OK)
	require.Contains(t, res.Message, "outbound policy refuses")
}

// Whatever answers at a URL an admin typed, a connection test says what kind of answer it
// was and never what it said: it must not become a way to read internal pages.
func TestConnectionTestNeverEchoesTheBodyOfAnUnexpectedAnswer(t *testing.T) {
	s := newStack(t)
	conn := connect.New(s.store, testOutbound)
	conn.SetTestBudget(20, time.Second) // ten tests in a row, above the default budget
	s.restartAPI(func(d *api.Deps) { d.Connector = conn })
	const page = "<html><title>Router admin</title>wifi password: hunter2-internal</html>"
	odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, page)
	}))
	t.Cleanup(odd.Close)
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, page)
	}))
	t.Cleanup(status.Close)

	for _, tc := range []struct{ path, kind string }{
		{s.tp + "/sources/backup/test", ""},
		{s.tp + "/sources/licenses/test", ""},
		{s.tp + "/sources/gauges/test", ""},
		{s.tp + "/psa/test", "connectwise"},
		{s.tp + "/psa/test", "autotask"},
	} {
		for _, srv := range []*httptest.Server{odd, status} {
			var creds map[string]any
			switch {
			case tc.kind == "connectwise":
				creds = cwCredentials(srv.URL)
			case tc.kind == "autotask":
				creds = atCredentials(srv.URL)
			case strings.Contains(tc.path, "gauges"):
				creds = map[string]any{"base_url": srv.URL, "client_id": "c", "client_secret": "s3cret"}
			default:
				creds = map[string]any{"base_url": srv.URL, "api_key": "k3y-of-the-service"}
			}
			body := map[string]any{"credentials": creds}
			if tc.kind != "" {
				body["kind"] = tc.kind
			}
			var res testResult
			require.Equal(t, http.StatusOK, s.call("POST", tc.path, s.adminToken, body, &res), "%s %s", tc.path, tc.kind)
			require.False(t, res.OK, "%s %s", tc.path, tc.kind)
			text := res.Message + "\n" + strings.Join(res.Details, "\n")
			require.NotContains(t, text, "hunter2", "%s %s echoed the answer: %s", tc.path, tc.kind, text)
			require.NotContains(t, text, "Router admin", "%s %s echoed the answer: %s", tc.path, tc.kind, text)
		}
	}
}

// Connection tests make the server call out on request, so each tenant has a budget of them:
// past it, 429 with Retry-After, and other tenants are not affected.
func TestConnectionTestsHaveAPerTenantCooldown(t *testing.T) {
	s := newStack(t)
	other := s.tenantID + "-b"
	_, err := demo.Seed(context.Background(), s.store, s.urls, demo.Options{TenantID: other})
	require.NoError(t, err)
	conn := connect.New(s.store, testOutbound)
	conn.SetTestBudget(2, time.Hour)
	s.restartAPI(func(d *api.Deps) { d.Connector = conn })

	var res testResult
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/psa/test", s.approverToken, nil, &res))
	require.True(t, res.OK, res.Message)
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/sources/backup/test", s.approverToken, nil, &res))
	resp, body := s.adminRaw("POST", s.tp+"/psa/test", s.approverToken)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"test_too_soon"`)
	wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Positive(t, wait)
	resp, body = s.adminRaw("POST", s.tp+"/sources/licenses/test", s.adminToken)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the budget is the tenant's, whoever asks: %s", body)

	resp, body = s.adminRaw("POST", "/api/v1/tenants/"+other+"/psa/test", s.adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, "another tenant's budget is its own: %s", body)
}
