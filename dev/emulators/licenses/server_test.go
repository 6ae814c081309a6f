package licenses

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func do(s *Server, method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestErrorsAreProblemDetails(t *testing.T) {
	cases := []struct {
		name, path, token string
		status            int
		typ, param        string
	}{
		{"no token", "/v1/accounts", "", 401, "/problems/unauthorized", ""},
		{"wrong token", "/v1/accounts", "nope", 401, "/problems/invalid-token", ""},
		{"bad page", "/v1/accounts?page=0", DemoAPIToken, 400, "/problems/invalid-parameter", "page"},
		{"bad per_page", "/v1/accounts?per_page=x", DemoAPIToken, 400, "/problems/invalid-parameter", "per_page"},
		{"unknown path", "/v1/licenses", DemoAPIToken, 404, "/problems/not-found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := do(NewDemo(), http.MethodGet, tc.path, tc.token, "")
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			var p struct {
				Type          string
				Status        int
				InvalidParams []struct{ Name string } `json:"invalid_params"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
			assert.Equal(t, tc.typ, p.Type)
			assert.Equal(t, tc.status, p.Status)
			if tc.param != "" {
				require.Len(t, p.InvalidParams, 1)
				assert.Equal(t, tc.param, p.InvalidParams[0].Name)
			}
		})
	}
}

func TestPagingLinks(t *testing.T) {
	s := NewDemo()
	s.SetMaxPageSize(3)

	w := do(s, http.MethodGet, "/v1/accounts?per_page=50", DemoAPIToken, "")

	var body struct {
		Data  []accountWire
		Meta  map[string]int
		Links map[string]*string
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	assert.Len(t, body.Data, 3)
	assert.Equal(t, map[string]int{"page": 1, "per_page": 3, "total_count": 4, "total_pages": 2}, body.Meta)
	require.NotNil(t, body.Links["next"])
	assert.Equal(t, "http://example.com/v1/accounts?page=2&per_page=3", *body.Links["next"])

	w = do(s, http.MethodGet, "/v1/accounts?page=2&per_page=3", DemoAPIToken, "")
	assert.Contains(t, w.Body.String(), `"next":null`)
}

func TestControlEndpointsChangeUnits(t *testing.T) {
	s := NewDemo()
	assert.Equal(t, http.StatusNoContent, do(s, http.MethodPut, "/_emulator/accounts/"+DemoAccountAcme+"/licenses/server", "", `{"units":"0"}`).Code)
	assert.Equal(t, http.StatusNoContent, do(s, http.MethodDelete, "/_emulator/accounts/"+DemoAccountAcme+"/licenses/desktop", "", "").Code)
	assert.Equal(t, http.StatusNotFound, do(s, http.MethodPut, "/_emulator/accounts/acc_x/licenses/server", "", `{"units":"1"}`).Code)
	assert.Equal(t, http.StatusOK, do(s, http.MethodPut, "/_emulator/accounts/acc_2000", "", `{"name":"Hooli","status":"suspended"}`).Code)

	u, ok := s.Units(DemoAccountAcme, TypeServer)
	assert.True(t, ok)
	assert.True(t, u.IsZero())
	_, ok = s.Units(DemoAccountAcme, TypeDesktop)
	assert.False(t, ok)

	w := do(s, http.MethodGet, "/v1/accounts", DemoAPIToken, "")
	assert.Contains(t, w.Body.String(), `{"type":"server","units":0}`)
	assert.Contains(t, w.Body.String(), `"status":"suspended"`)
	assert.Contains(t, do(s, http.MethodGet, "/_emulator/state", "", "").Body.String(), `"accounts":1`)
}
