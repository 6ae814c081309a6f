package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

const api = "/v4_6_release/apis/3.0"

type site struct {
	emu *Server
	srv *httptest.Server
}

func newSite(t *testing.T, opts Options) *site {
	t.Helper()
	emu := New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &site{emu: emu, srv: srv}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a zeroed v (decoding into a used map would keep old keys).
func (r reply) json(t *testing.T, v any) {
	t.Helper()
	reflect.ValueOf(v).Elem().SetZero()
	require.NoError(t, json.Unmarshal(r.body, v), "%s", r.body)
}

// call sends one request with the accepted credentials unless edit changes them.
func (s *site) call(t *testing.T, method, path, body string, edit ...func(*http.Request)) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	require.NoError(t, err)
	c := s.emu.Credentials()
	req.SetBasicAuth(c.CompanyID+"+"+c.PublicKey, c.PrivateKey)
	req.Header.Set("clientId", c.ClientID)
	req.Header.Set("Content-Type", "application/json")
	for _, e := range edit {
		e(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + strings.ReplaceAll(v.Encode(), "+", "%20")
}

func TestCompanyInfoAnswersTheCodebaseWithoutAuth(t *testing.T) {
	s := newSite(t, Options{Codebase: "v2025_1"})
	r := s.call(t, "GET", "/login/companyinfo/MeterBridge", "", func(r *http.Request) { r.Header.Del("Authorization") })
	require.Equal(t, 200, r.status)
	var info map[string]any
	r.json(t, &info)
	assert.Equal(t, "v2025_1/", info["Codebase"])

	r = s.call(t, "GET", "/login/companyinfo/unknown", "")
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "null", strings.TrimSpace(string(r.body)))
}

func TestCodebaseAndRouterBothAnswer(t *testing.T) {
	s := newSite(t, Options{Codebase: "v2025_1/"})
	assert.Equal(t, 200, s.call(t, "GET", "/v2025_1/apis/3.0/system/info", "").status)
	assert.Equal(t, 200, s.call(t, "GET", "/V4_6_RELEASE/apis/3.0/system/info", "").status, "router, any case")
	s.emu.SetCodebase("v2025_2")
	r := s.call(t, "GET", "/v2025_1/apis/3.0/system/info", "")
	assert.Equal(t, 404, r.status, "the old codebase is gone after an upgrade")
	assert.JSONEq(t, `{"code":"ConnectWiseApi","message":"The endpoint does not exist."}`, string(r.body))
}

func TestUnknownPathsAnswerTheRecorded404(t *testing.T) {
	s := newSite(t, Options{})
	for _, p := range []string{api + "/company/nothing", api + "/company/companies/abc", api + "/company/companies/1/2/3", "/elsewhere"} {
		r := s.call(t, "GET", p, "")
		assert.Equal(t, 404, r.status, p)
		assert.JSONEq(t, `{"code":"ConnectWiseApi","message":"The endpoint does not exist."}`, string(r.body), p)
	}
	r := s.call(t, "GET", api+"/company/companies/999999", "")
	assert.Equal(t, 404, r.status)
	assert.Contains(t, string(r.body), `"code":"NotFound"`)
	r = s.call(t, "GET", api+"/finance/agreements/999999/additions", "")
	assert.Equal(t, 404, r.status, "additions of a missing agreement")
	r = s.call(t, "GET", api+"/finance/agreements/1102/additions/1201", "")
	assert.Equal(t, 404, r.status, "an addition under the wrong agreement")
	r = s.call(t, "POST", api+"/company/companies/count", "")
	assert.Equal(t, 405, r.status)
}

func TestAuthenticationIsChecked(t *testing.T) {
	s := newSite(t, Options{})
	cases := map[string]func(*http.Request){
		"no authorization":  func(r *http.Request) { r.Header.Del("Authorization") },
		"wrong private key": func(r *http.Request) { r.SetBasicAuth("meterbridge+emulator-public-key", "wrong") },
		"wrong company":     func(r *http.Request) { r.SetBasicAuth("other+emulator-public-key", "emulator-private-key") },
		"no plus":           func(r *http.Request) { r.SetBasicAuth("emulator-public-key", "emulator-private-key") },
		"no clientId":       func(r *http.Request) { r.Header.Del("clientId") },
		"wrong clientId":    func(r *http.Request) { r.Header.Set("clientId", "someone-else") },
	}
	for name, edit := range cases {
		r := s.call(t, "GET", api+"/company/companies", "", edit)
		assert.Equal(t, 401, r.status, name)
		assert.Contains(t, string(r.body), `"code":"Unauthorized"`, name)
	}
	assert.Equal(t, 200, s.call(t, "GET", api+"/company/companies", "", func(r *http.Request) {
		r.SetBasicAuth("METERBRIDGE+emulator-public-key", "emulator-private-key")
	}).status, "company id is case-insensitive")

	relaxed := newSite(t, Options{ClientIDOptional: true, Auth404: true})
	assert.Equal(t, 200, relaxed.call(t, "GET", api+"/company/companies", "", cases["no clientId"]).status)
	assert.Equal(t, 404, relaxed.call(t, "GET", api+"/company/companies", "", cases["wrong private key"]).status, "cloud answers 404")

	s.emu.Faults().Set(fault.Settings{RejectCredentials: true})
	assert.Equal(t, 401, s.call(t, "GET", api+"/company/companies", "").status)
}

func seedCompanies(s *site, n int) {
	for i := range n {
		s.emu.SeedCompany(Company{Identifier: fmt.Sprintf("Co%02d", i), Name: fmt.Sprintf("Company %02d", i)})
	}
}

func TestListsPageWithLinkHeaders(t *testing.T) {
	s := newSite(t, Options{Fixture: &Fixture{}})
	seedCompanies(s, 30)

	r := s.call(t, "GET", api+"/company/companies", "")
	var rows []map[string]any
	r.json(t, &rows)
	assert.Len(t, rows, 25, "default page size")
	links := parseLinks(r.header.Get("Link"))
	assert.Equal(t, []string{"next", "last"}, links.rels)
	assert.Contains(t, links.urls["next"], "page=2")

	cond := `identifier like "Co%"`
	r = s.call(t, "GET", api+"/company/companies"+q("conditions", cond, "pageSize", "7", "page", "2", "orderBy", "name desc"), "")
	r.json(t, &rows)
	assert.Len(t, rows, 7)
	assert.Equal(t, "Company 22", rows[0]["name"])
	links = parseLinks(r.header.Get("Link"))
	assert.Equal(t, []string{"prev", "next", "first", "last"}, links.rels)
	for rel, u := range links.urls {
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		assert.Equal(t, cond, parsed.Query().Get("conditions"), rel)
		assert.Equal(t, "name desc", parsed.Query().Get("orderBy"), rel)
		assert.Equal(t, "7", parsed.Query().Get("pageSize"), rel)
		assert.True(t, strings.HasPrefix(u, s.srv.URL+api+"/company/companies?"), u)
	}
	assert.Contains(t, links.urls["last"], "page=5")

	r = s.call(t, "GET", api+"/company/companies"+q("pageSize", "7", "page", "5"), "")
	r.json(t, &rows)
	assert.Len(t, rows, 2)
	assert.Equal(t, []string{"prev", "first"}, parseLinks(r.header.Get("Link")).rels)

	r = s.call(t, "GET", api+"/company/companies"+q("pageSize", "7", "page", "9"), "")
	r.json(t, &rows)
	assert.Empty(t, rows, "past the end: an empty array, for clients that loop until empty")

	r = s.call(t, "GET", api+"/company/companies"+q("pageSize", "5000"), "")
	r.json(t, &rows)
	assert.Len(t, rows, 30, "above the cap is capped, not refused")
	assert.Empty(t, r.header.Get("Link"), "one page: no links")

	s.emu.SetMaxPageSize(4)
	r = s.call(t, "GET", api+"/company/companies"+q("pageSize", "1000"), "")
	r.json(t, &rows)
	assert.Len(t, rows, 4)

	for _, bad := range []string{q("page", "0"), q("pageSize", "x"), q("orderBy", "name sideways"), q("orderBy", "nope asc")} {
		assert.Equal(t, 400, s.call(t, "GET", api+"/company/companies"+bad, "").status, bad)
	}
}

type links struct {
	rels []string
	urls map[string]string
}

func parseLinks(h string) links {
	out := links{urls: map[string]string{}}
	for _, part := range strings.Split(h, ", <") {
		u, rest, ok := strings.Cut(strings.TrimPrefix(part, "<"), ">; rel=")
		if !ok {
			continue
		}
		rel := strings.Trim(rest, `"`)
		out.rels = append(out.rels, rel)
		out.urls[rel] = u
	}
	return out
}

func TestForwardOnlyPagingFollowsPageID(t *testing.T) {
	s := newSite(t, Options{Fixture: &Fixture{}})
	seedCompanies(s, 5)
	fwd := func(r *http.Request) { r.Header.Set("pagination-type", "forward-only") }
	var ids []float64
	next := api + "/company/companies" + q("pageSize", "2")
	for range 5 {
		r := s.call(t, "GET", next, "", fwd)
		require.Equal(t, 200, r.status)
		var rows []map[string]any
		r.json(t, &rows)
		for _, row := range rows {
			ids = append(ids, row["id"].(float64))
		}
		l := parseLinks(r.header.Get("Link")).urls["next"]
		if l == "" {
			break
		}
		next = strings.TrimPrefix(l, s.srv.URL)
	}
	assert.Len(t, ids, 5)
	assert.Equal(t, 400, s.call(t, "GET", api+"/company/companies"+q("orderBy", "name asc"), "", fwd).status)
}

func TestCountHonoursConditions(t *testing.T) {
	s := newSite(t, Options{})
	r := s.call(t, "GET", api+"/finance/agreements/1101/additions/count"+q("conditions", "product/identifier = \"BKP-GB\""), "")
	assert.JSONEq(t, `{"count":1}`, string(r.body))
	r = s.call(t, "GET", api+"/company/companies/count", "")
	assert.JSONEq(t, `{"count":2}`, string(r.body))
}

func TestFieldsTrimRows(t *testing.T) {
	s := newSite(t, Options{})
	r := s.call(t, "GET", api+"/finance/agreements/1101/additions/1201"+q("fields", "id,product/identifier,quantity,nosuch"), "")
	assert.JSONEq(t, `{"id":1201,"product":{"identifier":"BKP-GB"},"quantity":10}`, string(r.body))
}

func TestConditionErrorsAre400InTheAPIShape(t *testing.T) {
	s := newSite(t, Options{})
	for _, c := range []string{
		`name = `, `name = "unterminated`, `(name = "a"`, `name == "a"`, `nosuch = 1`, `name = 5`, `id = "5"`,
		`deletedFlag > true`, `types/name = "x"`, `name like 5`, `id contains "1"`, `name in ()`, `name = "a" xor id = 1`,
		`lastUpdated > "2024-01-01"`, `lastUpdated > [yesterday]`, `name < null`, `@`,
	} {
		r := s.call(t, "GET", api+"/company/companies"+q("conditions", c), "")
		assert.Equal(t, 400, r.status, c)
		var e apiError
		r.json(t, &e)
		assert.NotEmpty(t, e.Code, c)
		assert.Contains(t, e.Message, "conditions", c)
	}
	r := s.call(t, "GET", api+"/company/companies"+q("childConditions", `types/name = "x"`), "")
	assert.Equal(t, 400, r.status, "unsupported, refused rather than ignored")
}

func TestPatchSpeaksTheConnectWiseDialect(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	s := newSite(t, Options{Now: func() time.Time { return clock }})
	path := api + "/finance/agreements/1101/additions/1201"
	clock = now.Add(time.Hour)

	r := s.call(t, "PATCH", path, `[{"op":"replace","path":"quantity","value":12.5},{"op":"Replace","path":"/invoiceDescription","value":"Backup"},{"op":"add","path":"serialNumber","value":"SN1"}]`)
	require.Equal(t, 200, r.status, "%s", r.body)
	var d map[string]any
	r.json(t, &d)
	assert.Equal(t, 12.5, d["quantity"])
	assert.Equal(t, "Backup", d["invoiceDescription"])
	assert.Equal(t, "SN1", d["serialNumber"])
	assert.Equal(t, "2025-05-01T13:00:00Z", d["_info"].(map[string]any)["lastUpdated"])

	r = s.call(t, "PATCH", path, `[{"op":"replace","path":"quantity","value":"7.25"},{"op":"remove","path":"serialNumber"}]`)
	require.Equal(t, 200, r.status, "stringified numbers are accepted: %s", r.body)
	r.json(t, &d)
	assert.Equal(t, 7.25, d["quantity"])
	assert.Nil(t, d["serialNumber"])

	r = s.call(t, "PATCH", path, `[{"op":"replace","path":"product/identifier","value":"LIC-SERVER"}]`)
	require.Equal(t, 200, r.status)
	r.json(t, &d)
	assert.Equal(t, "BKP-GB", d["product"].(map[string]any)["identifier"], "a sub-path of a reference has no effect")

	r = s.call(t, "PATCH", path, `[{"op":"replace","path":"product","value":{"identifier":"LIC-SERVER"}}]`)
	require.Equal(t, 200, r.status)
	r.json(t, &d)
	assert.Equal(t, float64(ProductServerLicence), d["product"].(map[string]any)["id"], "a whole reference is replaced")

	r = s.call(t, "PATCH", path, `[{"op":"replace","path":"customFields","value":[{"id":1,"value":"a"}]},{"op":"replace","path":"/customFields/0/value","value":"b"},{"op":"add","path":"/customFields/-","value":{"id":2}}]`)
	require.Equal(t, 200, r.status, "%s", r.body)
	r.json(t, &d)
	assert.Equal(t, []any{map[string]any{"id": 1.0, "value": "b"}, map[string]any{"id": 2.0}}, d["customFields"])

	r = s.call(t, "PATCH", path, `[{"op":"replace","path":"id","value":1},{"op":"replace","path":"agreementStatus","value":"Cancelled"}]`)
	require.Equal(t, 200, r.status, "read-only fields are ignored")
	r.json(t, &d)
	assert.Equal(t, 1201.0, d["id"])
	assert.Equal(t, "Active", d["agreementStatus"])

	for body, want := range map[string]int{
		`{"op":"replace","path":"quantity","value":1}`:                400, // not an array
		`[{"op":"move","path":"quantity"}]`:                           400,
		`[{"op":"replace","path":"nosuch","value":1}]`:                400,
		`[{"op":"replace","path":"","value":1}]`:                      400,
		`[{"op":"replace","path":"quantity","value":"lots"}]`:         400,
		`[{"op":"replace","path":"/customFields/9/value","value":1}]`: 400,
		`[]`: 400,
	} {
		assert.Equal(t, want, s.call(t, "PATCH", path, body).status, body)
	}
	a, _ := s.emu.Addition(1101, 1201)
	assert.Equal(t, "7.25", a.Quantity.String(), "rejected patches change nothing")
	assert.Equal(t, 6, a.Writes)
}

func TestValidationErrorsNameTheField(t *testing.T) {
	s := newSite(t, Options{})
	add := api + "/finance/agreements/1101/additions"
	cases := []struct {
		method, path, body, code, field string
	}{
		{"PATCH", add + "/1201", `[{"op":"replace","path":"quantity","value":-5}]`, "InvalidField", "quantity"},
		{"PATCH", add + "/1201", `[{"op":"replace","path":"effectiveDate","value":"2023-12-31T00:00:00Z"}]`, "InvalidField", "effectiveDate"},
		{"PATCH", add + "/1201", `[{"op":"replace","path":"cancelledDate","value":"2023-12-31T00:00:00Z"}]`, "InvalidField", "cancelledDate"},
		{"PATCH", add + "/1201", `[{"op":"replace","path":"billCustomer","value":"Maybe"}]`, "InvalidField", "billCustomer"},
		{"POST", add, `{"quantity":1,"billCustomer":"Billable"}`, "MissingRequiredField", "product"},
		{"POST", add, `{"product":{"id":999999},"billCustomer":"Billable"}`, "NotFound", "product/id"},
		{"POST", add, `{"product":{"id":204},"billCustomer":"Billable"}`, "InvalidField", "product"},
		{"POST", api + "/company/companies", `{"identifier":"adatum","name":"Dup"}`, "ObjectExists", "identifier"},
		{"POST", api + "/company/companies", `{"identifier":"ThisIdentifierIsFarTooLongForIt1","name":"x"}`, "MaxLengthField", "identifier"},
		{"PUT", api + "/company/companies/1001", `{"name":"only a name"}`, "MissingRequiredField", "identifier"},
	}
	for _, tc := range cases {
		r := s.call(t, tc.method, tc.path, tc.body)
		require.Equal(t, 400, r.status, "%s %s: %s", tc.method, tc.body, r.body)
		var e apiError
		r.json(t, &e)
		assert.Equal(t, "InvalidObject", e.Code)
		require.NotEmpty(t, e.Errors, tc.body)
		assert.Equal(t, tc.code, e.Errors[0].Code, tc.body)
		assert.Equal(t, tc.field, e.Errors[0].Field, tc.body)
		assert.NotEmpty(t, e.Errors[0].Message)
	}
	a, _ := s.emu.Addition(1101, 1201)
	assert.Equal(t, "10", a.Quantity.String())
}

func TestNonProratedAgreementRefusesDatesInInvoicedPeriods(t *testing.T) {
	s := newSite(t, Options{})
	ag := s.emu.SeedAgreement(Agreement{CompanyID: 1001, TypeID: AgreementTypeManagedServices, Name: "Invoiced",
		StartDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), NextInvoiceDate: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	path := fmt.Sprintf("%s/finance/agreements/%d/additions", api, ag)
	r := s.call(t, "POST", path, `{"product":{"identifier":"BKP-GB"},"billCustomer":"Billable","quantity":1,"effectiveDate":"2025-05-15T00:00:00Z"}`)
	assert.Equal(t, 400, r.status)
	assert.Contains(t, string(r.body), `"field":"effectiveDate"`)
	r = s.call(t, "POST", path, `{"product":{"identifier":"BKP-GB"},"billCustomer":"Billable","quantity":1,"effectiveDate":"2025-06-01"}`)
	assert.Equal(t, 201, r.status, "%s", r.body)
}

func TestCreatePutDeleteRoundTrip(t *testing.T) {
	s := newSite(t, Options{})
	r := s.call(t, "POST", api+"/company/configurations", `{"name":"Vault","type":{"name":"backup"},"company":{"identifier":"ADATUM"},"backupBillableSpaceGb":0.1,"backupYear":2025,"backupMonth":3,"unknownField":1}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	var d map[string]any
	r.json(t, &d)
	id := int64(d["id"].(float64))
	assert.Equal(t, map[string]any{"id": float64(ConfigTypeBackup), "name": "Backup"}, d["type"])
	assert.Equal(t, "Adatum", d["company"].(map[string]any)["identifier"])
	assert.NotContains(t, d, "unknownField", "unknown fields are dropped")
	assert.Equal(t, 1, s.emu.Writes(Configurations, id))

	r = s.call(t, "PUT", fmt.Sprintf("%s/company/configurations/%d", api, id), `{"name":"Vault 2","type":{"id":301},"company":{"id":1001}}`)
	require.Equal(t, 200, r.status, "%s", r.body)
	r.json(t, &d)
	assert.Nil(t, d["backupYear"], "PUT resets what it leaves out")

	assert.Equal(t, 204, s.call(t, "DELETE", fmt.Sprintf("%s/company/configurations/%d", api, id), "").status)
	assert.Equal(t, 404, s.call(t, "GET", fmt.Sprintf("%s/company/configurations/%d", api, id), "").status)
	assert.Equal(t, 400, s.call(t, "POST", api+"/company/configurations", `{not json`).status)
}

func TestAgreementStatusIsDerivedAndMirroredOnAdditions(t *testing.T) {
	s := newSite(t, Options{})
	r := s.call(t, "PATCH", api+"/finance/agreements/1101", `[{"op":"replace","path":"cancelledFlag","value":true}]`)
	require.Equal(t, 200, r.status)
	var d map[string]any
	r.json(t, &d)
	assert.Equal(t, "Cancelled", d["agreementStatus"])
	assert.NotNil(t, d["dateCancelled"])
	r = s.call(t, "GET", api+"/finance/agreements/1101/additions/1201", "")
	r.json(t, &d)
	assert.Equal(t, "Cancelled", d["agreementStatus"])
	r = s.call(t, "GET", api+"/finance/agreements"+q("conditions", `agreementStatus = "Active" and cancelledFlag = false`), "")
	var rows []map[string]any
	r.json(t, &rows)
	require.Len(t, rows, 1)
	assert.Equal(t, 1102.0, rows[0]["id"])
}

func TestFaultsAreServedInTheAPIShape(t *testing.T) {
	s := newSite(t, Options{})
	s.emu.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 7, Fail500: 1, TimeoutText: true})
	r := s.call(t, "GET", api+"/system/info", "")
	assert.Equal(t, 429, r.status)
	assert.Equal(t, "7", r.header.Get("Retry-After"))
	assert.Contains(t, string(r.body), `"code":"TooManyRequests"`)
	r = s.call(t, "GET", api+"/system/info", "")
	assert.Equal(t, 500, r.status)
	assert.Contains(t, string(r.body), "Timeout")
	assert.Equal(t, 200, s.call(t, "GET", api+"/system/info", "").status)

	r = s.call(t, "PUT", fault.ControlPath, `{"burst_429":2}`)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, 2, s.emu.Faults().Settings().Burst429)

	r = s.call(t, "GET", StatePath, "")
	require.Equal(t, 200, r.status)
	var state struct {
		Codebase    string                      `json:"codebase"`
		Collections map[string][]map[string]any `json:"collections"`
	}
	r.json(t, &state)
	assert.Equal(t, DefaultCodebase, state.Codebase)
	assert.Len(t, state.Collections[Companies], 2)
	assert.NotContains(t, string(r.body), "emulator-private-key")
	assert.Equal(t, 2, s.emu.Faults().Settings().Burst429, "control endpoints bypass faults")
}

func TestLatencyStillDoesTheWorkWhenTheClientGivesUp(t *testing.T) {
	s := newSite(t, Options{})
	s.emu.Faults().Set(fault.Settings{Latency: fault.Duration(300 * time.Millisecond)})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.srv.URL+api+"/finance/agreements/1102/additions",
		strings.NewReader(`{"product":{"id":202},"billCustomer":"Billable","quantity":2}`))
	c := s.emu.Credentials()
	req.SetBasicAuth(c.CompanyID+"+"+c.PublicKey, c.PrivateKey)
	req.Header.Set("clientId", c.ClientID)
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err, "the client timed out")
	assert.Len(t, s.emu.Additions(1102), 2, "but the addition was created")
}

func TestDemoFixtureMatchesItsAccessors(t *testing.T) {
	s := NewDemo()
	clients := DemoClients()
	require.Len(t, clients, 3)
	for _, c := range clients {
		co, ok := s.Document(Companies, c.CompanyID)
		require.True(t, ok, c.ManagedID)
		assert.Equal(t, c.ManagedID, co["identifier"])
		assert.Equal(t, c.CompanyName, co["name"])
		ag, ok := s.Document(Agreements, c.AgreementID)
		require.True(t, ok)
		assert.Equal(t, "Active", ag["agreementStatus"])
		assert.Equal(t, c.Agreement, ag["name"])
		for _, a := range append([]DemoAddition{c.Backup}, c.Licences...) {
			st, ok := s.Addition(c.AgreementID, a.ID)
			require.True(t, ok, a.ID)
			assert.True(t, st.Quantity.Equal(a.Quantity), "%d: %s != %s", a.ID, st.Quantity, a.Quantity)
			assert.Equal(t, a.Product, st.Product)
		}
		assert.Equal(t, "BKP-GB", c.Backup.Product)
	}
	assert.True(t, decimal.RequireFromString("100.5").Equal(clients[0].Backup.Quantity))
}

func TestSeedRefusesInvalidFixtures(t *testing.T) {
	s := New(Options{Fixture: &Fixture{}})
	err := s.Seed(Fixture{Additions: []Addition{{AgreementID: 42, ProductID: 1}}})
	assert.ErrorContains(t, err, "not found")
	err = s.Seed(Fixture{Companies: []Company{{ID: 5, Identifier: "A", Name: "A"}, {ID: 5, Identifier: "B", Name: "B"}}})
	assert.ErrorContains(t, err, "already used")
	assert.Panics(t, func() { s.SeedCompany(Company{Identifier: "", Name: "x"}) })
}

func TestHugeNumbersAreRefusedNotExpanded(t *testing.T) {
	s := newSite(t, Options{})
	r := s.call(t, "PATCH", api+"/finance/agreements/1101/additions/1201", `[{"op":"replace","path":"quantity","value":1e999999999}]`)
	assert.Equal(t, 400, r.status)
	assert.Contains(t, string(r.body), `"field":"quantity"`)
}
