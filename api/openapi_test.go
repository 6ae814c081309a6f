package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/require"
)

// howToDocument is what a failing check tells the engineer who added or changed a route.
const howToDocument = `
Every route of api.Routes() is documented in api/openapi.yaml, and only those. To document a
route: add its path (":name" parameters become "{name}") and method under "paths", with
  x-meterbridge-role: the route's least role (admin, approver, viewer) or public,
its path and query parameters, its request body, and its success answer with a schema
(reuse or add one under components.schemas); errors share
  default: {$ref: '#/components/responses/Error'}.
The integration tests then validate every answer against it (integration/openapi_test.go).`

// The document and the route table agree: every route is documented with its least role,
// every documented operation is a route, and every path parameter is declared.
func TestOpenAPIDocumentsEveryRouteAndOnlyThem(t *testing.T) {
	doc, err := libopenapi.NewDocument(openAPIYAML)
	require.NoError(t, err)
	model, err := doc.BuildV3Model()
	require.NoError(t, err, "api/openapi.yaml is not a valid OpenAPI 3.1 document")
	require.Equal(t, "3.1.0", model.Model.Version)

	documented := map[string]string{} // "GET /api/v1/..." → x-meterbridge-role
	params := map[string][]string{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			key := strings.ToUpper(method) + " " + path
			role := ""
			if op.Extensions != nil {
				if n, ok := op.Extensions.Get("x-meterbridge-role"); ok {
					role = n.Value
				}
			}
			documented[key] = role
			var names []string
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.In == "path" {
					names = append(names, p.Name)
				}
			}
			sort.Strings(names)
			params[key] = names
		}
	}
	var problems []string
	routes := map[string]bool{}
	for _, rt := range Routes() {
		key := rt.Method + " " + openAPIPath(rt.Path)
		routes[key] = true
		role, ok := documented[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s %s is a route but not documented", rt.Method, rt.Path))
			continue
		}
		want := rt.Role
		if want == "" {
			want = "public"
		}
		if role != want {
			problems = append(problems, fmt.Sprintf("%s: x-meterbridge-role is %q, the route's least role is %q", key, role, want))
		}
		if got, want := params[key], pathParams(rt.Path); strings.Join(got, ",") != strings.Join(want, ",") {
			problems = append(problems, fmt.Sprintf("%s declares path parameters %v, the route has %v", key, got, want))
		}
	}
	for key := range documented {
		if !routes[key] {
			problems = append(problems, key+" is documented but no such route is registered")
		}
	}
	sort.Strings(problems)
	require.Empty(t, problems, "api/openapi.yaml and api.Routes() disagree:\n  %s\n%s", strings.Join(problems, "\n  "), howToDocument)
}

// The document is valid against the OpenAPI 3.1 schema.
func TestOpenAPIDocumentIsValidOpenAPI31(t *testing.T) {
	doc, err := libopenapi.NewDocument(openAPIYAML)
	require.NoError(t, err)
	v, errs := validator.NewValidator(doc)
	require.Empty(t, errs)
	ok, verrs := v.ValidateDocument()
	var msgs []string
	for _, e := range verrs {
		msgs = append(msgs, e.Error())
	}
	require.True(t, ok, "api/openapi.yaml:\n%s", strings.Join(msgs, "\n"))
}

// GET /api/v1/openapi.json answers the document as JSON, without a token.
func TestOpenAPIDocumentIsServedWithoutAToken(t *testing.T) {
	h := New(Deps{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Contains(t, doc.Paths, "/api/v1/tenants/{tenant}/pending/approve")
	require.JSONEq(t, string(OpenAPI()), rec.Body.String())
}

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath turns a Gin path into an OpenAPI one: /tenants/:tenant → /tenants/{tenant}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

func pathParams(p string) []string {
	var out []string
	for _, m := range ginParam.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}
