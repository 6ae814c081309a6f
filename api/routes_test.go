package api

import (
	"strings"
	"testing"

	"github.com/meterbridge/meterbridge/store"
)

// The route table is the API's access policy. These rules hold for every route, so a route
// added without its tenant check or with too weak a role fails here before any request is
// sent (integration/access_test.go then walks every route with real tokens).
func TestEveryRouteDeclaresASafeAccessPolicy(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range routes() {
		name := rt.Method + " " + rt.Path
		if seen[name] {
			t.Errorf("%s is registered twice", name)
		}
		seen[name] = true
		if rt.Handler == nil {
			t.Errorf("%s has no handler", name)
		}
		if !strings.HasPrefix(rt.Path, "/api/") {
			if rt.Role != "" {
				t.Errorf("%s: only /api/ routes take tokens", name)
			}
			if rt.Method != "GET" {
				t.Errorf("%s: routes without a token must not change anything", name)
			}
			continue
		}
		switch rt.Role {
		case store.RoleAdmin, store.RoleApprover, store.RoleViewer:
		default:
			t.Errorf("%s: every /api/ route needs a least role (admin, approver or viewer), not %q", name, rt.Role)
		}
		underTenant := strings.HasPrefix(rt.Path, "/api/v1/tenants/:tenant")
		if strings.Contains(rt.Path, ":tenant") && !underTenant {
			t.Errorf("%s: :tenant must be the first parameter, /api/v1/tenants/:tenant/...", name)
		}
		if underTenant != rt.Tenant {
			t.Errorf("%s: Tenant must be %v, so the token is checked against the tenant in the path", name, underTenant)
		}
		if !rt.Tenant && rt.Role != store.RoleAdmin {
			t.Errorf("%s: a route outside /tenants/:tenant reaches every tenant and must be admin-only", name)
		}
		if changesState(rt.Method) && rank(rt.Role) < rank(store.RoleApprover) {
			t.Errorf("%s changes state, so viewers must not call it: least role approver or admin", name)
		}
	}
}

func TestRouteActionsNameWhatChanged(t *testing.T) {
	for in, want := range map[string]string{
		"PUT /api/v1/tenants/:tenant/mappings/:mapping": "api.put.mappings",
		"PATCH /api/v1/tenants/:tenant":                 "api.patch.tenant",
		"POST /api/v1/tenants/:tenant/pending/approve":  "api.post.pending.approve",
		"DELETE /api/v1/tokens/:token":                  "api.delete.tokens",
	} {
		method, path, _ := strings.Cut(in, " ")
		if got := routeAction(method, path); got != want {
			t.Errorf("routeAction(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestIDsFromCallersArePlain(t *testing.T) {
	for id, ok := range map[string]bool{
		"abc-123":                  true,
		"trace:4bf92f3577b34da6.1": true,
		"":                         false,
		"two words":                false,
		"line\nbreak":              false,
		strings.Repeat("a", 65):    false,
	} {
		if validRequestID(id) != ok {
			t.Errorf("validRequestID(%q) = %v, want %v", id, !ok, ok)
		}
	}
}
