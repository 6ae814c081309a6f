package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// ownMetrics are the names of meterbridge's own metrics.
func ownMetrics() map[string]bool {
	ch := make(chan *prometheus.Desc, 32)
	for _, c := range []prometheus.Collector{BuildInfo, httpRequests, httpInFlight, cycles, items, outbound, rateLimitWaits, rateLimitWaitSeconds, snapshotLag, snapshots} {
		c.Describe(ch)
	}
	close(ch)
	names := map[string]bool{}
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		names[re.FindStringSubmatch(d.String())[1]] = true
	}
	return names
}

// The Grafana dashboard in deploy/ asks only for metrics meterbridge has, so a renamed
// metric cannot leave an empty panel behind.
func TestDashboardAsksOnlyForMetricsThatExist(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/dashboards/meterbridge.json")
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	own := ownMetrics()
	used := map[string]bool{}
	re := regexp.MustCompile(`\bmeterbridge_[a-z_]+`)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, name := range re.FindAllString(tg.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(name, suffix); ok && own[b] {
						base = b
					}
				}
				require.True(t, own[base], "panel %q asks for %s, which meterbridge does not have", p.Title, name)
				used[base] = true
			}
		}
	}
	for name := range own {
		if name != "meterbridge_build_info" && name != "meterbridge_http_requests_in_flight" {
			require.True(t, used[name], "%s is on no panel of the dashboard", name)
		}
	}
}

// URLs in spans lose their query and user info: outbound URLs may carry keys there.
func TestSpanURLsLoseQueryAndUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example/v1/usage?api_key=s3cret&page=2": "https://api.example/v1/usage",
		"https://user:pass@host.example/x#frag":              "https://host.example/x",
		"https://host.example/a/b":                           "https://host.example/a/b",
		"::not a url?key=1":                                  "::not a url",
	} {
		require.Equal(t, want, redactURL(in), in)
	}
}

// /readyz runs every check and names each; /healthz follows Live; /metrics serves the registry.
func TestHealthHandlerNamesEachCheck(t *testing.T) {
	var live, db error
	h := Handler(&Health{
		Live: func() error { return live },
		Ready: []Check{
			{Name: "database", Run: func(context.Context) error { return db }},
			{Name: "temporal", Run: func(context.Context) error { return nil }},
		},
	})
	code, body := get(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"ready": true, "checks": {"database": "ok", "temporal": "ok"}}`, body)
	db = errors.New("dial tcp 10.0.0.5:5432: connection refused")
	code, body = get(t, h, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"ready": false, "checks": {"database": "unavailable", "temporal": "ok"}}`, body)
	require.NotContains(t, body, "10.0.0.5", "reasons go to the log")
	code, _ = get(t, h, "/healthz")
	require.Equal(t, http.StatusOK, code)
	live = errors.New("worker stopped")
	code, _ = get(t, h, "/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code)

	HTTPRequest("GET", "/api/v1/tenants/:tenant/pending", 200, 0)
	code, body = get(t, h, "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `meterbridge_http_request_duration_seconds_count{method="GET",route="/api/v1/tenants/:tenant/pending",status="200"}`)
	require.Contains(t, body, "meterbridge_build_info{")
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}
