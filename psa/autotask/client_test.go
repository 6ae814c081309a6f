package autotask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

func TestZoneDiscoveryFindsTheZoneOnceWithoutSendingTheSecret(t *testing.T) {
	e := emu.New(emu.Options{})
	rec := &recorder{next: e}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := New(Config{ZoneDiscoveryURL: srv.URL + "/atservicesrest", UserName: emu.DefaultCredentials.UserName + "x",
		Secret: emu.DefaultCredentials.Secret, IntegrationCode: emu.DefaultCredentials.IntegrationCode}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	e.SetCredentials(emu.Credentials{UserName: c.cfg.UserName, Secret: c.cfg.Secret, IntegrationCode: c.cfg.IntegrationCode})
	ctx := testCtx(t)
	z, err := c.Zone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if z.URL != srv.URL+"/atservicesrest/" || z.ZoneName == "" {
		t.Errorf("zone = %+v, want the emulator's URL", z)
	}
	for range 2 {
		if _, err := c.CountCompanies(ctx, AllRows()); err != nil {
			t.Fatal(err)
		}
	}
	zoneCalls := 0
	for _, r := range rec.requests() {
		if strings.Contains(r.URL.Path, "zoneInformation") {
			zoneCalls++
			if r.URL.Query().Get("user") != c.cfg.UserName {
				t.Errorf("zone discovery asked for user %q", r.URL.Query().Get("user"))
			}
			if r.Header.Get("Secret") != "" || r.Header.Get("ApiIntegrationCode") != "" {
				t.Errorf("zone discovery was sent credentials: %v", r.Header)
			}
		} else if r.Header.Get("Secret") != c.cfg.Secret || r.Header.Get("UserName") != c.cfg.UserName ||
			r.Header.Get("ApiIntegrationCode") != c.cfg.IntegrationCode {
			t.Errorf("API request %s lacks the credential headers", r.URL.Path)
		}
	}
	if zoneCalls != 1 {
		t.Errorf("zone discovery ran %d times, want once (cached)", zoneCalls)
	}
}

func TestBaseURLSkipsZoneDiscovery(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	c, err := New(Config{BaseURL: e.srv.URL + "/atservicesrest/v1.0/", ZoneDiscoveryURL: "http://127.0.0.1:1/nowhere",
		UserName: e.cfg.UserName, Secret: e.cfg.Secret, IntegrationCode: e.cfg.IntegrationCode, ImpersonationResourceID: 42}, e.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CountCompanies(testCtx(t), AllRows()); err != nil {
		t.Fatalf("count with a configured base URL: %v", err)
	}
}

func TestZoneDiscoveryOfUnknownUserIsACredentialsError(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, func(c *Config) { c.UserName = "nobody@example.com" })
	_, err := e.client.CountCompanies(testCtx(t), AllRows())
	if remote.KindOf(err) != remote.Credentials || !strings.Contains(err.Error(), "nobody@example.com") {
		t.Fatalf("err = %v, want a credentials error naming the user", err)
	}
}

func TestZoneOutsideAutotaskIsRefused(t *testing.T) {
	c, _ := New(Config{UserName: "u", Secret: "s", IntegrationCode: "i"}, nil)
	for _, u := range []string{"https://evil.example.com/atservicesrest/", "http://webservices2.autotask.net/atservicesrest/", ""} {
		if err := c.checkZoneURL(u); err == nil {
			t.Errorf("zone URL %q accepted from the real discovery service", u)
		}
	}
	if err := c.checkZoneURL("https://webservices15.autotask.net/atservicesrest/"); err != nil {
		t.Errorf("real zone refused: %v", err)
	}
}

func TestQueryFollowsNextPageURLToTheEnd(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	for i := range 7 {
		e.emu.AddCompany(fmt.Sprintf("Company %02d", i))
	}
	e.emu.SetMaxPageSize(2)
	before := e.emu.Faults().Counts().Requests
	got, err := e.client.QueryCompanies(testCtx(t), BeginsWith("companyName", "company"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("got %d companies, want 7", len(got))
	}
	seen := map[int64]bool{}
	for _, c := range got {
		if seen[c.ID] {
			t.Errorf("company %d returned twice", c.ID)
		}
		seen[c.ID] = true
	}
	// zone discovery + 4 pages of 2, 2, 2, 1
	if n := e.emu.Faults().Counts().Requests - before; n != 5 {
		t.Errorf("sent %d requests, want 5 (discovery and four pages)", n)
	}
	n, err := e.client.CountCompanies(testCtx(t), Contains("companyName", "pany 0"))
	if err != nil || n != 7 {
		t.Errorf("count = %d, %v; want 7", n, err)
	}
}

// pagingServer answers zone discovery and one query whose nextPageUrl comes from next.
func pagingServer(t *testing.T, next func(base string) string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "zoneInformation") {
			_ = json.NewEncoder(w).Encode(ZoneInfo{ZoneName: "z", URL: srv.URL + "/atservicesrest/"})
			return
		}
		mu.Lock()
		calls++
		mu.Unlock()
		n := next(srv.URL)
		_ = json.NewEncoder(w).Encode(map[string]any{"items": []Company{{ID: 1, CompanyName: "a"}}, "pageDetails": map[string]any{"count": 1, "nextPageUrl": n}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestPagingStopsWhenNextPageURLRepeats(t *testing.T) {
	srv, calls := pagingServer(t, func(base string) string { return base + "/atservicesrest/v1.0/Companies/query/next?paging=same" })
	c, _ := New(Config{ZoneDiscoveryURL: srv.URL + "/atservicesrest", UserName: "u", Secret: "s", IntegrationCode: "cycle"}, srv.Client())
	_, err := c.QueryCompanies(testCtx(t), AllRows())
	if remote.KindOf(err) != remote.Unavailable || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("err = %v, want a paging-cycle error", err)
	}
	if *calls != 2 {
		t.Errorf("server saw %d query calls, want 2 (first page, then the repeated URL once)", *calls)
	}
}

func TestPagingRefusesNextPageOnAnotherHost(t *testing.T) {
	srv, calls := pagingServer(t, func(string) string { return "https://elsewhere.example.com/next" })
	c, _ := New(Config{ZoneDiscoveryURL: srv.URL + "/atservicesrest", UserName: "u", Secret: "s", IntegrationCode: "otherhost"}, srv.Client())
	if _, err := c.QueryCompanies(testCtx(t), AllRows()); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("err = %v, want a refusal to follow another host", err)
	}
	if *calls != 1 {
		t.Errorf("server saw %d query calls, want 1", *calls)
	}
}

func TestErrorsInsideA2xxBodyAreFailures(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "zoneInformation") {
			_ = json.NewEncoder(w).Encode(ZoneInfo{URL: srv.URL + "/atservicesrest/"})
			return
		}
		_, _ = w.Write([]byte(`{"items":[],"pageDetails":{"count":0},"errors":["Unable to find field companyNmae"]}`))
	}))
	t.Cleanup(srv.Close)
	c, _ := New(Config{ZoneDiscoveryURL: srv.URL + "/atservicesrest", UserName: "u", Secret: "s", IntegrationCode: "in2xx"}, srv.Client())
	_, err := c.QueryCompanies(testCtx(t), Eq("companyNmae", "x"))
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != remote.Invalid || re.Status != 200 || !strings.Contains(re.Message, "companyNmae") {
		t.Fatalf("err = %#v, want Invalid carrying the message from the 200 body", err)
	}
}

func TestSetQuantitySplitsThePeriodAndReadsBack(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	now := time.Now().UTC()
	eff := time.Date(now.Year(), now.Month(), 15, 0, 0, 0, 0, time.UTC)
	before := e.emu.UnitRows(tg.AdditionID)

	applied, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.NewFromInt(9), Effective: eff})
	if err != nil {
		t.Fatal(err)
	}
	if !applied.Quantity.Equal(decimal.NewFromInt(9)) {
		t.Errorf("read back %s, want 9", applied.Quantity)
	}
	ref, err := ParseReference(applied.Reference)
	if err != nil {
		t.Fatalf("reference %q: %v", applied.Reference, err)
	}
	if ref.ID == 0 || ref.UnitChange != 4 || ref.From != 5 || ref.To != 9 || !ref.Effective.Equal(eff) ||
		ref.ContractServiceID != tg.AdditionID || ref.ContractID != tg.AgreementID {
		t.Errorf("reference = %+v", ref)
	}
	rows := e.emu.UnitRows(tg.AdditionID)
	if len(rows) != len(before)+1 {
		t.Fatalf("rows %d → %d, want one more from the split", len(before), len(rows))
	}
	for _, r := range rows {
		switch {
		case r.EndDate.Equal(eff):
			if r.Units != 5 || r.StartDate.Day() != 1 {
				t.Errorf("row before the split = %+v, want units 5 from the 1st", r)
			}
		case r.StartDate.Equal(eff):
			if r.Units != 9 || r.EndDate.Day() != 1 {
				t.Errorf("row from the split = %+v, want units 9 to the next period", r)
			}
		case r.StartDate.After(eff):
			if r.Units != 9 {
				t.Errorf("later period %s holds %d, want 9", r.StartDate.Format(time.DateOnly), r.Units)
			}
		default:
			if r.Units != 5 {
				t.Errorf("earlier period %s holds %d, want 5", r.StartDate.Format(time.DateOnly), r.Units)
			}
		}
	}
	if got, _ := e.emu.UnitsOn(tg.AdditionID, eff.AddDate(0, 0, -1)); got != 5 {
		t.Errorf("units the day before = %d, want 5", got)
	}
	// The same absolute value again creates nothing.
	again, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.NewFromInt(9), Effective: eff})
	if err != nil || again.Reference != "" || !again.Quantity.Equal(decimal.NewFromInt(9)) {
		t.Errorf("repeat = %+v, %v; want 9 with no new adjustment", again, err)
	}
	if n := e.emu.AdjustmentCount(tg.AdditionID); n != 1 {
		t.Errorf("%d adjustments, want 1", n)
	}
}

func TestSetQuantityRefusesFractionalAndNegativeUnitsWithoutCalling(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	before := e.emu.Faults().Counts().Requests
	for _, q := range []string{"12.5", "-1", "0.001"} {
		_, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.RequireFromString(q)})
		var re *remote.Error
		if !errors.As(err, &re) || re.Kind != remote.Invalid || re.Field != "units" {
			t.Errorf("SetQuantity(%s) err = %v, want Invalid on units", q, err)
		}
	}
	if n := e.emu.Faults().Counts().Requests - before; n != 0 {
		t.Errorf("sent %d requests for refused quantities", n)
	}
}

func TestSetQuantityToZeroIsAllowed(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	applied, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.Zero})
	if err != nil || !applied.Quantity.IsZero() {
		t.Fatalf("SetQuantity(0) = %+v, %v", applied, err)
	}
}

func TestServerRefusalOfAnAdjustmentIsInvalidAndNotRepeated(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	ctx := testCtx(t)
	next := time.Now().UTC().AddDate(0, 1, 0)
	nextMonth := time.Date(next.Year(), next.Month(), 1, 0, 0, 0, 0, time.UTC)
	if _, err := e.client.SetQuantity(ctx, psa.Change{Target: tg, Quantity: decimal.NewFromInt(1), Effective: nextMonth}); err != nil {
		t.Fatal(err)
	}
	// Today holds 5 and next month 1: going to 2 from today would leave next month at -2.
	_, err := e.client.SetQuantity(ctx, psa.Change{Target: tg, Quantity: decimal.NewFromInt(2)})
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != remote.Invalid || !strings.Contains(re.Message, "less than 0") {
		t.Fatalf("err = %v, want Invalid from the server's refusal", err)
	}
	if n := e.emu.AdjustmentCount(tg.AdditionID); n != 1 {
		t.Errorf("%d adjustments, want only the first", n)
	}
	if c := e.emu.Faults().Counts(); c.ServerError != 0 {
		t.Errorf("fault counts %+v", c)
	}
}

func TestLostCreateResponseIsReadBackNotPostedAgain(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	c, err := New(e.cfg, &http.Client{Timeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(context.Context, time.Duration) error { return nil }
	e.emu.SetWriteResponseDelay(time.Second)
	applied, err := c.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.NewFromInt(8)})
	if err != nil {
		t.Fatalf("SetQuantity with a lost response: %v", err)
	}
	if !applied.Quantity.Equal(decimal.NewFromInt(8)) {
		t.Errorf("applied %s, want 8", applied.Quantity)
	}
	if n := e.emu.AdjustmentCount(tg.AdditionID); n != 1 {
		t.Errorf("%d adjustments, want 1: a create whose response was lost must not be repeated", n)
	}
	if ref, err := ParseReference(applied.Reference); err != nil || ref.UnitChange != 3 {
		t.Errorf("reference %q (%v), want a change of 3 even without the item id", applied.Reference, err)
	}
}

func TestCreateThatFailedBeforeLandingIsPostedAgainAfterLooking(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	e.client.sleep = func(context.Context, time.Duration) error { return nil }
	e.emu.Faults().Set(fault.Settings{Fail500: 1, TimeoutText: true, PathPrefix: "/atservicesrest/v1.0/ContractServiceAdjustments"})
	applied, err := e.client.SetQuantity(testCtx(t), psa.Change{Target: tg, Quantity: decimal.NewFromInt(11)})
	if err != nil || !applied.Quantity.Equal(decimal.NewFromInt(11)) {
		t.Fatalf("SetQuantity = %+v, %v", applied, err)
	}
	if n := e.emu.AdjustmentCount(tg.AdditionID); n != 1 {
		t.Errorf("%d adjustments, want 1", n)
	}
	if c := e.emu.Faults().Counts(); c.ServerError != 1 {
		t.Errorf("injected %d server errors, want 1", c.ServerError)
	}
}

func TestReverseUndoesAnAdjustmentOnce(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 5)
	ctx := testCtx(t)
	applied, err := e.client.SetQuantity(ctx, psa.Change{Target: tg, Quantity: decimal.NewFromInt(12)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.client.Reverse(ctx, applied.Reference)
	if err != nil || !back.Quantity.Equal(decimal.NewFromInt(5)) || back.Reference == "" {
		t.Fatalf("Reverse = %+v, %v; want 5 with a reference to the opposite adjustment", back, err)
	}
	if u, _ := e.emu.CurrentUnits(tg.AdditionID); u != 5 {
		t.Errorf("units after reverse = %d, want 5", u)
	}
	again, err := e.client.Reverse(ctx, applied.Reference)
	if err != nil || !again.Quantity.Equal(decimal.NewFromInt(5)) {
		t.Errorf("second Reverse = %+v, %v", again, err)
	}
	if n := e.emu.AdjustmentCount(tg.AdditionID); n != 2 {
		t.Errorf("%d adjustments, want 2 (the change and one reversal)", n)
	}
	// Once the units moved elsewhere, a reversal cannot be computed safely.
	later, err := e.client.SetQuantity(ctx, psa.Change{Target: tg, Quantity: decimal.NewFromInt(7)})
	if err != nil {
		t.Fatal(err)
	}
	_ = later
	if _, err := e.client.Reverse(ctx, applied.Reference); remote.KindOf(err) != remote.Invalid {
		t.Errorf("Reverse after another change err = %v, want Invalid", err)
	}
	if _, err := e.client.Reverse(ctx, "not-a-reference"); remote.KindOf(err) != remote.Invalid {
		t.Errorf("Reverse(garbage) err = %v, want Invalid", err)
	}
}

func TestThreadLimiterKeepsThreeRequestsPerEndpointInFlight(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 3)
	ctx := testCtx(t)
	if _, err := e.client.Zone(ctx); err != nil {
		t.Fatal(err)
	}
	e.emu.Faults().Set(fault.Settings{Latency: fault.Duration(40 * time.Millisecond)})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			got, err := e.client.ReadQuantities(ctx, []psa.Target{tg}, time.Time{})
			if err == nil && got[0].Err != nil {
				err = got[0].Err
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("ReadQuantities: %v", err)
		}
	}
	if n := e.emu.MaxConcurrent("contractserviceunits"); n > ThreadsPerEndpoint || n < 2 {
		t.Errorf("emulator saw %d requests in flight on one endpoint, want 2..%d", n, ThreadsPerEndpoint)
	}
	if c := e.emu.Faults().Counts(); c.Throttled != 0 {
		t.Errorf("emulator throttled %d requests", c.Throttled)
	}
}

func TestHourlyBudgetHoldsRequestsBackClientSide(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newTestEnv(t, emu.Options{}, func(c *Config) { c.HourlyBudget = 5 })
	e.client.now, e.client.sleep = clock.now, clock.sleep
	ctx := testCtx(t)
	for i := range 4 { // zone discovery + 4 counts = 5
		if _, err := e.client.CountCompanies(ctx, AllRows()); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		clock.advance(time.Minute)
	}
	sent := e.emu.Faults().Counts().Requests
	_, err := e.client.CountCompanies(ctx, AllRows())
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != remote.RateLimited || re.RetryAfter < 55*time.Minute || re.RetryAfter > time.Hour {
		t.Fatalf("sixth request err = %#v, want RateLimited with about 56 minutes to wait", err)
	}
	if n := e.emu.Faults().Counts().Requests; n != sent {
		t.Errorf("a request over budget reached the server")
	}
	// Twenty seconds before the first request leaves the hour, the client waits it out.
	clock.advance(time.Hour - 4*time.Minute - 20*time.Second)
	if _, err := e.client.CountCompanies(ctx, AllRows()); err != nil {
		t.Fatalf("request after waiting: %v", err)
	}
	if s := clock.sleeps(); len(s) != 1 || s[0] != 20*time.Second {
		t.Errorf("slept %v, want one 20s wait for the budget", s)
	}
}

func TestThresholdPressureSlowsDownThenStops(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	e := newTestEnv(t, emu.Options{HourlyQuota: 20}, func(c *Config) { c.ThresholdPollEvery = 1 })
	e.client.sleep = clock.sleep
	ctx := testCtx(t)
	var err error
	requests := 0
	for ; requests < 20 && err == nil; requests++ {
		_, err = e.client.CountCompanies(ctx, AllRows())
	}
	if remote.KindOf(err) != remote.RateLimited {
		t.Fatalf("err = %v after %d requests, want RateLimited", err, requests)
	}
	if c := e.emu.Faults().Counts(); c.Throttled != 0 {
		t.Errorf("emulator throttled %d requests; the client should stop itself first", c.Throttled)
	}
	slowed := 0
	for _, d := range clock.sleeps() {
		if d == e.client.slowdown || d == 2*e.client.slowdown {
			slowed++
		}
	}
	if slowed == 0 {
		t.Errorf("client never slowed down past half the threshold (sleeps %v)", clock.sleeps())
	}
	if e.emu.RequestsLastHour() > 20 {
		t.Errorf("emulator counted %d requests", e.emu.RequestsLastHour())
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	var slept []time.Duration
	e.client.sender.Sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}
	e.emu.Faults().Set(fault.Settings{Burst429: 1, RetryAfterSeconds: 7})
	if _, err := e.client.CountCompanies(testCtx(t), AllRows()); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] != 7*time.Second {
		t.Errorf("slept %v, want the 7s Retry-After", slept)
	}
}

func TestA429WithoutRetryAfterWaitsAMinute(t *testing.T) {
	calls := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "zoneInformation") {
			_ = json.NewEncoder(w).Encode(ZoneInfo{URL: srv.URL + "/atservicesrest/"})
			return
		}
		calls++
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":["threshold exceeded"]}`))
	}))
	t.Cleanup(srv.Close)
	c, _ := New(Config{ZoneDiscoveryURL: srv.URL + "/atservicesrest", UserName: "u", Secret: "s", IntegrationCode: "noretryafter"}, srv.Client())
	_, err := c.CountCompanies(testCtx(t), AllRows())
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != remote.RateLimited || re.RetryAfter != time.Minute {
		t.Fatalf("err = %#v, want RateLimited with a 60s RetryAfter", err)
	}
	if calls != 1 {
		t.Errorf("server saw %d calls; a 60s wait is left to the workflow, not slept in the client", calls)
	}
}

func TestCredentialsErrorsAreNeverRetried(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, func(c *Config) { c.IntegrationCode = "WRONG" })
	_, err := e.client.Company(testCtx(t), 1)
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != remote.Credentials || re.Status != 401 || re.Message == "" {
		t.Fatalf("err = %#v, want a 401 credentials error with the server's message", err)
	}
	if n := e.emu.Faults().Counts().Requests; n != 2 {
		t.Errorf("sent %d requests, want 2 (discovery and one refused call)", n)
	}
}

func TestDescribeTargetNamesEverythingAndRefusesMismatches(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 2)
	ctx := testCtx(t)
	info, err := e.client.DescribeTarget(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	want := psa.TargetInfo{Target: tg, CompanyName: "Acme Dental", AgreementName: "Acme Managed Services", Product: "Backup Storage GB", WholeUnits: true}
	if info != want {
		t.Errorf("info = %+v, want %+v", info, want)
	}
	other := e.target(t, 1)
	_, err = e.client.DescribeTarget(ctx, psa.Target{CompanyID: tg.CompanyID, AgreementID: tg.AgreementID, AdditionID: other.AdditionID})
	if remote.KindOf(err) != remote.NotFound || !strings.Contains(err.Error(), "has no contract service") {
		t.Errorf("service of another contract: err = %v, want NotFound saying the contract lacks it", err)
	}
	_, err = e.client.DescribeTarget(ctx, psa.Target{CompanyID: other.CompanyID, AgreementID: tg.AgreementID, AdditionID: tg.AdditionID})
	if remote.KindOf(err) != remote.Invalid || !strings.Contains(err.Error(), "belongs to company") {
		t.Errorf("wrong company: err = %v, want Invalid", err)
	}
}

func TestReadQuantitiesChecksCompanyPerTarget(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	a, b := e.target(t, 2), e.target(t, 3)
	wrong := psa.Target{CompanyID: b.CompanyID, AgreementID: a.AgreementID, AdditionID: a.AdditionID}
	got, err := e.client.ReadQuantities(testCtx(t), []psa.Target{a, wrong, b, {}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Err != nil || !got[0].Quantity.Equal(decimal.NewFromInt(2)) || got[2].Err != nil || !got[2].Quantity.Equal(decimal.NewFromInt(3)) {
		t.Errorf("good readings = %+v, %+v", got[0], got[2])
	}
	if remote.KindOf(got[1].Err) != remote.Invalid || remote.KindOf(got[3].Err) != remote.Invalid {
		t.Errorf("bad readings = %v, %v; want Invalid", got[1].Err, got[3].Err)
	}
}

func TestCheckReportsEachStep(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	e.target(t, 1)
	res := e.client.Check(testCtx(t))
	if !res.OK || len(res.Details) != 4 {
		t.Fatalf("Check = %+v", res)
	}
	if n := len(e.emu.Adjustments()); n != 0 {
		t.Errorf("Check created %d adjustments", n)
	}
	e.emu.Faults().Set(fault.Settings{RejectCredentials: true})
	res = e.client.Check(testCtx(t))
	if res.OK || !strings.Contains(res.Message, "refused the credentials") {
		t.Errorf("Check with revoked credentials = %+v", res)
	}
}
