package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"runtime"
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
		if rt.Role == "" && !publicRoutes[name] {
			t.Errorf("%s has no least role; only the routes in publicRoutes are public", name)
		}
		if !strings.HasPrefix(rt.Path, "/api/") || publicRoutes[name] {
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

// Every GET route checks its query (rejectUnknownQuery), so a mistyped ?limt=5 is an error
// rather than ignored; state-changing routes get the router's check (query.go).
func TestEveryGetHandlerChecksItsQuery(t *testing.T) {
	checks := map[string]bool{} // handler method name → calls rejectUnknownQuery
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "rejectUnknownQuery" {
						checks[fd.Name.Name] = true
					}
				}
				return true
			})
		}
	}
	for _, rt := range routes() {
		if rt.Method != "GET" || !strings.HasPrefix(rt.Path, "/api/") {
			continue
		}
		full := runtime.FuncForPC(reflect.ValueOf(rt.Handler).Pointer()).Name()
		name := full[strings.LastIndex(full, ".")+1:]
		if !checks[name] {
			t.Errorf("GET %s: its handler %s does not call rejectUnknownQuery", rt.Path, name)
		}
	}
	for route := range mutationQuery {
		found := false
		for _, rt := range routes() {
			found = found || rt.Method+" "+rt.Path == route
		}
		if !found {
			t.Errorf("mutationQuery lists %s, which is not a route", route)
		}
	}
}
