package autotask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// wire is a raw HTTP caller for checking the emulator's wire behaviour.
type wire struct {
	t   *testing.T
	srv *httptest.Server
	s   *Server
}

func newWire(t *testing.T, opts Options) *wire {
	t.Helper()
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &wire{t: t, srv: srv, s: s}
}

func (w *wire) do(method, path string, body any, hdr ...string) (int, map[string]any, http.Header) {
	w.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = w.srv.URL + path
	}
	req, _ := http.NewRequest(method, u, rd)
	c := DefaultCredentials
	req.Header.Set("UserName", c.UserName)
	req.Header.Set("Secret", c.Secret)
	req.Header.Set("ApiIntegrationCode", c.IntegrationCode)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	_ = dec.Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func (w *wire) query(entity string, filter ...map[string]any) []map[string]any {
	w.t.Helper()
	status, out, _ := w.do("POST", "/atservicesrest/v1.0/"+entity+"/query", map[string]any{"filter": filter})
	if status != 200 {
		w.t.Fatalf("query %s: %d %v", entity, status, out)
	}
	return items(out)
}

func items(out map[string]any) []map[string]any {
	var rows []map[string]any
	list, _ := out["items"].([]any)
	for _, it := range list {
		rows = append(rows, it.(map[string]any))
	}
	return rows
}

func names(rows []map[string]any) string {
	var n []string
	for _, r := range rows {
		n = append(n, fmt.Sprint(r["companyName"]))
	}
	return strings.Join(n, ",")
}

func errorsOf(out map[string]any) string {
	list, _ := out["errors"].([]any)
	var s []string
	for _, e := range list {
		s = append(s, fmt.Sprint(e))
	}
	return strings.Join(s, "; ")
}

func seedCompanies(w *wire) {
	for _, n := range []string{"Alpha Dental", "Beta Legal", "Gamma Builders", "Delta Dental"} {
		w.s.AddCompany(n)
	}
	w.s.mu.Lock()
	for _, c := range w.s.companies {
		if strings.HasPrefix(c.CompanyName, "Beta") {
			c.IsActive, c.Phone = false, "555-0100"
		}
	}
	w.s.mu.Unlock()
}

func f(op, field string, value any) map[string]any {
	m := map[string]any{"op": op, "field": field}
	if value != nil {
		m["value"] = value
	}
	return m
}

func TestFilterOperators(t *testing.T) {
	w := newWire(t, Options{})
	seedCompanies(w)
	ids := w.query("Companies", f("gte", "id", 0))
	first := ids[0]["id"]
	cases := []struct {
		name   string
		filter []map[string]any
		want   string
	}{
		{"eq is case-insensitive", []map[string]any{f("eq", "companyName", "alpha dental")}, "Alpha Dental"},
		{"noteq", []map[string]any{f("noteq", "companyName", "Alpha Dental")}, "Beta Legal,Gamma Builders,Delta Dental"},
		{"gt on id", []map[string]any{f("gt", "id", first)}, "Beta Legal,Gamma Builders,Delta Dental"},
		{"gte on id", []map[string]any{f("gte", "id", first)}, "Alpha Dental,Beta Legal,Gamma Builders,Delta Dental"},
		{"lt on id", []map[string]any{f("lt", "id", first)}, ""},
		{"lte on id", []map[string]any{f("lte", "id", first)}, "Alpha Dental"},
		{"beginsWith", []map[string]any{f("beginsWith", "companyName", "g")}, "Gamma Builders"},
		{"endsWith", []map[string]any{f("endsWith", "companyName", "DENTAL")}, "Alpha Dental,Delta Dental"},
		{"contains", []map[string]any{f("contains", "companyName", "a l")}, "Beta Legal"},
		{"exist", []map[string]any{f("exist", "phone", nil)}, "Beta Legal"},
		{"notExist", []map[string]any{f("notExist", "phone", nil)}, "Alpha Dental,Gamma Builders,Delta Dental"},
		{"in", []map[string]any{f("in", "companyName", []string{"Beta Legal", "Delta Dental", "Nobody"})}, "Beta Legal,Delta Dental"},
		{"notIn", []map[string]any{f("notIn", "companyName", []string{"Beta Legal"})}, "Alpha Dental,Gamma Builders,Delta Dental"},
		{"boolean", []map[string]any{f("eq", "isActive", false)}, "Beta Legal"},
		{"field names are case-insensitive", []map[string]any{f("eq", "COMPANYNAME", "Beta Legal")}, "Beta Legal"},
		{"top-level items all apply", []map[string]any{f("endsWith", "companyName", "Dental"), f("beginsWith", "companyName", "D")}, "Delta Dental"},
		{"or group", []map[string]any{{"op": "or", "items": []any{f("eq", "companyName", "Alpha Dental"), f("eq", "companyName", "Gamma Builders")}}}, "Alpha Dental,Gamma Builders"},
		{"and inside or", []map[string]any{{"op": "or", "items": []any{
			map[string]any{"op": "and", "items": []any{f("contains", "companyName", "Dental"), f("beginsWith", "companyName", "D")}},
			f("eq", "isActive", false),
		}}}, "Beta Legal,Delta Dental"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := names(w.query("Companies", c.filter...)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestQueryRefusals(t *testing.T) {
	w := newWire(t, Options{})
	seedCompanies(w)
	cases := []struct {
		name string
		body any
		want string
	}{
		{"missing filter", map[string]any{}, "filter is required"},
		{"empty filter", map[string]any{"filter": []any{}}, "filter is required"},
		{"unknown field", map[string]any{"filter": []any{f("eq", "nope", 1)}}, "unable to find field"},
		{"string for a boolean", map[string]any{"filter": []any{f("eq", "isActive", "true")}}, "true or false"},
		{"null value", map[string]any{"filter": []any{map[string]any{"op": "eq", "field": "id", "value": nil}}}, "null"},
		{"unknown operator", map[string]any{"filter": []any{f("like", "companyName", "x")}}, "unknown filter operator"},
		{"in without array", map[string]any{"filter": []any{f("in", "id", 1)}}, "array"},
		{"too many records", map[string]any{"filter": []any{f("gte", "id", 0)}, "MaxRecords": 501}, "MaxRecords"},
	}
	for _, c := range cases {
		status, out, _ := w.do("POST", "/atservicesrest/v1.0/Companies/query", c.body)
		if status != 500 || !strings.Contains(errorsOf(out), c.want) {
			t.Errorf("%s: %d %v, want 500 mentioning %q", c.name, status, out, c.want)
		}
	}
}

func TestGetQueryWithSearchAndCount(t *testing.T) {
	w := newWire(t, Options{})
	seedCompanies(w)
	search := url.QueryEscape(`{"filter":[{"op":"contains","field":"companyName","value":"dental"}]}`)
	status, out, _ := w.do("GET", "/atservicesrest/v1.0/Companies/query?search="+search, nil)
	if status != 200 || names(items(out)) != "Alpha Dental,Delta Dental" {
		t.Errorf("GET search: %d %v", status, out)
	}
	status, out, _ = w.do("GET", "/atservicesrest/v1.0/Companies/query/count?search="+search, nil)
	if status != 200 || fmt.Sprint(out["queryCount"]) != "2" {
		t.Errorf("GET count: %d %v", status, out)
	}
	status, out, _ = w.do("POST", "/atservicesrest/v1.0/Companies/query/count", map[string]any{"filter": []any{f("gte", "id", 0)}})
	if status != 200 || fmt.Sprint(out["queryCount"]) != "4" {
		t.Errorf("POST count: %d %v", status, out)
	}
}

func TestPagingFollowsNextAndPrevURLs(t *testing.T) {
	w := newWire(t, Options{MaxPageSize: 3})
	for i := range 8 {
		w.s.AddCompany(fmt.Sprintf("C%d", i))
	}
	_, out, _ := w.do("POST", "/atservicesrest/v1.0/Companies/query", map[string]any{"filter": []any{f("gte", "id", 0)}})
	var got []string
	var pages []map[string]any
	for {
		got = append(got, names(items(out)))
		pd := out["pageDetails"].(map[string]any)
		pages = append(pages, pd)
		next, _ := pd["nextPageUrl"].(string)
		if next == "" {
			break
		}
		if !strings.HasPrefix(next, w.srv.URL+"/atservicesrest/v1.0/Companies/query/next?") {
			t.Fatalf("nextPageUrl %q is not a full URL on the emulator", next)
		}
		_, out, _ = w.do("GET", next, nil)
	}
	if strings.Join(got, "|") != "C0,C1,C2|C3,C4,C5|C6,C7" {
		t.Errorf("pages = %v", got)
	}
	if pages[0]["prevPageUrl"] != nil || fmt.Sprint(pages[2]["count"]) != "2" {
		t.Errorf("page details = %v", pages)
	}
	_, out, _ = w.do("GET", pages[2]["prevPageUrl"].(string), nil)
	if names(items(out)) != "C3,C4,C5" {
		t.Errorf("prev of the last page = %s", names(items(out)))
	}
	// MaxRecords below the cap wins.
	_, out, _ = w.do("POST", "/atservicesrest/v1.0/Companies/query", map[string]any{"filter": []any{f("gte", "id", 0)}, "MaxRecords": 2, "IncludeFields": []string{"companyName"}})
	if rows := items(out); len(rows) != 2 || len(rows[0]) != 2 {
		t.Errorf("MaxRecords 2 with IncludeFields gave %v", rows)
	}
}

func TestAuthenticationAndZoneDiscovery(t *testing.T) {
	w := newWire(t, Options{})
	status, out, _ := w.do("GET", "/atservicesrest/v1.0/zoneInformation?user="+url.QueryEscape(DefaultCredentials.UserName), nil, "Secret", "")
	if status != 200 || out["url"] != w.srv.URL+"/atservicesrest/" {
		t.Errorf("zone: %d %v", status, out)
	}
	if status, _, _ := w.do("GET", "/atservicesrest/v1.0/zoneInformation?user=stranger@x", nil); status != 404 {
		t.Errorf("unknown user zone: %d", status)
	}
	if status, out, _ := w.do("GET", "/atservicesrest/versioninformation", nil); status != 200 || out["apiVersions"] == nil {
		t.Errorf("versioninformation: %d %v", status, out)
	}
	for _, h := range [][]string{{"Secret", "wrong"}, {"ApiIntegrationCode", "wrong"}, {"UserName", "other@x"}, {"Secret", ""}} {
		status, out, _ := w.do("GET", "/atservicesrest/v1.0/Companies/1", nil, h...)
		if status != 401 || errorsOf(out) == "" {
			t.Errorf("%v: %d %v, want 401 with errors", h, status, out)
		}
	}
	if status, _, _ := w.do("GET", "/atservicesrest/v1.0/Companies/1", nil, "ImpersonationResourceId", "abc"); status != 400 {
		t.Errorf("bad impersonation id: %d", status)
	}
	w.s.Faults().Set(fault.Settings{RejectCredentials: true})
	if status, _, _ := w.do("GET", "/atservicesrest/v1.0/Companies/1", nil); status != 401 {
		t.Errorf("revoked credentials: %d", status)
	}
}

func TestItemsCreatesAndPatches(t *testing.T) {
	w := newWire(t, Options{})
	status, out, _ := w.do("POST", "/atservicesrest/v1.0/Companies", map[string]any{"companyName": "New Co", "phone": "1"})
	if status != 200 || out["itemId"] == nil {
		t.Fatalf("create: %d %v", status, out)
	}
	id := out["itemId"]
	status, out, _ = w.do("GET", fmt.Sprintf("/atservicesrest/v1.0/Companies/%v", id), nil)
	item := out["item"].(map[string]any)
	if status != 200 || item["companyName"] != "New Co" || item["isActive"] != true {
		t.Errorf("get: %d %v", status, out)
	}
	if _, out, _ := w.do("GET", "/atservicesrest/v1.0/Companies/999999", nil); out["item"] != nil {
		t.Errorf("missing id: %v, want item null", out)
	}
	if status, _, _ := w.do("PATCH", "/atservicesrest/v1.0/Companies", map[string]any{"id": id, "companyName": "Renamed"}); status != 200 {
		t.Errorf("patch: %d", status)
	}
	_, out, _ = w.do("GET", fmt.Sprintf("/atservicesrest/v1.0/Companies/%v", id), nil)
	if out["item"].(map[string]any)["companyName"] != "Renamed" {
		t.Errorf("after patch: %v", out)
	}
	for name, body := range map[string]map[string]any{
		"read-only field": {"id": id, "createDate": "2020-01-01T00:00:00Z"},
		"unknown field":   {"id": id, "colour": "red"},
		"no id":           {"companyName": "x"},
		"wrong type":      {"id": id, "isActive": "yes"},
	} {
		if status, out, _ := w.do("PATCH", "/atservicesrest/v1.0/Companies", body); status < 400 || errorsOf(out) == "" {
			t.Errorf("%s: %d %v", name, status, out)
		}
	}
	if status, _, _ := w.do("POST", "/atservicesrest/v1.0/Companies", map[string]any{"phone": "1"}); status != 500 {
		t.Errorf("create without name: %d", status)
	}
	if status, _, _ := w.do("POST", "/atservicesrest/v1.0/Companies", `{"companyName":`); status != 400 {
		t.Errorf("broken JSON: %d", status)
	}
	if status, _, h := w.do("DELETE", fmt.Sprintf("/atservicesrest/v1.0/Companies/%v", id), nil); status != 405 || h.Get("Allow") == "" {
		t.Errorf("delete: %d", status)
	}
}

func TestContractServicesThroughTheChildPath(t *testing.T) {
	w := newWire(t, Options{})
	start, end := monthSpan(time.Now())
	co := w.s.AddCompany("Acme")
	k := w.s.AddContract(co, "Acme Recurring", start, end)
	svc := w.s.AddService("Server Licence", decimal.NewFromInt(40))
	status, out, _ := w.do("POST", fmt.Sprintf("/atservicesrest/v1.0/Contracts/%d/Services", k), map[string]any{"serviceID": svc, "unitPrice": 40})
	if status != 200 {
		t.Fatalf("child create: %d %v", status, out)
	}
	csID, _ := out["itemId"].(json.Number).Int64()
	if u, ok := w.s.CurrentUnits(csID); !ok || u != 0 {
		t.Errorf("new contract service units = %d, %v; want 0 today", u, ok)
	}
	_, out, _ = w.do("GET", fmt.Sprintf("/atservicesrest/v1.0/Contracts/%d/Services", k), nil)
	if rows := items(out); len(rows) != 1 {
		t.Errorf("child list = %v", out)
	}
	if status, _, _ := w.do("POST", fmt.Sprintf("/atservicesrest/v1.0/Contracts/%d/Services", k+999), map[string]any{"serviceID": svc}); status != 404 {
		t.Errorf("child of a missing contract: %d", status)
	}
	if status, out, _ := w.do("PATCH", "/atservicesrest/v1.0/ContractServices", map[string]any{"id": csID, "unitPrice": 1}); status != 500 {
		t.Errorf("patch of a non-writable contract service field: %d %v", status, out)
	}
	if status, _, _ := w.do("PATCH", "/atservicesrest/v1.0/ContractServices", map[string]any{"id": csID, "invoiceDescription": "Servers"}); status != 200 {
		t.Errorf("patch invoiceDescription: %d", status)
	}
}

func monthSpan(now time.Time) (time.Time, time.Time) {
	y, m, _ := now.UTC().Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -2, 0)
	return start, start.AddDate(0, 6, 0)
}

func TestAdjustmentsSplitThePeriodAndAreCreateOnly(t *testing.T) {
	w := newWire(t, Options{})
	start, end := monthSpan(time.Now())
	co := w.s.AddCompany("Acme")
	k := w.s.AddContract(co, "Acme Recurring", start, end)
	svc := w.s.AddService("Backup Storage GB", decimal.RequireFromString("0.1"))
	cs, _ := w.s.AddContractService(k, svc, 10)
	if n := len(w.s.UnitRows(cs)); n != 6 {
		t.Fatalf("seeded %d periods, want 6 monthly", n)
	}
	eff := start.AddDate(0, 2, 10) // inside the third period
	adj := map[string]any{"contractID": k, "contractServiceID": cs, "unitChange": -4, "effectiveDate": eff.Format("2006-01-02T15:04:05")}
	status, out, _ := w.do("POST", "/atservicesrest/v1.0/ContractServiceAdjustments", adj)
	if status != 200 || out["itemId"] == nil {
		t.Fatalf("adjust: %d %v", status, out)
	}
	rows := w.s.UnitRows(cs)
	if len(rows) != 7 {
		t.Fatalf("%d periods after the split, want 7", len(rows))
	}
	want := []struct {
		start, end time.Time
		units      int64
	}{
		{start, start.AddDate(0, 1, 0), 10},
		{start.AddDate(0, 1, 0), start.AddDate(0, 2, 0), 10},
		{start.AddDate(0, 2, 0), eff, 10},
		{eff, start.AddDate(0, 3, 0), 6},
		{start.AddDate(0, 3, 0), start.AddDate(0, 4, 0), 6},
	}
	for i, wr := range want {
		r := rows[i]
		if !r.StartDate.Equal(wr.start) || !r.EndDate.Equal(wr.end) || r.Units != wr.units {
			t.Errorf("row %d = %s..%s %d, want %s..%s %d", i, r.StartDate.Format(time.DateOnly), r.EndDate.Format(time.DateOnly), r.Units,
				wr.start.Format(time.DateOnly), wr.end.Format(time.DateOnly), wr.units)
		}
	}
	// Query the units row covering the effective date the way a client does.
	got := w.query("ContractServiceUnits", f("eq", "contractServiceID", cs), f("lte", "startDate", eff.Format(time.RFC3339)), f("gt", "endDate", eff.Format(time.RFC3339)))
	if len(got) != 1 || fmt.Sprint(got[0]["units"]) != "6" {
		t.Errorf("covering row = %v", got)
	}

	refusals := map[string]map[string]any{
		"below zero":           {"contractID": k, "contractServiceID": cs, "unitChange": -7, "effectiveDate": eff.Format(time.RFC3339)},
		"fractional":           {"contractID": k, "contractServiceID": cs, "unitChange": 1.5, "effectiveDate": eff.Format(time.RFC3339)},
		"zero":                 {"contractID": k, "contractServiceID": cs, "unitChange": 0, "effectiveDate": eff.Format(time.RFC3339)},
		"no date":              {"contractID": k, "contractServiceID": cs, "unitChange": 1},
		"outside the contract": {"contractID": k, "contractServiceID": cs, "unitChange": 1, "effectiveDate": end.Format(time.RFC3339)},
		"other contract":       {"contractID": k + 1000, "contractServiceID": cs, "unitChange": 1, "effectiveDate": eff.Format(time.RFC3339)},
	}
	for name, body := range refusals {
		status, out, _ := w.do("POST", "/atservicesrest/v1.0/ContractServiceAdjustments", body)
		if status != 500 || errorsOf(out) == "" {
			t.Errorf("%s: %d %v, want 500 with errors", name, status, out)
		}
	}
	if n := w.s.AdjustmentCount(cs); n != 1 {
		t.Errorf("%d adjustments recorded, want 1", n)
	}
	if r := w.s.UnitRows(cs); len(r) != 7 {
		t.Errorf("a refused adjustment changed the periods")
	}
	for _, m := range []string{"GET", "PATCH", "PUT"} {
		if status, _, _ := w.do(m, "/atservicesrest/v1.0/ContractServiceAdjustments", nil); status != 405 {
			t.Errorf("%s adjustments: %d, want 405", m, status)
		}
	}
	if status, _, _ := w.do("POST", "/atservicesrest/v1.0/ContractServiceAdjustments/query", map[string]any{"filter": []any{f("gte", "id", 0)}}); status != 405 {
		t.Errorf("query adjustments: %d, want 405", status)
	}
	if status, _, _ := w.do("GET", "/atservicesrest/v1.0/ContractServiceAdjustments/1", nil); status != 405 {
		t.Errorf("get adjustment: %d, want 405", status)
	}
	if status, _, _ := w.do("POST", "/atservicesrest/v1.0/ContractServiceUnits", map[string]any{"units": 1}); status != 405 {
		t.Errorf("create units row: %d, want 405", status)
	}
	// The child path works too.
	status, out, _ = w.do("POST", fmt.Sprintf("/atservicesrest/v1.0/Contracts/%d/ServiceAdjustments", k), map[string]any{"contractServiceID": cs, "unitChange": 2, "effectiveDate": eff.Format(time.RFC3339)})
	if status != 200 {
		t.Errorf("child-path adjustment: %d %v", status, out)
	}
	if u, _ := w.s.UnitsOn(cs, eff); u != 8 {
		t.Errorf("units after the second adjustment = %d, want 8", u)
	}
}

func TestAdjustmentWithoutContractServiceCreatesIt(t *testing.T) {
	w := newWire(t, Options{})
	start, end := monthSpan(time.Now())
	k := w.s.AddContract(w.s.AddCompany("Acme"), "Acme Recurring", start, end)
	svc := w.s.AddService("Desktop Licence", decimal.NewFromInt(8))
	status, out, _ := w.do("POST", "/atservicesrest/v1.0/ContractServiceAdjustments", map[string]any{"contractID": k, "serviceID": svc, "unitChange": 3, "effectiveDate": start.Format(time.RFC3339)})
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	rows := w.query("ContractServices", f("eq", "contractID", k))
	if len(rows) != 1 {
		t.Fatalf("contract services = %v", rows)
	}
	csID, _ := rows[0]["id"].(json.Number).Int64()
	if u, _ := w.s.CurrentUnits(csID); u != 3 {
		t.Errorf("units = %d, want 3", u)
	}
}

func TestThreadLimitRefusesTheFourthConcurrentRequest(t *testing.T) {
	w := newWire(t, Options{})
	w.s.Faults().Set(fault.Settings{Latency: fault.Duration(150 * time.Millisecond)})
	var wg sync.WaitGroup
	statuses := make(chan int, 4)
	msgs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			status, out, _ := w.do("GET", "/atservicesrest/v1.0/Companies/1", nil)
			statuses <- status
			msgs <- errorsOf(out)
		})
	}
	wg.Wait()
	close(statuses)
	close(msgs)
	n429 := 0
	for s := range statuses {
		if s == 429 {
			n429++
		}
	}
	if n429 != 1 {
		t.Errorf("%d of 4 concurrent requests got 429, want 1", n429)
	}
	found := false
	for m := range msgs {
		found = found || strings.Contains(m, "thread limit")
	}
	if !found {
		t.Error("no thread-limit message")
	}
	if n := w.s.MaxConcurrent("companies"); n != 3 {
		t.Errorf("max concurrent = %d, want 3", n)
	}
	// Another endpoint has its own three threads.
	if status, _, _ := w.do("GET", "/atservicesrest/v1.0/Contracts/1", nil); status != 200 {
		t.Errorf("other endpoint: %d", status)
	}
}

func TestHourlyQuotaAnswers429UntilTheHourRolls(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWire(t, Options{HourlyQuota: 3, Now: clock})
	for i := range 3 {
		if status, _, _ := w.do("GET", "/atservicesrest/v1.0/Companies/1", nil); status != 200 {
			t.Fatalf("request %d: %d", i, status)
		}
		mu.Lock()
		now = now.Add(10 * time.Minute)
		mu.Unlock()
	}
	status, out, h := w.do("GET", "/atservicesrest/v1.0/ThresholdInformation", nil)
	if status != 429 || h.Get("Retry-After") != "1800" || !strings.Contains(errorsOf(out), "threshold") {
		t.Errorf("over quota: %d %v Retry-After %q", status, out, h.Get("Retry-After"))
	}
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	status, out, _ = w.do("GET", "/atservicesrest/v1.0/ThresholdInformation", nil)
	if status != 200 || fmt.Sprint(out["externalRequestThreshold"]) != "3" || fmt.Sprint(out["currentTimeframeRequestCount"]) != "3" {
		t.Errorf("threshold information: %d %v", status, out)
	}
}

func TestFaultsAndStateEndpoints(t *testing.T) {
	w := newWire(t, Options{})
	req, _ := http.NewRequest("PUT", w.srv.URL+fault.ControlPath, strings.NewReader(`{"burst_429":1,"retry_after_seconds":3}`))
	resp, err := w.srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("fault control: %v %v", resp, err)
	}
	resp.Body.Close()
	status, out, h := w.do("GET", "/atservicesrest/v1.0/Companies/1", nil)
	if status != 429 || h.Get("Retry-After") != "3" || errorsOf(out) == "" {
		t.Errorf("injected 429: %d %v", status, out)
	}
	status, out, _ = w.do("GET", "/_emulator/state", nil)
	if status != 200 || out["contractServiceUnits"] == nil && out["companies"] == nil {
		t.Errorf("state: %d %v", status, out)
	}
}

func TestDemoFixtureHoldsTheDemoMSP(t *testing.T) {
	s := NewDemo()
	for _, dt := range DemoTargets() {
		if u, ok := s.CurrentUnits(dt.ContractServiceID); !ok || u != dt.Units {
			t.Errorf("%s %s: units %d, %v; want %d", dt.Company, dt.Service, u, ok, dt.Units)
		}
		cs, ok := s.ContractServiceOf(dt.ContractServiceID)
		if !ok || cs.ContractID != dt.ContractID || cs.ServiceID != dt.ServiceID {
			t.Errorf("contract service %d = %+v", dt.ContractServiceID, cs)
		}
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/atservicesrest/v1.0/Companies/"+fmt.Sprint(DemoCompanyContoso), nil)
	req.Header.Set("UserName", DemoCredentials.UserName)
	req.Header.Set("Secret", DemoCredentials.Secret)
	req.Header.Set("ApiIntegrationCode", DemoCredentials.IntegrationCode)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Contoso Legal") {
		t.Errorf("demo company: %d %s", resp.StatusCode, body)
	}
}

func TestSeedRefusesDuplicateIDs(t *testing.T) {
	s := New(Options{})
	err := s.Seed(Fixture{Companies: []Company{{ID: 5, CompanyName: "a"}, {ID: 5, CompanyName: "b"}}})
	if err == nil {
		t.Error("duplicate ids accepted")
	}
}
