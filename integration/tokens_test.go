package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/store"
)

// request sends one request and returns the response (body read) for header checks.
func (s *stack) request(method, path, token, body string) (*http.Response, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.api.URL+path, rd)
	require.NoError(s.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

type tokenAnswer struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

func TestAdminsCreateListAndRevokeTokensAndEachChangeIsAudited(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	// Created: the secret is answered once, not cached, and works at once.
	resp, raw := s.request("POST", "/api/v1/tokens", s.adminToken,
		`{"role": "approver", "tenant_id": "`+s.tenantID+`", "owner_email": "Pat@Demo-MSP.example", "name": "Pat's laptop"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var created tokenAnswer
	require.NoError(t, json.Unmarshal(raw, &created))
	require.True(t, strings.HasPrefix(created.Secret, "mbt_"), created.Secret)
	require.Equal(t, "pat@demo-msp.example", created.Token.OwnerEmail)
	require.Equal(t, "admin@demo-msp.example", created.Token.CreatedBy)
	require.Equal(t, http.StatusOK, s.call("GET", s.tp, created.Secret, nil, nil))

	// Listed without secrets: by admins (all, or one tenant's), and by the tenant's approvers.
	for _, c := range []struct{ path, token string }{
		{"/api/v1/tokens", s.adminToken},
		{"/api/v1/tokens?tenant=" + s.tenantID, s.adminToken},
		{s.tp + "/tokens", s.approverToken},
	} {
		resp, raw := s.request("GET", c.path, c.token, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", c.path, raw)
		require.NotContains(t, string(raw), created.Secret, c.path)
		require.NotContains(t, string(raw), `"secret`, c.path)
		require.Contains(t, string(raw), created.Token.ID, c.path)
	}
	var listed struct{ Tokens []store.Token }
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/tokens", s.approverToken, nil, &listed))
	for _, tok := range listed.Tokens {
		require.Equal(t, s.tenantID, tok.TenantID, "an approver sees only its own tenant's tokens")
	}
	require.Equal(t, http.StatusForbidden, s.call("GET", s.tp+"/tokens", s.viewerToken, nil, nil), "viewers do not list tokens")

	// Revoked: the token stops working at once; revoking again keeps the first time.
	var revoked struct{ Token store.Token }
	require.Equal(t, http.StatusOK, s.call("DELETE", "/api/v1/tokens/"+created.Token.ID, s.adminToken, nil, &revoked))
	require.NotNil(t, revoked.Token.RevokedAt)
	var e errorAnswer
	require.Equal(t, http.StatusUnauthorized, s.call("GET", s.tp, created.Secret, nil, &e))
	require.Equal(t, "unauthorized", e.Error.Code)
	var again struct{ Token store.Token }
	require.Equal(t, http.StatusOK, s.call("DELETE", "/api/v1/tokens/"+created.Token.ID, s.adminToken, nil, &again))
	require.True(t, again.Token.RevokedAt.Equal(*revoked.Token.RevokedAt))
	require.Equal(t, http.StatusNotFound, s.call("DELETE", "/api/v1/tokens/00000000-0000-0000-0000-000000000000", s.adminToken, nil, nil))
	require.Equal(t, http.StatusNotFound, s.call("DELETE", "/api/v1/tokens/not-a-uuid", s.adminToken, nil, nil))

	// Both changes are in the admin trail (which tenants cannot clear) and in the tenant's
	// site history, with who did them.
	trail, err := s.store.ListAdminAudit(ctx, 0)
	require.NoError(t, err)
	var actions []string
	for _, a := range trail {
		require.Equal(t, "admin@demo-msp.example", a.Actor)
		require.Equal(t, s.tenantID, a.TenantID)
		require.NotContains(t, string(a.Details), created.Secret)
		actions = append(actions, a.Action)
	}
	require.Equal(t, []string{"token.revoked", "token.revoked", "token.created"}, actions)
	h, err := s.store.ListHistory(ctx, s.tenantID, 0)
	require.NoError(t, err)
	found := map[string]string{}
	for _, e := range h {
		found[e.Action] = e.Actor
	}
	require.Equal(t, "admin@demo-msp.example", found["token.created"])
	require.Equal(t, "admin@demo-msp.example", found["token.revoked"])
}

func TestTokenRequestsAreValidated(t *testing.T) {
	s := newStack(t)
	cases := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"unknown role", `{"role": "root", "owner_email": "a@demo-msp.example"}`, 422, "validation_failed", "role"},
		{"approver without tenant", `{"role": "approver", "owner_email": "a@demo-msp.example"}`, 422, "validation_failed", "tenant_id"},
		{"admin with tenant", `{"role": "admin", "tenant_id": "` + s.tenantID + `", "owner_email": "a@demo-msp.example"}`, 422, "validation_failed", "tenant_id"},
		{"unknown tenant", `{"role": "viewer", "tenant_id": "nobody", "owner_email": "a@demo-msp.example"}`, 422, "validation_failed", "tenant_id"},
		{"malformed tenant", `{"role": "viewer", "tenant_id": "../x", "owner_email": "a@demo-msp.example"}`, 422, "validation_failed", "tenant_id"},
		{"bad e-mail", `{"role": "viewer", "tenant_id": "` + s.tenantID + `", "owner_email": "Ann <a@demo-msp.example>"}`, 422, "validation_failed", "owner_email"},
		{"name with a line break", `{"role": "admin", "owner_email": "a@demo-msp.example", "name": "a\nb"}`, 422, "validation_failed", "name"},
		{"long name", `{"role": "admin", "owner_email": "a@demo-msp.example", "name": "` + strings.Repeat("n", 101) + `"}`, 422, "validation_failed", "name"},
		{"unknown field", `{"role": "admin", "owner_email": "a@demo-msp.example", "expires": "never"}`, 400, "unknown_field", "expires"},
		{"secret chosen by the caller", `{"role": "admin", "owner_email": "a@demo-msp.example", "secret": "mbt_mine"}`, 400, "unknown_field", "secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e errorAnswer
			require.Equal(t, tc.status, s.call("POST", "/api/v1/tokens", s.adminToken, tc.body, &e), "%+v", e)
			require.Equal(t, tc.code, e.Error.Code)
			require.Equal(t, tc.field, e.Error.Field)
		})
	}
	var e errorAnswer
	require.Equal(t, http.StatusBadRequest, s.call("GET", "/api/v1/tokens?tenant=../x", s.adminToken, nil, &e))
	require.Equal(t, http.StatusBadRequest, s.call("GET", "/api/v1/tokens?tennant="+s.tenantID, s.adminToken, nil, &e))
	require.Equal(t, "unknown_query", e.Error.Code)
	toks, err := s.store.ListTokens(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, toks, 3, "no refused request may have created a token")
}

func TestEachTokenHasItsOwnRateLimit(t *testing.T) {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) { d.RateLimit = 1 }) // a burst of 5, then one per second
	limited := 0
	var last *http.Response
	for range 8 {
		resp, _ := s.request("GET", s.tp, s.viewerToken, "")
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			last = resp
		}
	}
	require.GreaterOrEqual(t, limited, 2)
	secs, err := strconv.Atoi(last.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, secs, 1)
	resp, _ := s.request("GET", s.tp, s.approverToken, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "another token keeps its own budget")
}

func TestUnknownTokensFromOneAddressAreSlowedDown(t *testing.T) {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) { d.AuthFailureBurst = 3 })
	for i := range 3 {
		resp, raw := s.request("GET", s.tp, "mbt_guess"+strconv.Itoa(i)+strings.Repeat("x", 30), "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", raw)
	}
	resp, raw := s.request("GET", s.tp, "mbt_guess-again"+strings.Repeat("x", 30), "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", raw)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.True(t, bytes.Contains(raw, []byte(`"rate_limited"`)), "%s", raw)
	// While the address is over its budget its unknown tokens are refused with 429, but a
	// valid token from the same address is never locked out.
	resp, _ = s.request("GET", s.tp, s.viewerToken, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// Requests without any token cost no lookup and are not counted, but are still refused.
	s.restartAPI(func(d *api.Deps) { d.AuthFailureBurst = 3 })
	for range 10 {
		resp, _ := s.request("GET", s.tp, "", "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, _ = s.request("GET", s.tp, s.viewerToken, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// A state-changing route whose handler writes no history of its own is audited by the
// router, once, naming the caller and never the request body (it may hold credentials).
func TestRequestsWithoutTheirOwnAuditAreAuditedByTheRouter(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	body := `{"kind": "connectwise", "credentials": {"site_url": "` + s.urls.ConnectWise + `", "company_id": "meterbridge", "public_key": "emulator-public-key", "private_key": "candidate-private-key", "client_id": "2d3b8a4e-6f1c-4b59-9a0e-7c5d1e2f3a40"}}`
	resp, raw := s.request("POST", s.tp+"/psa/test", s.adminToken, body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	requestID := resp.Header.Get("X-Request-ID")
	h, err := s.store.ListHistory(ctx, s.tenantID, 0)
	require.NoError(t, err)
	var rows []store.HistoryEntry
	for _, e := range h {
		if strings.Contains(string(e.Details), requestID) {
			rows = append(rows, e)
		}
	}
	require.Len(t, rows, 1, "one history row per request")
	require.Equal(t, "api.post.psa.test", rows[0].Action)
	require.Equal(t, "admin@demo-msp.example", rows[0].Actor)
	require.Contains(t, string(rows[0].Details), `"by_role": "admin"`)
	require.NotContains(t, string(rows[0].Details), "candidate-private-key")
	require.NotContains(t, rows[0].Message, "candidate-private-key")

	// A caller cannot pick the request ID that history rows are matched by.
	req, _ := http.NewRequest("GET", s.api.URL+s.tp, nil)
	req.Header.Set("Authorization", "Bearer "+s.viewerToken)
	req.Header.Set("X-Request-ID", "trace-1")
	resp2, err := s.client().Do(req)
	require.NoError(t, err)
	resp2.Body.Close()
	require.True(t, strings.HasPrefix(resp2.Header.Get("X-Request-ID"), "trace-1."), resp2.Header.Get("X-Request-ID"))
	require.NotEqual(t, "trace-1.", resp2.Header.Get("X-Request-ID"))
}

// fromClient sends a request with an X-Forwarded-For, as a reverse proxy does.
func (s *stack) fromClient(forwardedFor, token string) int {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.api.URL+s.tp, nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func badToken(i int) string { return "mbt_guess" + strconv.Itoa(i) + strings.Repeat("x", 30) }

// A burst of bad tokens from one address, then a valid token from the same address: 200.
func TestValidTokenIsNeverLockedOutByBadTokensFromItsAddress(t *testing.T) {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) { d.AuthFailureBurst = 5 })
	for i := range 25 {
		resp, _ := s.request("GET", s.tp, badToken(i), "")
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, resp.StatusCode)
	}
	resp, raw := s.request("GET", s.tp, badToken(99), "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", raw)
	for _, tok := range []string{s.viewerToken, s.approverToken, s.adminToken} {
		resp, raw := s.request("GET", s.tp, tok, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "a valid token was refused: %s", raw)
	}
}

// Behind a trusted proxy each client is counted by the address the proxy reports: one
// client's bad tokens do not slow another down.
func TestClientsBehindATrustedProxyAreCountedApart(t *testing.T) {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) {
		d.AuthFailureBurst = 3
		d.TrustedProxies = []string{"127.0.0.1", "::1"} // the test's requests come from here
	})
	for i := range 3 {
		require.Equal(t, http.StatusUnauthorized, s.fromClient("203.0.113.7", badToken(i)))
	}
	require.Equal(t, http.StatusTooManyRequests, s.fromClient("203.0.113.7", badToken(3)), "the first client is over its budget")
	require.Equal(t, http.StatusUnauthorized, s.fromClient("203.0.113.8", badToken(4)), "another client behind the same proxy shares it")
	require.Equal(t, http.StatusOK, s.fromClient("203.0.113.7", s.viewerToken))
}

// Without trusted proxies X-Forwarded-For is whatever the client wrote: it is ignored, so
// inventing a new address for each guess gains nothing.
func TestUntrustedForwardedForIsIgnored(t *testing.T) {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) { d.AuthFailureBurst = 3 })
	for i := range 3 {
		require.Equal(t, http.StatusUnauthorized, s.fromClient("198.51.100."+strconv.Itoa(i), badToken(i)))
	}
	require.Equal(t, http.StatusTooManyRequests, s.fromClient("198.51.100.200", badToken(3)))
	require.Equal(t, http.StatusOK, s.fromClient("198.51.100.201", s.viewerToken))
}

// A token's last use is recorded at most once a minute, and not for requests its rate limit
// refused.
func TestTokenUseIsRecordedAtMostOnceAMinute(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	s.restartAPI(func(d *api.Deps) { d.RateLimit = 1 }) // a burst of 5, then 429
	// Every write of last_used_at is counted by a trigger of the test's own database.
	for _, stmt := range []string{
		`CREATE TABLE token_touches (n int NOT NULL)`,
		`INSERT INTO token_touches VALUES (0)`,
		`CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN UPDATE token_touches SET n = n + 1; RETURN NEW; END $$`,
		`CREATE TRIGGER count_touch AFTER UPDATE OF last_used_at ON api_tokens FOR EACH ROW EXECUTE FUNCTION count_touch()`,
	} {
		_, err := s.store.Pool().Exec(ctx, stmt)
		require.NoError(t, err)
	}
	statuses := map[int]int{}
	for range 20 {
		resp, _ := s.request("GET", s.tp, s.viewerToken, "")
		statuses[resp.StatusCode]++
	}
	require.Positive(t, statuses[http.StatusTooManyRequests], "the rate limit never refused: %v", statuses)
	var n int
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT n FROM token_touches`).Scan(&n))
	require.Equal(t, 1, n, "last_used_at written %d times for %v", n, statuses)
	toks, err := s.store.ListTokens(ctx, s.tenantID)
	require.NoError(t, err)
	for _, tok := range toks {
		if tok.Role == store.RoleViewer {
			require.NotNil(t, tok.LastUsedAt, "the use was not recorded")
		}
	}
}
