package gauges

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func postToken(t *testing.T, s *Server, form url.Values, basicID, basicSecret string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		r.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var body map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return w, body
}

func TestTokenEndpointAcceptsBasicOrFormCredentials(t *testing.T) {
	s := NewDemo()
	s.AddOAuthClient("id with space", "p@ss:word")

	w, body := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, "id with space", "p@ss:word")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "Bearer", body["token_type"])
	assert.EqualValues(t, 3600, body["expires_in"])
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	w, _ = postToken(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret}}, "", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 2, s.Counts().TokensIssued)
}

func TestTokenEndpointErrors(t *testing.T) {
	cases := []struct {
		name   string
		form   url.Values
		basic  [2]string
		status int
		code   string
	}{
		{"both methods", url.Values{"grant_type": {"client_credentials"}, "client_secret": {DemoClientSecret}}, [2]string{DemoClientID, DemoClientSecret}, 400, "invalid_request"},
		{"no grant", url.Values{}, [2]string{DemoClientID, DemoClientSecret}, 400, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}}, [2]string{DemoClientID, DemoClientSecret}, 400, "unsupported_grant_type"},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, [2]string{DemoClientID, "x"}, 401, "invalid_client"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"who"}, "client_secret": {"x"}}, [2]string{}, 401, "invalid_client"},
		{"no credentials", url.Values{"grant_type": {"client_credentials"}}, [2]string{}, 401, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewDemo()
			w, body := postToken(t, s, tc.form, tc.basic[0], tc.basic[1])
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, tc.code, body["error"])
			assert.Equal(t, 0, s.Counts().TokensIssued)
		})
	}
}

func TestAPIRefusesMissingToken(t *testing.T) {
	s := NewDemo()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/gauges/"+DemoGaugeMRR, nil))

	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
	assert.JSONEq(t, `{"error":{"code":"unauthorized","message":"send an access token as Authorization: Bearer <token>"}}`, w.Body.String())
	assert.Equal(t, 0, s.Counts().GaugeReads)
}

func TestControlEndpoints(t *testing.T) {
	s := NewDemo()
	_, body := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, DemoClientID, DemoClientSecret)
	require.Equal(t, 1, s.LiveTokens())

	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/_emulator/tokens/revoke", nil))
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, 0, s.LiveTokens())

	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/_emulator/gauges/g_new", strings.NewReader(`{"name":"New","unit":"x","value":"3.50"}`)))
	assert.Equal(t, http.StatusOK, w.Code)

	r := httptest.NewRequest(http.MethodGet, "/v1/gauges/g_new", nil)
	r.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	assert.Equal(t, http.StatusUnauthorized, w.Code, "revoked token")
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token"`)

	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/_emulator/state", nil))
	var state struct {
		Gauges []gaugeWire `json:"gauges"`
		Counts Counts      `json:"counts"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &state))
	assert.Len(t, state.Gauges, 4)
	assert.Equal(t, 1, state.Counts.Unauthorized)
}

func TestListPagesByCursor(t *testing.T) {
	s := NewDemo()
	s.SetMaxPageSize(2)
	_, body := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, DemoClientID, DemoClientSecret)
	get := func(path string) map[string]json.RawMessage {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var out map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		return out
	}
	first := get("/v1/gauges?page_size=10")
	var paging struct {
		NextCursor string `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(first["paging"], &paging))
	require.NotEmpty(t, paging.NextCursor)
	second := get("/v1/gauges?cursor=" + paging.NextCursor)
	var data []gaugeWire
	require.NoError(t, json.Unmarshal(second["data"], &data))
	assert.Equal(t, []string{DemoGaugeOpenTickets}, []string{data[0].ID})
	assert.JSONEq(t, `{}`, string(second["paging"]))
}
