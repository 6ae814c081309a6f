package integration

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/console"
	"github.com/meterbridge/meterbridge/dev/demo"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// The console's browser tests: a real Chromium drives the pages the API process serves,
// against PostgreSQL, the in-process Temporal server, a worker and the emulators.

func TestConsoleApproverPublishesApprovesTwoRemovesOneAndSeesTheOutcomes(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	b := newBrowser(t, s)
	clients := demo.BackupClients()

	b.signIn(s.approverToken)
	require.Equal(t, "/tenants/"+s.tenantID, b.location(), "an approver lands on the tenant's dashboard")
	require.Equal(t, "ann@demo-msp.example", b.text(".who .email"))
	require.Equal(t, "approver", strings.ToLower(b.text(".who .role")))
	b.screenshot("dashboard")

	// Publish now.
	b.open("/tenants/" + s.tenantID + "/publish")
	b.screenshot("publish")
	b.submit(`form[action$="/publish"] button[type=submit]`)
	require.Contains(t, b.text(".flash-ok"), "Publish of")
	require.Contains(t, b.location(), "/cycles/", "publish now leads to the new cycle's page")

	// Three pending rows, rises and falls told apart.
	pending := "/tenants/" + s.tenantID + "/pending"
	b.waitFor(pending, "three pending rows", func() bool { return b.count(`input[type=checkbox][name=id]`) == 3 })
	b.screenshot("pending")
	for _, c := range clients {
		require.Contains(t, b.text("table"), c.Name)
	}
	require.Equal(t, 3, b.count("td.up")+b.count("td.down"))

	// Approve the first two, remove the third.
	row := func(name string) string {
		return value(b, chromedp.Evaluate[string](`[...document.querySelectorAll("tbody tr")].find(r => r.innerText.includes(`+jsString(name)+`)).querySelector("input[name=id]").value`))
	}
	approveIDs := []string{row(clients[0].Name), row(clients[1].Name)}
	removeID := row(clients[2].Name)
	for _, id := range approveIDs {
		b.run(chromedp.Click(chromedp.CSS(`input[name=id][value="` + id + `"]`)))
	}
	require.Equal(t, "2 rows selected", b.text("[data-selected-count]"))
	b.submit(`button[value=approve]`)
	require.Contains(t, b.text(".flash-ok"), "2 updates approved. 1 still waits.", "the cycle's answer")

	b.waitFor(pending, "one row left", func() bool { return b.count(`input[type=checkbox][name=id]`) == 1 })
	b.run(chromedp.Click(chromedp.CSS(`input[name=id][value="` + removeID + `"]`)))
	b.submit(`button[value=reject]`)
	require.Contains(t, b.text(".flash-ok"), "1 update removed.")

	// The cycle finishes; the history lists it and opens to each client's outcome.
	cycles, err := s.store.ListCycles(context.Background(), s.tenantID, 1)
	require.NoError(t, err)
	require.Len(t, cycles, 1)
	cy := s.waitCycle(cycles[0].ID, 60*time.Second)
	require.Equal(t, billing.Completed, cy.Status, "cycle error: %s", cy.Error)

	b.open("/tenants/" + s.tenantID + "/publish")
	require.Contains(t, b.text("#history table"), "ann@demo-msp.example")
	require.Contains(t, b.text("#history table"), "completed")
	b.screenshot("publish-history")
	b.run(chromedp.Click(chromedp.CSS(`a[href$="/cycles/`+cy.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS("main table")))
	outcomes := b.text("main table")
	require.Equal(t, 2, strings.Count(outcomes, "updated"), outcomes)
	require.Equal(t, 1, strings.Count(outcomes, "removed"), outcomes)
	b.screenshot("cycle")

	// ConnectWise holds the new quantities of the two approved clients and the old one of
	// the removed client.
	for i, c := range clients {
		a, ok := s.world.ConnectWise.Addition(c.Target.AgreementID, c.Target.AdditionID)
		require.True(t, ok)
		want := c.UsageGB
		if i == 2 {
			want = c.BilledGB
		}
		require.True(t, a.Quantity.Equal(want), "%s holds %s, want %s", c.Name, a.Quantity, want)
	}

	// The site history shows the actions, done through the console.
	b.open("/tenants/" + s.tenantID + "/history")
	require.Contains(t, b.text("table"), "pending.approved.requested")
	b.screenshot("history")
}

func TestConsoleViewerSeesNoActionButtonsAndAForgedCrossSitePostIsRefused(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	runID := s.publish(nil)
	s.waitStatus(runID, billing.AwaitingApproval, 60*time.Second)

	b := newBrowser(t, s)
	b.signIn(s.viewerToken)
	require.Equal(t, "viewer", strings.ToLower(b.text(".who .role")))
	pages := []string{"", "/pending", "/publish", "/licences", "/scorecard", "/settings", "/history", "/cycles/" + runID}
	for _, p := range pages {
		b.open("/tenants/" + s.tenantID + p)
		require.Equal(t, http.StatusOK, b.status(), p)
		// The only form a viewer may send is sign-out; no action button shows.
		require.Zero(t, b.count(`form[method=post]:not([action="/signout"]) button, form[method=post]:not([action="/signout"]) input[type=submit]`),
			"a viewer sees an action button on %q", p)
	}
	require.Zero(t, b.count(`input[name=id]`), "a viewer can tick pending rows")

	// The viewer's own POST (with its session and token) is refused by role.
	csrf := value(b, chromedp.Evaluate[string](`document.querySelector('meta[name="csrf-token"]').content`))
	cookie := sessionCookie(t, b)
	resp := postForm(t, s.api.URL+"/tenants/"+s.tenantID+"/publish", cookie, url.Values{"csrf": {csrf}}, s.api.URL)
	require.Equal(t, http.StatusForbidden, resp)

	// An approver's session, and a page on another origin (same site: another port of this
	// host) that posts "publish now" to the console as soon as it opens.
	b2 := newBrowser(t, s)
	b2.signIn(s.approverToken)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><form id="f" method="post" action="` + s.api.URL + `/tenants/` + s.tenantID + `/publish">` +
			`<input name="csrf" value="guessed"></form><script>document.getElementById("f").submit()</script>`))
	}))
	t.Cleanup(evil.Close)
	b2.run(chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("main h1")))
	require.Equal(t, "Request refused", b2.text("main h1"))
	require.Equal(t, http.StatusForbidden, b2.status())

	// Without browser headers (no Sec-Fetch-Site, no Origin), the session's own token is
	// what refuses it: the approver's cookie alone is not enough.
	cookie2 := sessionCookie(t, b2)
	require.Equal(t, http.StatusForbidden, postForm(t, s.api.URL+"/tenants/"+s.tenantID+"/publish", cookie2, url.Values{"csrf": {"guessed"}}, ""))
	require.Equal(t, http.StatusForbidden, postForm(t, s.api.URL+"/tenants/"+s.tenantID+"/publish", cookie2, url.Values{}, ""))

	cycles, err := s.store.ListCycles(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	require.Len(t, cycles, 1, "a refused request started a cycle")
}

func TestConsoleSessionIdleForTwentyMinutesMustSignInAgain(t *testing.T) {
	s := newStack(t)
	b := newBrowser(t, s)
	b.signIn(s.approverToken)

	// Activity within 20 minutes keeps the session.
	s.clock.Advance(19 * time.Minute)
	b.open("/tenants/" + s.tenantID + "/pending")
	require.Equal(t, "/tenants/"+s.tenantID+"/pending", b.location())
	s.clock.Advance(19 * time.Minute)
	b.open("/tenants/" + s.tenantID + "/history")
	require.Equal(t, "/tenants/"+s.tenantID+"/history", b.location())

	// 20 minutes and more without a request end it.
	s.clock.Advance(20*time.Minute + time.Second)
	b.open("/tenants/" + s.tenantID + "/pending")
	require.True(t, strings.HasPrefix(b.location(), "/signin"), "at %s", b.location())
	require.Contains(t, b.text(".flash-error"), "20 minutes without activity")
	b.screenshot("signin-expired")

	// Signing in again returns to the page the person wanted.
	b.run(chromedp.SendKeys(chromedp.CSS("#f-token"), s.approverToken),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".who .email")))
	require.Equal(t, "/tenants/"+s.tenantID+"/pending", b.location())

	// Signing out ends it too.
	b.run(chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#f-token")))
	b.open("/tenants/" + s.tenantID)
	require.True(t, strings.HasPrefix(b.location(), "/signin"), "at %s", b.location())
}

func TestConsoleRevokedTokenEndsItsSessions(t *testing.T) {
	s := newStack(t)
	b := newBrowser(t, s)
	b.signIn(s.viewerToken)
	toks, err := s.store.ListTokens(context.Background(), s.tenantID)
	require.NoError(t, err)
	for _, tk := range toks {
		if tk.Role == store.RoleViewer {
			_, err := s.store.RevokeToken(context.Background(), tk.ID)
			require.NoError(t, err)
		}
	}
	b.open("/tenants/" + s.tenantID)
	require.True(t, strings.HasPrefix(b.location(), "/signin"), "at %s", b.location())
	require.Contains(t, b.text(".flash-error"), "revoked")
}

func TestConsoleAnotherTenantsPageIsNotFound(t *testing.T) {
	s := newStack(t)
	other := "other-" + s.tenantID
	_, err := s.store.CreateTenant(context.Background(), tenant.Tenant{ID: other, Name: "Other MSP", TimeZone: "UTC", Settings: tenant.Defaults()})
	require.NoError(t, err)
	b := newBrowser(t, s)
	b.signIn(s.approverToken)
	for _, p := range []string{"/tenants/" + other, "/tenants/" + other + "/pending", "/tenants/" + other + "/settings", "/tenants/no-such-tenant"} {
		b.open(p)
		require.Equal(t, http.StatusNotFound, b.status(), p)
		require.Equal(t, "Page not found", b.text("main h1"), p)
	}
	b.screenshot("not-found")
}

func TestConsoleApproverSeesNoAdminForms(t *testing.T) {
	s := newStack(t)
	b := newBrowser(t, s)
	b.signIn(s.approverToken)

	b.open("/tenants/" + s.tenantID + "/settings")
	require.Zero(t, b.count(`form[action$="/settings/psa"] button, form[action$="/settings/notify"] button, form[action$="/settings/approval"] button, form[action*="/settings/sources/"]:not([action$="/test"]) button`),
		"an approver sees a form that saves settings")
	require.NotZero(t, b.count(`form[action$="/settings/psa/test"] button`), "an approver may test the PSA connection")
	b.screenshot("settings-approver")

	b.open("/tenants/" + s.tenantID + "/tokens")
	require.Zero(t, b.count(`form[action$="/tokens"]`), "an approver sees the form that creates tokens")
	require.Zero(t, b.count(`details.confirm`), "an approver sees revoke buttons")
	require.Contains(t, b.text("table"), "ann@demo-msp.example")

	b.open("/tenants/" + s.tenantID + "/publish")
	require.Zero(t, b.count(`form[action$="/publish/settings"] button`))
	require.NotZero(t, b.count(`form[action$="/publish"] button`), "an approver may publish")
	require.Zero(t, b.count(`form[action*="/clients/"]:not([action$="/publish"]) button`), "an approver sees a form that changes a client")
	require.Equal(t, 3, b.count(`form[action*="/clients/"][action$="/publish"] button`), "an approver may publish one client")

	b.open("/tokens")
	require.Equal(t, http.StatusForbidden, b.status())
	b.open("/tenants")
	require.Equal(t, http.StatusForbidden, b.status())
}

// sessionCookie reads the browser's session cookie (HttpOnly: scripts cannot).
func sessionCookie(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	require.NoError(t, err)
	for _, c := range res.Cookies {
		if c.Name == "meterbridge_session" {
			require.True(t, c.HTTPOnly, "the session cookie is readable by scripts")
			require.Equal(t, "Strict", string(c.SameSite))
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// postForm posts a form with a cookie (and an Origin, when given) outside the browser.
func postForm(t *testing.T, target string, cookie *http.Cookie, form url.Values, origin string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.AddCookie(cookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

var _ = console.IdleTimeout

func TestConsoleAdminPicksTheTenantChangesSettingsAndCreatesATokenShownOnce(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	b := newBrowser(t, s)
	b.signIn(s.adminToken)
	require.Equal(t, "/tenants", b.location(), "an admin first picks the tenant")
	b.screenshot("tenants")
	b.run(chromedp.Click(chromedp.CSS(`a[href="/tenants/`+s.tenantID+`"]`)), chromedp.WaitVisible(chromedp.CSS(".stat")))
	tp := "/tenants/" + s.tenantID

	// A refused setting shows the rule's message next to its field and keeps what was typed.
	b.open(tp + "/settings")
	b.screenshot("settings")
	b.run(chromedp.SetValue(chromedp.CSS("#f-notify-emails"), "billing@demo-msp.example\nnot-an-address"))
	b.submit(`form[action$="/settings/notify"] button[type=submit]`)
	require.Equal(t, http.StatusUnprocessableEntity, b.status())
	require.Contains(t, b.text("#f-notify-emails-error"), "not-an-address")
	require.Contains(t, value(b, chromedp.Value(chromedp.CSS("#f-notify-emails"))), "not-an-address")
	b.screenshot("settings-refused")
	got, err := s.store.GetTenant(context.Background(), s.tenantID)
	require.NoError(t, err)
	require.Equal(t, []string{"billing@demo-msp.example"}, got.Settings.Notify.Emails, "a refused form changed the settings")

	// Rule approval with thresholds saves, and the dashboard says so.
	b.open(tp + "/settings#approval")
	b.run(chromedp.Click(chromedp.CSS(`input[name="licences.approval.mode"][value=rule]`)),
		chromedp.SetValue(chromedp.CSS("#f-licences-max_units"), "5"), chromedp.SetValue(chromedp.CSS("#f-licences-max_percent"), "10"))
	b.submit(`form[action$="/settings/approval"] button[type=submit]`)
	got, err = s.store.GetTenant(context.Background(), s.tenantID)
	require.NoError(t, err)
	require.Equal(t, tenant.ApproveRule, got.Settings.Licences.Approval.Mode)
	require.Equal(t, "5", got.Settings.Licences.Approval.MaxUnits.String())
	require.Equal(t, tenant.ApproveManual, got.Settings.Publish.Approval.Mode, "the other job's approval is left as it was")
	b.open(tp)
	require.Contains(t, b.text("main"), "Licence syncs: rule")

	// Publish on the last day of the month at 18:00: Temporal's next three times show, each
	// the last day of its month, with the zone named.
	b.open(tp + "/publish")
	b.run(chromedp.Click(chromedp.CSS(`input[name="publish.schedule.enabled"]`)),
		chromedp.SetValue(chromedp.CSS("#f-publish-schedule-day"), "last"),
		chromedp.SetValue(chromedp.CSS("#f-publish-schedule-hour"), "18"))
	b.submit(`form[action$="/publish/settings"] button[type=submit]`)
	next := b.count("main ol li")
	require.Equal(t, 3, next, b.mainText())
	times := b.text("main ol")
	require.Equal(t, 3, strings.Count(times, "18:00"), times)
	require.NotContains(t, times, " 28 ", "a 'last day' schedule lists day 28 of a longer month: %s", times)
	b.screenshot("publish-scheduled")

	// Tokens: the secret shows once, and works.
	b.open(tp + "/tokens")
	b.run(chromedp.SetValue(chromedp.CSS("#f-role"), "viewer"), chromedp.SendKeys(chromedp.CSS("#f-owner_email"), "new.viewer@demo-msp.example"),
		chromedp.Click(chromedp.CSS(`form[action$="/tokens"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#new-secret")))
	secret := b.text("#new-secret")
	require.True(t, strings.HasPrefix(secret, "mbt_"), secret)
	b.screenshot("tokens-created")
	b.open(tp + "/tokens")
	require.Zero(t, b.count("#new-secret"), "the secret shows again")
	require.NotContains(t, b.mainText(), secret)
	require.Contains(t, b.text("table"), "new.viewer@demo-msp.example")

	// The other pages render for an admin.
	for _, p := range []string{"/licences", "/scorecard", "/history", "/pending"} {
		b.open(tp + p)
		require.Equal(t, http.StatusOK, b.status(), p)
		b.screenshot("admin-" + strings.TrimPrefix(p, "/"))
	}
	b.open("/tokens")
	require.Equal(t, http.StatusOK, b.status())
	b.screenshot("admin-tokens")

	b2 := newBrowser(t, s)
	b2.signIn(secret)
	require.Equal(t, "new.viewer@demo-msp.example", b2.text(".who .email"))
}

func TestConsoleScorecardSyncNowWaitsFiveMinutesAndOverridesAreMarked(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	ms, err := demo.SeedMetrics(ctx, s.store, demo.Options{TenantID: s.tenantID})
	require.NoError(t, err)
	s.starter.Now = s.clock.Now
	for _, m := range ms {
		require.NoError(t, s.starter.EnsureSnapshotLoop(ctx, m))
	}
	m := ms[0]
	b := newBrowser(t, s)
	b.signIn(s.approverToken)
	sc := "/tenants/" + s.tenantID + "/scorecard"
	b.open(sc)
	sync := `form[action$="/scorecard/` + m.ID + `/sync"] button`
	b.submit(sync)
	require.Contains(t, b.text(".flash-ok"), "Sync now requested")
	require.Contains(t, b.text("#metric-"+m.ID), "can be used again in", "the page says when sync now may run again")
	require.True(t, value(b, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sync)+`).disabled`)))

	// The gauge's reading arrives in the current week.
	b.waitFor(sc, "the current week's check-in", func() bool { return b.count("#metric-"+m.ID+" tbody td.num") > 0 })
	week := string(s.starter.CurrentWeek(m))

	// Override the current week: marked manual, with who and when; then clear it.
	form := `form[action$="/scorecard/` + m.ID + `/weeks/` + week + `"]`
	b.run(chromedp.SetValue(chromedp.CSS(form+` input[name=value]`), "40"))
	b.submit(form + ` button`)
	row := b.text("#metric-" + m.ID + " tbody tr")
	require.Contains(t, row, "manual")
	require.Contains(t, row, "ann@demo-msp.example")
	require.Contains(t, row, "40")
	b.screenshot("scorecard")
	b.submit(`form[action$="/weeks/` + week + `/clear"] button`)
	require.NotContains(t, b.text("#metric-"+m.ID+" tbody tr"), "manual")

	// A second sync now inside the window is refused with the time to wait.
	csrf := value(b, chromedp.Evaluate[string](`document.querySelector('meta[name="csrf-token"]').content`))
	req, err := http.NewRequest(http.MethodPost, s.api.URL+sc+"/"+m.ID+"/sync", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.api.URL)
	req.AddCookie(sessionCookie(t, b))
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	var shown string
	for _, c := range resp.Cookies() {
		if c.Name == "meterbridge_flash" {
			raw, err := base64.RawURLEncoding.DecodeString(c.Value)
			require.NoError(t, err)
			shown = string(raw)
		}
	}
	require.Contains(t, shown, "can be used again in", "the scorecard is told when sync now may run again")
}

func TestConsoleMapsAnUnmappedAccountThroughCompanySuggestionsAndLists(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	// A licence refresh reads the portal's accounts; Fabrikam's cloud GB is not mapped.
	var started struct {
		RunID string `json:"run_id"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/refresh", s.approverToken, nil, &started))
	s.waitStatus(started.RunID, billing.AwaitingApproval, 60*time.Second)

	b := newBrowser(t, s)
	b.signIn(s.adminToken)
	mp := "/tenants/" + s.tenantID + "/mappings"
	b.open(mp + "?status=unmapped")
	require.Contains(t, b.text("table"), "Fabrikam")
	b.screenshot("mappings-unmapped")
	b.run(chromedp.Click(chromedp.CSS(`a[href*="account=acc_1003"][href*="item=cloud"]`)), chromedp.WaitVisible(chromedp.CSS("#f-q")))

	// Type part of the name: suggestions come as one types.
	value(b, chromedp.Evaluate[bool](`(document.querySelector("#f-q").value = "") === ""`))
	b.run(chromedp.SendKeys(chromedp.CSS("#f-q"), "fabri"))
	b.waitJS(`document.querySelector("#companies legend") && document.querySelector("#companies legend").innerText.includes("fabri")`)
	require.Contains(t, b.text("#companies"), "Fabrikam, Inc.")
	require.Equal(t, 1, b.count(`#companies input[name=company]`), "only Fabrikam matches %q", "fabri")

	// Its agreements, then the agreement's additions, read from the PSA.
	b.run(chromedp.Click(chromedp.CSS(`#companies input[name=company]`)))
	b.waitJS(`document.querySelector("#f-agreement")`)
	agreement := value(b, chromedp.Evaluate[string](`document.querySelector("#f-agreement option:not([value=''])").value`))
	b.run(chromedp.SetValue(chromedp.CSS("#f-agreement"), agreement))
	value(b, chromedp.Evaluate[bool](`document.querySelector("#f-agreement").dispatchEvent(new Event("change", {bubbles: true}))`))
	b.waitJS(`document.querySelector("#additions input[name=addition]")`)
	require.Contains(t, b.text("#additions"), "BKP-GB")
	b.screenshot("mapping-edit")
	addition := value(b, chromedp.Evaluate[string](`[...document.querySelectorAll("#additions label")].find(l => l.innerText.includes("BKP-GB")).querySelector("input").value`))
	b.run(chromedp.Click(chromedp.CSS(`#additions input[value="` + addition + `"]`)))
	b.submit(`form[action$="/mappings"] button[type=submit]`)
	require.Contains(t, b.text(".flash-ok"), "Mapping created")
	require.Contains(t, b.text(".flash-ok"), "Fabrikam, Inc.")

	ms, err := s.store.ListMappings(context.Background(), s.tenantID, store.RoleLicenses)
	require.NoError(t, err)
	var found *store.Mapping
	for i, m := range ms {
		if m.AccountID == "acc_1003" && strings.Contains(m.Item, "cloud") {
			found = &ms[i]
		}
	}
	require.NotNil(t, found, "no mapping of Fabrikam's cloud GB")
	require.Equal(t, "Fabrikam, Inc.", found.TargetInfo.CompanyName)
	require.Equal(t, "BKP-GB", found.TargetInfo.Product)
	require.Equal(t, "admin@demo-msp.example", found.CreatedBy)

	// Mapped now; remap and delete are offered, delete asks first.
	b.open(mp + "?status=ok")
	require.Contains(t, b.text("table"), "Fabrikam")
	b.screenshot("mappings")
	del := `form[action$="/mappings/` + found.ID + `/delete"]`
	b.run(chromedp.Click(chromedp.CSS(`details:has(` + del + `) > summary`)))
	b.submit(del + ` button`)
	require.Contains(t, b.text(".flash-ok"), "Mapping deleted")
	_, err = s.store.GetMapping(context.Background(), s.tenantID, found.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestConsoleSwitchingPSANamesWhatItResetsAndNeedsTheTypedTenantID(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "1", "hour": 6}}}}`)
	b := newBrowser(t, s)
	b.signIn(s.adminToken)
	b.open("/tenants/" + s.tenantID + "/settings")
	b.run(chromedp.Click(chromedp.CSS(`#psa-autotask details > summary`)))
	warning := b.text("#psa-autotask .confirm-box")
	require.Contains(t, warning, "deletes all")
	require.Contains(t, warning, "automatic publish schedule")
	at := map[string]string{"user_name": "api@demo-msp.example", "secret": "emulator-secret", "integration_code": "EMULATORCODE"}
	for k, v := range at {
		b.run(chromedp.SendKeys(chromedp.CSS(`#f-autotask-`+k), v))
	}
	// Without the typed confirmation nothing changes, and the form says what to type.
	b.submit(`#psa-autotask button.danger`)
	require.Contains(t, b.text("#f-autotask-confirm-error"), "Type the tenant ID")
	got, err := s.store.GetConnectionStatus(context.Background(), s.tenantID, store.RolePSA)
	require.NoError(t, err)
	require.Equal(t, "connectwise", got.Provider)
	b.screenshot("settings-switch")

	// Site history: filter, CSV download link, clear with confirmation.
	b.open("/tenants/" + s.tenantID + "/history?severity=info")
	require.NotZero(t, b.count("tbody tr"))
	require.Equal(t, 1, b.count(`a[href*="history.csv"]`))
	b.run(chromedp.Click(chromedp.CSS(`details.confirm > summary`)), chromedp.Click(chromedp.CSS(`input[name=confirm]`)))
	b.submit(`form[action$="/history/clear"] button`)
	require.Contains(t, b.text(".flash-ok"), "Site history cleared")
	h, err := s.store.ListHistory(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	require.Len(t, h, 1, "one entry records who cleared the history")
	require.Equal(t, "admin@demo-msp.example", h[0].Actor)
}
