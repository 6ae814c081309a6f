package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func demoEnv(t *testing.T) *env {
	f := cwemu.DemoFixture()
	return startEnv(t, cwemu.Options{Fixture: &f})
}

// fastRetries keeps backoff short; Retry-After is still honoured as sent.
var fastRetries = remote.Policy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxRetryAfter: 5 * time.Second}

func TestListFollowsLinkAcrossPagesKeepingTheQuery(t *testing.T) {
	e := startEnv(t, cwemu.Options{})
	for i := range 7 {
		e.emu.SeedCompany(cwemu.Company{Identifier: fmt.Sprintf("Paged%d", i), Name: fmt.Sprintf("Paged Company %d", i)})
	}
	e.emu.SetMaxPageSize(2)
	rows, err := e.good.ListCompanies(testCtx(t), ListOptions{
		Conditions: Like("identifier", "Paged%"),
		OrderBy:    Order{Field: "name", Desc: true},
		Fields:     []string{"id", "identifier", "name"},
	})
	require.NoError(t, err)
	require.Len(t, rows, 7)
	for i, co := range rows {
		assert.Equal(t, fmt.Sprintf("Paged Company %d", 6-i), co.Name)
	}
	pages := e.requests("/company/companies?")
	require.Len(t, pages, 4, "7 rows at 2 per page")
	for i, r := range pages {
		assert.Equal(t, `identifier like "Paged%"`, r.Query.Get("conditions"), "page %d", i+1)
		assert.Equal(t, "name desc", r.Query.Get("orderBy"), "page %d", i+1)
		assert.Equal(t, "id,identifier,name", r.Query.Get("fields"), "page %d", i+1)
		assert.Equal(t, fmt.Sprint(i+1), r.Query.Get("page"))
		assert.NotContains(t, r.URI, "+", "spaces travel as %20")
	}
}

func TestListStopsAtLimit(t *testing.T) {
	e := demoEnv(t)
	rows, err := e.good.ListCompanies(testCtx(t), ListOptions{Limit: 1})
	require.NoError(t, err)
	assert.Len(t, rows, 1)
	assert.Equal(t, "1", e.requests("/company/companies?")[0].Query.Get("pageSize"))
}

func TestConditionsFindTrickyStringsExactly(t *testing.T) {
	e := startEnv(t, cwemu.Options{})
	names := []string{
		`Bob's "Best" Plumbing`,
		`100% Uptime & Co`,
		`C:\Backups\Nightly`,
		`A+B = C?`,
		`Ünïcødé [Brackets]`,
		`trailing backslash \`,
	}
	for i, n := range names {
		e.emu.SeedCompany(cwemu.Company{Identifier: fmt.Sprintf("Tricky%d", i), Name: n})
	}
	e.emu.SeedCompany(cwemu.Company{Identifier: "Decoy", Name: "100 Uptime"})
	for _, n := range names {
		rows, err := e.good.ListCompanies(testCtx(t), ListOptions{Conditions: Eq("name", n)})
		require.NoError(t, err, n)
		if assert.Len(t, rows, 1, n) {
			assert.Equal(t, n, rows[0].Name)
		}
	}
	// A value written to break out of its quotes matches nothing instead of everything.
	rows, err := e.good.ListCompanies(testCtx(t), ListOptions{Conditions: Eq("name", `x" or id > 0 or name = "y`)})
	require.NoError(t, err)
	assert.Empty(t, rows)
}

func TestCodebaseIsRediscoveredAfterA404(t *testing.T) {
	e := startEnv(t, cwemu.Options{Codebase: "v2025_1/"})
	ctx := testCtx(t)
	_, err := e.good.GetCompany(ctx, 1001)
	require.NoError(t, err)
	assert.Len(t, e.requests("/v2025_1/apis/3.0/"), 1)

	e.emu.SetCodebase("v2025_2/") // a hosted upgrade
	co, err := e.good.GetCompany(ctx, 1001)
	require.NoError(t, err)
	assert.Equal(t, "Adatum Corporation", co.Name)
	assert.Len(t, e.requests("/login/companyinfo/"), 2, "discovered once, rediscovered once")
	assert.Len(t, e.requests("/v2025_2/apis/3.0/companies/"), 0)
	assert.Len(t, e.requests("/v2025_2/apis/3.0/company/companies/1001"), 1)
}

func TestRefusedCredentialsAnswered404OnCloudAreCredentials(t *testing.T) {
	e := startEnv(t, cwemu.Options{Auth404: true})
	_, err := e.bad.GetCompany(testCtx(t), 1001)
	assert.Equal(t, remote.Credentials, remote.KindOf(err), "%v", err)
	_, err = e.good.GetCompany(testCtx(t), 999999)
	assert.Equal(t, remote.NotFound, remote.KindOf(err), "a missing record stays NotFound: %v", err)
}

func TestUnknownCompanyIDIsAClearCredentialsError(t *testing.T) {
	e := startEnv(t, cwemu.Options{})
	c := e.newClient(t, Config{CompanyID: "nosuchcompany"}, nil)
	_, err := c.GetCompany(testCtx(t), 1001)
	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Credentials, re.Kind)
	assert.Equal(t, "company_id", re.Field)
	assert.Contains(t, re.Message, "nosuchcompany")
	res := c.Check(testCtx(t))
	assert.False(t, res.OK)
	assert.Contains(t, res.Message, "refused")
}

func TestCredentialsAreNeverRetried(t *testing.T) {
	e := startEnv(t, cwemu.Options{})
	e.bad.SetRetryPolicy(fastRetries)
	_, err := e.bad.GetCompany(testCtx(t), 1001)
	assert.Equal(t, remote.Credentials, remote.KindOf(err))
	assert.Len(t, e.requests("/apis/3.0/"), 1)

	e.emu.Faults().Set(fault.Settings{RejectCredentials: true})
	_, err = e.good.ListCompanies(testCtx(t), ListOptions{})
	assert.Equal(t, remote.Credentials, remote.KindOf(err))
	assert.Len(t, e.requests("/apis/3.0/"), 2)
}

func TestCreateAdditionAfterATimeoutIsNotDuplicated(t *testing.T) {
	e := demoEnv(t)
	// Every response takes 300ms, but the emulator does the work at once; the client gives
	// a POST only 100ms, so the create succeeds while the client sees a timeout.
	e.emu.Faults().Set(fault.Settings{Latency: fault.Duration(300 * time.Millisecond)})
	c := e.newClient(t, Config{}, &http.Client{Transport: postDeadline{http.DefaultTransport, 100 * time.Millisecond}, Timeout: 5 * time.Second})
	c.SetRetryPolicy(fastRetries)
	before := len(e.emu.Additions(cwemu.DemoAgreementContoso))

	a, err := c.CreateAddition(testCtx(t), cwemu.DemoAgreementContoso, NewAddition{
		ProductID: cwemu.ProductServerLicence, Quantity: decimal.NewFromInt(3),
		EffectiveDate: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Marker: "tenant-7/2025-03/lic-server",
	})
	require.NoError(t, err)
	adds := e.emu.Additions(cwemu.DemoAgreementContoso)
	assert.Len(t, adds, before+1, "exactly one addition created")
	assert.Equal(t, adds[len(adds)-1].ID, a.ID)
	assert.Contains(t, a.Description, "[meterbridge:tenant-7/2025-03/lic-server]")
	assert.Len(t, e.requests("/additions"), 3, "look-up, timed-out POST, look-up that finds it")
	posts := 0
	for _, r := range e.requests("/additions") {
		if r.Method == http.MethodPost {
			posts++
		}
	}
	assert.Equal(t, 1, posts)

	// Asked again (a retried activity), it finds the same addition and posts nothing.
	e.emu.Faults().Set(fault.Settings{})
	again, err := e.good.CreateAddition(testCtx(t), cwemu.DemoAgreementContoso, NewAddition{
		ProductID: cwemu.ProductServerLicence, Quantity: decimal.NewFromInt(3),
		EffectiveDate: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Marker: "tenant-7/2025-03/lic-server",
	})
	require.NoError(t, err)
	assert.Equal(t, a.ID, again.ID)
	assert.Len(t, e.emu.Additions(cwemu.DemoAgreementContoso), before+1)
}

// postDeadline gives POSTs a short deadline of their own, like a client that gives up on a
// slow create.
type postDeadline struct {
	rt http.RoundTripper
	d  time.Duration
}

func (p postDeadline) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost {
		return p.rt.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.d)
	resp, err := p.rt.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	body interface {
		Read([]byte) (int, error)
		Close() error
	}
	cancel context.CancelFunc
}

func (c cancelOnClose) Read(p []byte) (int, error) { return c.body.Read(p) }
func (c cancelOnClose) Close() error               { c.cancel(); return c.body.Close() }

func TestCreateAdditionRequiresAMarker(t *testing.T) {
	e := demoEnv(t)
	_, err := e.good.CreateAddition(testCtx(t), cwemu.DemoAgreementContoso, NewAddition{ProductID: cwemu.ProductServerLicence, EffectiveDate: time.Now()})
	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, "marker", re.Field)
	assert.Empty(t, e.requests("/additions"), "nothing sent")
}

func TestQuantitiesTravelAsExactJSONNumbers(t *testing.T) {
	e := demoEnv(t)
	target := psa.Target{CompanyID: cwemu.DemoCompanyNorthwind, AgreementID: cwemu.DemoAgreementNorthwind, AdditionID: cwemu.DemoAdditionNorthwindBackup}
	for _, q := range []decimal.Decimal{
		decimal.RequireFromString("0.1").Add(decimal.RequireFromString("0.2")), // 0.3, not 0.30000000000000004
		decimal.RequireFromString("1234567.891"),
		decimal.RequireFromString("100.50"),
	} {
		applied, err := e.good.SetQuantity(testCtx(t), psa.Change{Target: target, Quantity: q, Effective: time.Now()})
		require.NoError(t, err)
		assert.True(t, applied.Quantity.Equal(q), "read back %s, want %s", applied.Quantity, q)
		st, _ := e.emu.Addition(target.AgreementID, target.AdditionID)
		assert.True(t, st.Quantity.Equal(q), "emulator holds %s, want %s", st.Quantity, q)
	}
	var patches []string
	for _, r := range e.requests("/additions/") {
		if r.Method == http.MethodPatch {
			patches = append(patches, r.Body)
		}
	}
	assert.Equal(t, []string{
		`[{"op":"replace","path":"quantity","value":0.3}]`,
		`[{"op":"replace","path":"quantity","value":1234567.891}]`,
		`[{"op":"replace","path":"quantity","value":100.5}]`,
	}, patches)
}

func TestSetQuantityDoesNotWriteWhenAlreadyThere(t *testing.T) {
	e := demoEnv(t)
	target := psa.Target{CompanyID: cwemu.DemoCompanyFabrikam, AgreementID: cwemu.DemoAgreementFabrikam, AdditionID: cwemu.DemoAdditionFabrikamBackup}
	applied, err := e.good.SetQuantity(testCtx(t), psa.Change{Target: target, Quantity: decimal.RequireFromString("75.25")})
	require.NoError(t, err)
	assert.Equal(t, "75.25", applied.Quantity.String())
	st, _ := e.emu.Addition(target.AgreementID, target.AdditionID)
	assert.Zero(t, st.Writes)
}

// An addition holds one current quantity: a change limited to days before a later period
// (psa.Change.Keep) cannot be made, so it is refused before anything is sent.
func TestAChangeLimitedToPastDaysIsRefused(t *testing.T) {
	e := demoEnv(t)
	target := psa.Target{CompanyID: cwemu.DemoCompanyFabrikam, AgreementID: cwemu.DemoAgreementFabrikam, AdditionID: cwemu.DemoAdditionFabrikamBackup}
	_, err := e.good.SetQuantity(testCtx(t), psa.Change{Target: target, Quantity: decimal.RequireFromString("80"),
		Effective: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Keep: decimal.NewNullDecimal(decimal.RequireFromString("75.25"))})
	require.Equal(t, remote.Invalid, remote.KindOf(err), "%v", err)
	assert.Empty(t, e.requests("/additions"), "nothing sent")
}

func TestFieldsAndOrderByShapeTheRows(t *testing.T) {
	e := demoEnv(t)
	items, err := e.good.ListCatalogItems(testCtx(t), ListOptions{Fields: []string{"id", "identifier"}, OrderBy: Order{Field: "identifier", Desc: true}})
	require.NoError(t, err)
	var ids []string
	for _, it := range items {
		ids = append(ids, it.Identifier)
		assert.Empty(t, it.Description, "fields trims the rest")
	}
	assert.Equal(t, []string{"LIC-SERVER", "LIC-DESKTOP", "BUNDLE-STARTER", "BKP-GB"}, ids)
}

func TestErrorBodiesAreDecoded(t *testing.T) {
	e := demoEnv(t)
	ctx := testCtx(t)
	var re *remote.Error

	_, err := e.good.PatchAddition(ctx, cwemu.DemoAgreementNorthwind, cwemu.DemoAdditionNorthwindBackup, Replace("quantity", NewNumber(decimal.NewFromInt(-1))))
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, 400, re.Status)
	assert.Equal(t, "InvalidObject", re.Code)
	assert.Equal(t, "quantity", re.Field)
	assert.Contains(t, re.Message, "negative")

	_, err = e.good.SetAdditionDates(ctx, cwemu.DemoAgreementNorthwind, cwemu.DemoAdditionNorthwindBackup, new(time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)), nil)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "effectiveDate", re.Field, "before the agreement's start")

	_, err = e.good.CreateAddition(ctx, cwemu.DemoAgreementNorthwind, NewAddition{ProductID: 424242, Quantity: decimal.NewFromInt(1), EffectiveDate: time.Now(), Marker: "m1"})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, "product/id", re.Field)

	_, err = e.good.GetAddition(ctx, cwemu.DemoAgreementNorthwind, 424242)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.NotFound, re.Kind)
	assert.Equal(t, "NotFound", re.Code)

	_, err = e.good.ListCompanies(ctx, ListOptions{Conditions: Eq("noSuchField", 1)})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Contains(t, re.Message, "noSuchField")
}

func TestA429RetryAfterIsHonouredAndALongOneIsHandedBack(t *testing.T) {
	e := demoEnv(t)
	e.good.SetRetryPolicy(fastRetries)
	_, err := e.good.SystemInfo(testCtx(t)) // discover the codebase first
	require.NoError(t, err)

	e.emu.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 1})
	start := time.Now()
	_, err = e.good.GetCompany(testCtx(t), cwemu.DemoCompanyContoso)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), time.Second)

	e.emu.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 120})
	_, err = e.good.GetCompany(testCtx(t), cwemu.DemoCompanyContoso)
	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.RateLimited, re.Kind)
	assert.Equal(t, 120*time.Second, re.RetryAfter, "a durable workflow waits this out, not a goroutine")
}

func TestARequestsPerSecondLimitIsWaitedOut(t *testing.T) {
	e := demoEnv(t)
	_, err := e.good.SystemInfo(testCtx(t))
	require.NoError(t, err)
	e.emu.Faults().Set(fault.Settings{RatePerSecond: 4})
	start := time.Now()
	for range 8 {
		_, err := e.good.GetCompany(testCtx(t), cwemu.DemoCompanyNorthwind)
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	assert.Positive(t, e.emu.Faults().Counts().Throttled)
}

func TestNonTransient500IsNotRetried(t *testing.T) {
	e := demoEnv(t)
	e.good.SetRetryPolicy(fastRetries)
	_, err := e.good.SystemInfo(testCtx(t))
	require.NoError(t, err)
	e.emu.Faults().Set(fault.Settings{Fail500: 3})
	_, err = e.good.GetCompany(testCtx(t), cwemu.DemoCompanyNorthwind)
	assert.Equal(t, remote.Invalid, remote.KindOf(err), "a 500 that is not a timeout fails the same way every time")
	assert.Equal(t, 1, e.emu.Faults().Counts().ServerError)
}

func TestReadQuantitiesFailsCancelledAndForeignTargetsAlone(t *testing.T) {
	e := demoEnv(t)
	past := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.good.CancelAddition(testCtx(t), cwemu.DemoAgreementContoso, cwemu.DemoAdditionContosoDesktop, past)
	require.NoError(t, err)
	cancelledAg := e.emu.SeedAgreement(cwemu.Agreement{CompanyID: cwemu.DemoCompanyFabrikam, TypeID: cwemu.AgreementTypeManagedServices, Name: "Old", Cancelled: true})
	oldAdd := e.emu.SeedAddition(cwemu.Addition{AgreementID: cancelledAg, ProductID: cwemu.ProductBackupGB, Quantity: decimal.NewFromInt(1)})

	targets := []psa.Target{
		{CompanyID: cwemu.DemoCompanyContoso, AgreementID: cwemu.DemoAgreementContoso, AdditionID: cwemu.DemoAdditionContosoBackup},
		{CompanyID: cwemu.DemoCompanyContoso, AgreementID: cwemu.DemoAgreementContoso, AdditionID: cwemu.DemoAdditionContosoDesktop},
		{CompanyID: cwemu.DemoCompanyFabrikam, AgreementID: cancelledAg, AdditionID: oldAdd},
		{CompanyID: cwemu.DemoCompanyNorthwind, AgreementID: cwemu.DemoAgreementContoso, AdditionID: cwemu.DemoAdditionContosoServer},
		{CompanyID: cwemu.DemoCompanyContoso, AgreementID: 999999, AdditionID: 1},
		{CompanyID: cwemu.DemoCompanyContoso, AgreementID: cwemu.DemoAgreementContoso, AdditionID: cwemu.DemoAdditionNorthwindBackup},
	}
	got, err := e.good.ReadQuantities(testCtx(t), targets, time.Time{})
	require.NoError(t, err)
	require.NoError(t, got[0].Err)
	assert.Equal(t, "250", got[0].Quantity.String())
	for i, why := range map[int]string{1: "cancelled", 2: "cancelled", 3: "belongs to company", 4: "does not exist", 5: "not on agreement"} {
		assert.Equal(t, remote.NotFound, remote.KindOf(got[i].Err), "target %d: %v", i, got[i].Err)
		assert.ErrorContains(t, got[i].Err, why, "target %d", i)
	}
}

func TestDescribeTargetChecksEveryLevel(t *testing.T) {
	e := demoEnv(t)
	ctx := testCtx(t)
	info, err := e.good.DescribeTarget(ctx, psa.Target{CompanyID: cwemu.DemoCompanyNorthwind, AgreementID: cwemu.DemoAgreementNorthwind, AdditionID: cwemu.DemoAdditionNorthwindServer})
	require.NoError(t, err)
	assert.Equal(t, "Northwind Traders", info.CompanyName)
	assert.Equal(t, "Northwind Traders - Managed Services", info.AgreementName)
	assert.Equal(t, "LIC-SERVER", info.Product)
	assert.False(t, info.WholeUnits)

	for name, tg := range map[string]psa.Target{
		"company missing":           {CompanyID: 999999, AgreementID: cwemu.DemoAgreementNorthwind, AdditionID: cwemu.DemoAdditionNorthwindServer},
		"agreement of another":      {CompanyID: cwemu.DemoCompanyContoso, AgreementID: cwemu.DemoAgreementNorthwind, AdditionID: cwemu.DemoAdditionNorthwindServer},
		"addition of another":       {CompanyID: cwemu.DemoCompanyNorthwind, AgreementID: cwemu.DemoAgreementNorthwind, AdditionID: cwemu.DemoAdditionContosoServer},
		"agreement id is a company": {CompanyID: cwemu.DemoCompanyNorthwind, AgreementID: cwemu.DemoCompanyNorthwind, AdditionID: cwemu.DemoAdditionNorthwindServer},
	} {
		_, err := e.good.DescribeTarget(ctx, tg)
		assert.Equal(t, remote.NotFound, remote.KindOf(err), "%s: %v", name, err)
	}
}

func TestCheckReadsAndReportsEachStep(t *testing.T) {
	e := demoEnv(t)
	res := e.good.Check(testCtx(t))
	require.True(t, res.OK, "%+v", res)
	assert.Len(t, res.Details, 3)
	assert.Contains(t, res.Details[0], "v4_6_release/")
	for _, r := range e.requests("") {
		assert.Equal(t, http.MethodGet, r.Method, "Check only reads")
	}
	res = e.bad.Check(testCtx(t))
	assert.False(t, res.OK)
	assert.Contains(t, res.Message, "refused")
}

func TestActiveAgreementsFiltersByCompanyTypeAndStatus(t *testing.T) {
	e := demoEnv(t)
	e.emu.SeedAgreement(cwemu.Agreement{CompanyID: cwemu.DemoCompanyContoso, TypeID: cwemu.AgreementTypeManagedServices, Name: "Cancelled one", Cancelled: true})
	e.emu.SeedAgreement(cwemu.Agreement{CompanyID: cwemu.DemoCompanyContoso, TypeID: cwemu.AgreementTypeBackup, Name: "Other type"})
	ags, err := e.good.ActiveAgreements(testCtx(t), cwemu.DemoCompanyContoso, "Managed Services")
	require.NoError(t, err)
	require.Len(t, ags, 1)
	assert.Equal(t, cwemu.DemoAgreementContoso, ags[0].ID)
	q := e.requests("/finance/agreements?")[0].Query.Get("conditions")
	assert.Equal(t, `company/id = 251 and type/name = "Managed Services" and agreementStatus = "Active" and cancelledFlag = false`, q)
}

func TestManagedServicesTablesAndSystemInfoRead(t *testing.T) {
	e := demoEnv(t)
	ctx := testCtx(t)
	sols, err := e.good.ListManagementItSolutions(ctx, ListOptions{})
	require.NoError(t, err)
	require.Len(t, sols, 1)
	assert.Equal(t, "Custom", sols[0].ManagementItSolutionType)
	ints, err := e.good.ListManagedDevicesIntegrations(ctx, ListOptions{})
	require.NoError(t, err)
	require.Len(t, ints, 1)
	xrefs, err := e.good.ListCrossReferences(ctx, ints[0].ID, ListOptions{})
	require.NoError(t, err)
	require.Len(t, xrefs, 1)
	assert.Equal(t, "BKP-GB", xrefs[0].Product.Identifier)
	backups, err := e.good.ListManagementBackups(ctx, ListOptions{})
	require.NoError(t, err)
	require.Len(t, backups, 1)
	assert.Equal(t, "Summary", backups[0].BillingLevel)
	sys, err := e.good.SystemInfo(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, sys.Version)
	n, err := e.good.CountCompanies(ctx, Condition{})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	item, err := e.good.CatalogItemByIdentifier(ctx, "bkp-gb")
	require.NoError(t, err)
	assert.Equal(t, cwemu.ProductBackupGB, item.ID)
	co, err := e.good.CompanyByIdentifier(ctx, "Contoso")
	require.NoError(t, err)
	assert.Equal(t, cwemu.DemoCompanyContoso, co.ID)
}

// defaultLayout is the usage product's names, what a new tenant's settings hold.
var defaultLayout = psa.BackupStatsLayout{ConfigurationType: "Backup Stats", BillableSpaceQuestion: "Billable Space",
	YearQuestion: "Year", MonthQuestion: "Month"}

// answers reads a configuration's answers by question text.
func answers(doc map[string]any) map[string]string {
	out := map[string]string{}
	qs, _ := doc["questions"].([]any)
	for _, q := range qs {
		m, _ := q.(map[string]any)
		if a, ok := m["answer"]; ok {
			out[fmt.Sprint(m["question"])] = fmt.Sprint(a)
		}
	}
	return out
}

func TestBackupStatsReadCreateAndUpdate(t *testing.T) {
	e := demoEnv(t)
	ctx := testCtx(t)
	got, err := e.good.ReadBackupStats(ctx, defaultLayout, []string{"Northwind", "Contoso", "NoSuchClient"})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.NoError(t, got[0].Err)
	assert.True(t, got[0].Exists)
	assert.Equal(t, "98.75", got[0].Stats.BillableSpaceGB.String())
	assert.Equal(t, 2024, got[0].Stats.Year)
	assert.Equal(t, 12, got[0].Stats.Month)
	require.NoError(t, got[1].Err)
	assert.False(t, got[1].Exists)
	assert.Equal(t, remote.NotFound, remote.KindOf(got[2].Err))

	want := psa.BackupStats{BillableSpaceGB: decimal.RequireFromString("250.125"), Year: 2025, Month: 2}
	before := len(e.emu.Documents(cwemu.Configurations))
	back, err := e.good.WriteBackupStats(ctx, defaultLayout, "Contoso", want)
	require.NoError(t, err)
	assert.True(t, sameStats(back, want), "%+v", back)
	docs := e.emu.Documents(cwemu.Configurations)
	assert.Len(t, docs, before+1, "first publish creates the record")
	created := docs[len(docs)-1]
	assert.Equal(t, "Backup Stats", created["name"])
	assert.Equal(t, map[string]string{"Billable Space": "250.125", "Year": "2025", "Month": "2"}, answers(created))
	assert.Equal(t, "250.125", fmt.Sprint(created["backupBillableSpaceGb"]), "the configuration's own backup fields too")

	want.BillableSpaceGB = decimal.RequireFromString("251")
	back, err = e.good.WriteBackupStats(ctx, defaultLayout, "Contoso", want)
	require.NoError(t, err)
	assert.True(t, sameStats(back, want))
	assert.Len(t, e.emu.Documents(cwemu.Configurations), before+1, "later publishes update it")

	back, err = e.good.WriteBackupStats(ctx, defaultLayout, "Northwind", want)
	require.NoError(t, err)
	assert.True(t, sameStats(back, want))
	assert.Equal(t, 1, e.emu.Writes(cwemu.Configurations, 7002), "the usage product's record is the one written")
	nw, _ := e.emu.Document(cwemu.Configurations, 7002)
	assert.Equal(t, map[string]string{"Billable Space": "251", "Year": "2025", "Month": "2"}, answers(nw))

	_, err = e.good.WriteBackupStats(ctx, defaultLayout, "NoSuchClient", want)
	assert.Equal(t, remote.NotFound, remote.KindOf(err))
	_, err = e.good.WriteBackupStats(ctx, defaultLayout, "Contoso", psa.BackupStats{BillableSpaceGB: decimal.NewFromInt(1), Year: 2025, Month: 13})
	assert.Equal(t, remote.Invalid, remote.KindOf(err))

	co, err := e.good.DescribeManagedID(ctx, "contoso")
	require.NoError(t, err)
	assert.Equal(t, psa.Company{ID: cwemu.DemoCompanyContoso, Name: "Contoso Ltd", Identifier: "Contoso"}, co)
	_, err = e.good.DescribeManagedID(ctx, "NoSuchClient")
	assert.Equal(t, remote.NotFound, remote.KindOf(err))
}

// Whatever the tenant names — another type, other questions — is where the figures go; a
// layout ConnectWise lacks fails the whole call and names the setting.
func TestBackupStatsFollowTheConfiguredTypeAndQuestions(t *testing.T) {
	e := demoEnv(t)
	ctx := testCtx(t)
	e.emu.SeedConfigurationType(cwemu.ConfigurationType{ID: 390, Name: "Cloud Usage", Questions: []cwemu.ConfigurationTypeQuestion{
		{ID: 3901, Question: "Notes"}, {ID: 3902, Question: "GB Used", FieldType: "Number"},
		{ID: 3903, Question: "Billing Year", FieldType: "Number"}, {ID: 3904, Question: "Billing Month", FieldType: "Number"},
	}})
	layout := psa.BackupStatsLayout{ConfigurationType: "cloud usage", BillableSpaceQuestion: "GB Used", YearQuestion: "Billing Year", MonthQuestion: "Billing Month"}
	want := psa.BackupStats{BillableSpaceGB: decimal.RequireFromString("12.5"), Year: 2026, Month: 11}
	back, err := e.good.WriteBackupStats(ctx, layout, "Fabrikam", want)
	require.NoError(t, err)
	assert.True(t, sameStats(back, want))
	var rec map[string]any
	for _, d := range e.emu.Documents(cwemu.Configurations) {
		if typ, _ := d["type"].(map[string]any); fmt.Sprint(typ["id"]) == "390" {
			rec = d
		}
	}
	require.NotNil(t, rec, "a Cloud Usage record was created")
	assert.Equal(t, "Cloud Usage", rec["name"])
	assert.Equal(t, map[string]string{"GB Used": "12.5", "Billing Year": "2026", "Billing Month": "11"}, answers(rec))
	got, err := e.good.ReadBackupStats(ctx, layout, []string{"Fabrikam"})
	require.NoError(t, err)
	assert.True(t, got[0].Exists)
	assert.True(t, sameStats(got[0].Stats, want))

	for _, tc := range []struct {
		layout psa.BackupStatsLayout
		field  string
	}{
		{psa.BackupStatsLayout{ConfigurationType: "Vault Stats"}, "backup_stats.configuration_type"},
		{psa.BackupStatsLayout{ConfigurationType: "Cloud Usage", BillableSpaceQuestion: "Terabytes"}, "backup_stats.billable_space_question"},
		{psa.BackupStatsLayout{ConfigurationType: "Cloud Usage", YearQuestion: "Year"}, "backup_stats.year_question"},
	} {
		_, err := e.good.WriteBackupStats(ctx, tc.layout, "Fabrikam", want)
		var re *remote.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, remote.Invalid, re.Kind)
		assert.Equal(t, tc.field, re.Field)
		_, err = e.good.ReadBackupStats(ctx, tc.layout, []string{"Fabrikam"})
		require.ErrorAs(t, err, &re)
		assert.Equal(t, tc.field, re.Field, "reading fails the whole call too")
	}
}

func TestConfigKeepsTheSecretOut(t *testing.T) {
	cfg := Config{SiteURL: "https://api-na.myconnectwise.net/", CompanyID: "acme", PublicKey: "pub", PrivateKey: "s3cret-key", ClientID: "cid"}
	require.NoError(t, cfg.Validate())
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, s := range []string{string(b), fmt.Sprint(cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", cfg), cfg.Redacted().PrivateKey} {
		assert.NotContains(t, s, "s3cret-key")
	}
	pub, secret := cfg.SplitSecret()
	assert.Equal(t, "s3cret-key", secret)
	assert.Empty(t, pub.PrivateKey)
	assert.Equal(t, cfg, pub.WithSecret(secret))
}

func TestConfigValidateNamesEachBadField(t *testing.T) {
	err := Config{SiteURL: "ftp://x", CompanyID: "a+b", PublicKey: "", PrivateKey: "", ClientID: " ", Codebase: "v 1", APIVersion: "latest"}.Validate()
	require.Error(t, err)
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *ConfigError
		require.ErrorAs(t, e, &ce)
		fields = append(fields, ce.Field)
	}
	assert.Equal(t, []string{"site_url", "company_id", "public_key", "private_key", "client_id", "codebase", "api_version"}, fields)
	assert.NoError(t, Config{SiteURL: "http://127.0.0.1:8091", CompanyID: "c", PublicKey: "p", PrivateKey: "k", ClientID: "i", Codebase: "/v2025_1"}.Validate())
}

func TestRequestsCarryTheDocumentedHeaders(t *testing.T) {
	var got http.Header
	srv := startEnv(t, cwemu.Options{})
	c := srv.newClient(t, Config{}, &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Path, "/apis/3.0/") {
			got = r.Header.Clone()
		}
		return http.DefaultTransport.RoundTrip(r)
	})})
	_, err := c.SystemInfo(testCtx(t))
	require.NoError(t, err)
	creds := srv.emu.Credentials()
	user, pass, ok := (&http.Request{Header: got}).BasicAuth()
	require.True(t, ok)
	assert.Equal(t, creds.CompanyID+"+"+creds.PublicKey, user)
	assert.Equal(t, creds.PrivateKey, pass)
	assert.Equal(t, creds.ClientID, got.Get("clientId"))
	assert.Equal(t, "application/vnd.connectwise.com+json; version=2025.1", got.Get("Accept"))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDeleteAdditionAnswers204AndIsIdempotent(t *testing.T) {
	e := demoEnv(t)
	require.NoError(t, e.good.DeleteAddition(testCtx(t), cwemu.DemoAgreementFabrikam, cwemu.DemoAdditionFabrikamDesktop))
	_, ok := e.emu.Addition(cwemu.DemoAgreementFabrikam, cwemu.DemoAdditionFabrikamDesktop)
	assert.False(t, ok)
	require.NoError(t, e.good.DeleteAddition(testCtx(t), cwemu.DemoAgreementFabrikam, cwemu.DemoAdditionFabrikamDesktop), "already gone counts as deleted")
}
