package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/dev/demo"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/lookup"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// Answers of the three look-up routes, as a client reads them.
type companiesAnswer struct {
	PSAKind   string        `json:"psa_kind"`
	Query     string        `json:"query"`
	Companies []psa.Company `json:"companies"`
	Page      int           `json:"page"`
	PageSize  int           `json:"page_size"`
	HasMore   bool          `json:"has_more"`
	FetchedAt time.Time     `json:"fetched_at"`
}

type agreementsAnswer struct {
	PSAKind    string          `json:"psa_kind"`
	CompanyID  int64           `json:"company_id"`
	Agreements []psa.Agreement `json:"agreements"`
}

type additionsAnswer struct {
	PSAKind     string         `json:"psa_kind"`
	AgreementID int64          `json:"agreement_id"`
	Additions   []psa.Addition `json:"additions"`
}

// A viewer finds a client by typing part of its name, picks its agreement and addition
// from what the PSA offers, and an admin maps an account onto that pick.
func TestPSALookupsLeadFromANameFragmentToAMappableAddition(t *testing.T) {
	s := newStack(t)
	nw := cwemu.DemoClients()[0]

	var cos companiesAnswer
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/psa/companies?q=WIND", s.viewerToken, nil, &cos))
	assert.Equal(t, "connectwise", cos.PSAKind)
	assert.Equal(t, "WIND", cos.Query)
	assert.Equal(t, []psa.Company{{ID: nw.CompanyID, Name: nw.CompanyName, Identifier: nw.ManagedID}}, cos.Companies)
	assert.Equal(t, 1, cos.Page)
	assert.Equal(t, lookup.PageSize, cos.PageSize)
	assert.False(t, cos.HasMore)

	var ags agreementsAnswer
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("%s/psa/companies/%d/agreements", s.tp, nw.CompanyID), s.viewerToken, nil, &ags))
	require.Len(t, ags.Agreements, 1)
	assert.Equal(t, psa.Agreement{ID: nw.AgreementID, CompanyID: nw.CompanyID, Name: nw.Agreement, Type: "Managed Services", StartDate: "2024-01-01"}, ags.Agreements[0])

	var adds additionsAnswer
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("%s/psa/agreements/%d/additions", s.tp, nw.AgreementID), s.viewerToken, nil, &adds))
	require.Len(t, adds.Additions, 3)
	backup := adds.Additions[0]
	assert.Equal(t, psa.Addition{ID: nw.Backup.ID, AgreementID: nw.AgreementID, ProductID: cwemu.ProductBackupGB, Product: "BKP-GB",
		Description: "Cloud backup storage (per GB)", Quantity: decimal.RequireFromString("100.5"), Unit: "GB"}, backup)
	assert.Equal(t, []string{"BKP-GB", "LIC-DESKTOP", "LIC-SERVER"}, []string{adds.Additions[0].Product, adds.Additions[1].Product, adds.Additions[2].Product})

	var e errorAnswer
	body := map[string]any{"source": "licenses", "account_id": "acc_7001", "item": "server",
		"target": map[string]any{"company_id": nw.CompanyID, "agreement_id": nw.AgreementID, "addition_id": adds.Additions[2].ID}}
	require.Equal(t, http.StatusCreated, s.call("PUT", s.tp+"/mappings/from-lookup", s.adminToken, body, &e), "%+v", e)
}

// Bad input is refused with the field named, before anything reaches the PSA.
func TestPSALookupsRefuseBadInputWithoutAskingThePSA(t *testing.T) {
	s := newStack(t)
	before := s.world.ConnectWise.Faults().Counts().Requests
	long := strings.Repeat("x", lookup.MaxQueryLength+1)
	cases := []struct {
		path, code, field string
		status            int
	}{
		{"/psa/companies", "validation_failed", "q", 422},
		{"/psa/companies?q=", "validation_failed", "q", 422},
		{"/psa/companies?q=%20n%20", "validation_failed", "q", 422},
		{"/psa/companies?q=" + long, "validation_failed", "q", 422},
		{"/psa/companies?q=no%07rth", "validation_failed", "q", 422},
		{"/psa/companies?q=north&page=0", "invalid_query", "page", 400},
		{"/psa/companies?q=north&page=two", "invalid_query", "page", 400},
		{fmt.Sprintf("/psa/companies?q=north&page=%d", lookup.MaxPage+1), "invalid_query", "page", 400},
		{"/psa/companies?q=north&limit=5", "unknown_query", "limit", 400},
		{"/psa/companies/abc/agreements", "invalid_path", "company", 400},
		{"/psa/companies/0/agreements", "invalid_path", "company", 400},
		{"/psa/companies/-250/agreements", "invalid_path", "company", 400},
		{"/psa/companies/0250/agreements", "invalid_path", "company", 400},
		{"/psa/companies/99999999999999999999/agreements", "invalid_path", "company", 400},
		{"/psa/companies/250/agreements?all=true", "unknown_query", "all", 400},
		{"/psa/agreements/1.5/additions", "invalid_path", "agreement", 400},
		{"/psa/agreements/1250/additions?x=1", "unknown_query", "x", 400},
	}
	for _, tc := range cases {
		var e errorAnswer
		require.Equal(t, tc.status, s.call("GET", s.tp+tc.path, s.viewerToken, nil, &e), "%s: %+v", tc.path, e)
		assert.Equal(t, tc.code, e.Error.Code, tc.path)
		assert.Equal(t, tc.field, e.Error.Field, tc.path)
		assert.NotEmpty(t, e.Error.Message, tc.path)
	}
	assert.Equal(t, before, s.world.ConnectWise.Faults().Counts().Requests, "refused input reached the PSA")

	// Ids the PSA does not have, or that cannot hold a mapping, are 404 naming them.
	s.world.ConnectWise.SeedAgreement(cwemu.Agreement{ID: 1299, CompanyID: cwemu.DemoCompanyNorthwind, TypeID: cwemu.AgreementTypeBackup,
		Name: "Northwind Traders - Old Backup", StartDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Cancelled: true})
	for path, field := range map[string]string{
		"/psa/companies/987654/agreements": "company",
		"/psa/agreements/987654/additions": "agreement",
		"/psa/agreements/1299/additions":   "agreement",
	} {
		var e errorAnswer
		require.Equal(t, http.StatusNotFound, s.call("GET", s.tp+path, s.viewerToken, nil, &e), "%s: %+v", path, e)
		assert.Equal(t, "not_found", e.Error.Code, path)
		assert.Equal(t, field, e.Error.Field, path)
	}

	// A tenant without a PSA connection is told to set one.
	ctx := context.Background()
	_, err := s.store.CreateTenant(ctx, tenant.Tenant{ID: s.tenantID + "-bare", Name: "Bare MSP", TimeZone: "UTC", Settings: tenant.Defaults()})
	require.NoError(t, err)
	var e errorAnswer
	require.Equal(t, http.StatusConflict, s.call("GET", "/api/v1/tenants/"+s.tenantID+"-bare/psa/companies?q=north", s.adminToken, nil, &e))
	assert.Equal(t, "psa_not_configured", e.Error.Code)
}

// The PSA's own refusals reach people as something they can act on.
func TestPSALookupsTellWhatToDoWhenThePSARefuses(t *testing.T) {
	s := newStack(t)
	faults := s.world.ConnectWise.Faults()

	faults.Set(fault.Settings{RejectCredentials: true})
	var e errorAnswer
	require.Equal(t, http.StatusBadGateway, s.call("GET", s.tp+"/psa/companies?q=north", s.viewerToken, nil, &e))
	assert.Equal(t, "psa_credentials_rejected", e.Error.Code)
	assert.Contains(t, e.Error.Message, "PUT /psa")

	faults.Set(fault.Settings{Burst429: 10, RetryAfterSeconds: 120})
	resp, body := s.adminRaw("GET", s.tp+"/psa/companies?q=north", s.viewerToken)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	assert.Equal(t, "120", resp.Header.Get("Retry-After"), "the PSA's own wait is passed on")
	assert.Contains(t, string(body), "psa_unavailable")
}

// Answers are reused briefly, per tenant: a second identical look-up does not reach the
// PSA, another tenant's identical look-up does, and so does a different question.
func TestPSALookupsAreCachedBrieflyAndNeverAcrossTenants(t *testing.T) {
	s := newStack(t)
	clock := &lookupClock{t: time.Now()}
	conn := connect.New(s.store, testOutbound)
	s.restartAPI(func(d *api.Deps) {
		d.Connector = conn
		d.Lookup = lookup.New(conn, lookup.Options{TTL: time.Minute, Now: clock.now})
	})
	rival := "rival-" + s.tenantID
	_, err := demo.Seed(context.Background(), s.store, s.urls, demo.Options{TenantID: rival})
	require.NoError(t, err)
	rivalViewer := s.token(store.Token{TenantID: rival, Role: store.RoleViewer, OwnerEmail: "rob@rival.example"})
	requests := func() int { return s.world.ConnectWise.Faults().Counts().Requests }
	get := func(token, tenantID, path string, out any) {
		t.Helper()
		var e errorAnswer
		code := s.call("GET", "/api/v1/tenants/"+tenantID+path, token, nil, out)
		if code != http.StatusOK {
			s.call("GET", "/api/v1/tenants/"+tenantID+path, token, nil, &e)
		}
		require.Equal(t, http.StatusOK, code, "%s: %+v", path, e)
	}
	paths := []string{"/psa/companies?q=contoso", fmt.Sprintf("/psa/companies/%d/agreements", cwemu.DemoCompanyContoso),
		fmt.Sprintf("/psa/agreements/%d/additions", cwemu.DemoAgreementContoso)}

	for _, p := range paths {
		var first, second map[string]any
		n := requests()
		get(s.viewerToken, s.tenantID, p, &first)
		asked := requests() - n
		require.Positive(t, asked, "%s: the first look-up reads the PSA", p)
		get(s.viewerToken, s.tenantID, p, &second)
		assert.Equal(t, asked, requests()-n, "%s: the second look-up within the minute was answered from the cache", p)
		assert.Equal(t, first, second, p)

		get(rivalViewer, rival, p, &second)
		assert.Equal(t, 2*asked, requests()-n, "%s: another tenant's identical look-up is its own", p)
	}

	n := requests()
	var page companiesAnswer
	get(s.viewerToken, s.tenantID, "/psa/companies?q=contoso&page=2", &page)
	assert.Equal(t, n+1, requests(), "another page is another question")

	clock.advance(61 * time.Second)
	n = requests()
	get(s.viewerToken, s.tenantID, paths[0], &page)
	assert.Equal(t, n+1, requests(), "after the minute the PSA is read again")
	assert.True(t, clock.now().Equal(page.FetchedAt), "fetched at %v, want the clock's %v", page.FetchedAt, clock.now())
}

// When the tenant's PSA connection changes, the next look-up reads the new PSA at once,
// whatever is cached: after new credentials of the same PSA, and after a switch to Autotask.
func TestPSALookupsAfterAPSAChangeAreFresh(t *testing.T) {
	s := newStack(t)
	var cw companiesAnswer
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/psa/companies?q=north", s.viewerToken, nil, &cw))
	require.Len(t, cw.Companies, 1)
	assert.Equal(t, "Northwind Traders", cw.Companies[0].Name)

	// The same credentials saved again still count as a change.
	var e errorAnswer
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken, map[string]any{"kind": "connectwise", "credentials": cwCredentials(s.urls.ConnectWise)}, &e), "%+v", e)
	n := s.world.ConnectWise.Faults().Counts().Requests
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/psa/companies?q=north", s.viewerToken, nil, &cw))
	assert.Greater(t, s.world.ConnectWise.Faults().Counts().Requests, n, "the new connection was asked, not the cache")

	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/psa", s.adminToken, map[string]any{"kind": "autotask",
		"credentials": atCredentials(s.urls.Autotask), "confirm_reset": true}, &e), "%+v", e)
	var at companiesAnswer
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/psa/companies?q=north", s.viewerToken, nil, &at))
	assert.Equal(t, "autotask", at.PSAKind)
	require.Len(t, at.Companies, 1)
	assert.Equal(t, psa.Company{ID: atemu.DemoCompanyNorthwind, Name: "Northwind Dental", Identifier: "DEMO-Nor"}, at.Companies[0])

	var ags agreementsAnswer
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("%s/psa/companies/%d/agreements", s.tp, atemu.DemoCompanyNorthwind), s.viewerToken, nil, &ags))
	require.Len(t, ags.Agreements, 1)
	assert.Equal(t, "Recurring Service", ags.Agreements[0].Type)
	var adds additionsAnswer
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("%s/psa/agreements/%d/additions", s.tp, atemu.DemoContractNorthwind), s.viewerToken, nil, &adds))
	require.Len(t, adds.Additions, 3)
	for _, a := range adds.Additions {
		assert.True(t, a.WholeUnits, "%+v", a)
	}
	assert.Equal(t, "Backup Storage GB", adds.Additions[0].Product)
	assert.True(t, adds.Additions[0].Quantity.Equal(decimal.NewFromInt(250)))
	// The Autotask demo id means nothing to ConnectWise and vice versa.
	require.Equal(t, http.StatusNotFound, s.call("GET", fmt.Sprintf("%s/psa/agreements/%d/additions", s.tp, cwemu.DemoAgreementNorthwind), s.viewerToken, nil, &e))
}

// lookupClock is a settable clock for the look-up cache.
type lookupClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lookupClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lookupClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
