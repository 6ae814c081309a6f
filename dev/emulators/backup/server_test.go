package backup

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

func do(s *Server, method, path, key, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("X-API-Key", key)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestErrorsUseTheAPIShape(t *testing.T) {
	cases := []struct {
		name, path, key string
		status          int
		code, field     string
	}{
		{"missing key", "/v1/usage?year=2026&month=11", "", 401, "missing_api_key", ""},
		{"wrong key", "/v1/usage?year=2026&month=11", "nope", 401, "invalid_api_key", ""},
		{"bad month", "/v1/usage?year=2026&month=13", DemoAPIKey, 400, "invalid_parameter", "month"},
		{"no year", "/v1/usage?month=1", DemoAPIKey, 400, "invalid_parameter", "year"},
		{"bad page size", "/v1/usage?year=2026&month=1&page_size=0", DemoAPIKey, 400, "invalid_parameter", "page_size"},
		{"bad cursor", "/v1/usage?year=2026&month=1&cursor=bm90LWpzb24", DemoAPIKey, 400, "invalid_cursor", "cursor"},
		{"unknown path", "/v2/usage", DemoAPIKey, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := do(NewDemo(), http.MethodGet, tc.path, tc.key, "")
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, tc.code, body.Error.Code)
			assert.Equal(t, tc.field, body.Error.Field)
			assert.NotEmpty(t, body.Error.Message)
		})
	}
}

func TestInjected429HasRetryAfterAndAPIShape(t *testing.T) {
	s := NewDemo()
	s.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 7})

	w := do(s, http.MethodGet, "/v1/account", DemoAPIKey, "")

	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "7", w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), `"code":"rate_limited"`)
	assert.Equal(t, Counts{}, s.Counts(), "throttled requests do not reach the API")
}

func TestControlEndpointsChangeWhatTheAPIReturns(t *testing.T) {
	s := NewDemo()
	assert.Equal(t, http.StatusOK, do(s, http.MethodPut, "/_emulator/clients/cl_9", "", `{"name":"Hooli","managed_id":"HOOLI-009","monthly_gb":"1.5"}`).Code)
	assert.Equal(t, http.StatusNoContent, do(s, http.MethodPut, "/_emulator/clients/cl_9/usage/2026/3", "", `{"billable_gb":"2.25"}`).Code)
	assert.Equal(t, http.StatusNotFound, do(s, http.MethodPut, "/_emulator/clients/cl_x/usage/2026/3", "", `{"billable_gb":"1"}`).Code)
	assert.Equal(t, http.StatusNoContent, do(s, http.MethodDelete, "/_emulator/clients/"+DemoClientGlobex, "", "").Code)

	w := do(s, http.MethodGet, "/v1/usage?year=2026&month=3", DemoAPIKey, "")
	require.Equal(t, http.StatusOK, w.Code)
	var page struct {
		Data []struct {
			ClientID   string          `json:"client_id"`
			BillableGB json.RawMessage `json:"billable_gb"`
		}
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	got := map[string]string{}
	for _, r := range page.Data {
		got[r.ClientID] = string(r.BillableGB)
	}
	assert.Equal(t, map[string]string{DemoClientAcme: "120.75", DemoClientInitech: "88", "cl_9": "2.25"}, got)

	w = do(s, http.MethodGet, "/_emulator/state", "", "")
	assert.Contains(t, w.Body.String(), `"year":2026,"month":3,"billable_gb":"2.25"`)
}

func TestSetUsageNeedsAKnownClient(t *testing.T) {
	s := New(Options{})
	assert.ErrorIs(t, s.SetUsage("cl_none", 2026, time.January, decimal.NewFromInt(1)), ErrUnknownClient)
}
