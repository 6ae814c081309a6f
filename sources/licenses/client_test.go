package licenses_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	licemu "github.com/meterbridge/meterbridge/dev/emulators/licenses"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/licenses"
	"github.com/meterbridge/meterbridge/sources/sourcetest"
)

type env struct {
	emu    *licemu.Server
	url    string
	client *licenses.Client
	waits  *sourcetest.Waits
}

func start(t *testing.T, emu *licemu.Server) *env {
	t.Helper()
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	e := &env{emu: emu, url: ts.URL, waits: &sourcetest.Waits{}}
	e.client = e.newClient(t, licemu.DemoAPIToken)
	return e
}

func (e *env) newClient(t *testing.T, token string) *licenses.Client {
	t.Helper()
	c, err := licenses.New(licenses.Config{BaseURL: e.url, APIKey: token}, sourcetest.LoopbackClient(), licenses.WithSleep(e.waits.Sleep))
	require.NoError(t, err)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func readAll(t *testing.T, c sources.Licences) ([]sources.LicenceCount, int) {
	t.Helper()
	var all []sources.LicenceCount
	pages, cursor := 0, ""
	for {
		p, err := c.Counts(ctx(t), cursor)
		require.NoError(t, err)
		pages++
		all = append(all, p.Counts...)
		if p.Next == "" {
			return all, pages
		}
		require.Less(t, pages, 100, "paging does not end")
		cursor = p.Next
	}
}

func TestCountsReadsEveryPage(t *testing.T) {
	emu := licemu.New(licemu.Options{})
	emu.SetMaxPageSize(4)
	ids := emu.SeedAccounts(9, map[string]decimal.Decimal{licemu.TypeServer: decimal.NewFromInt(3), licemu.TypeDesktop: decimal.NewFromInt(10)})
	e := start(t, emu)

	got, pages := readAll(t, e.client)

	assert.Equal(t, 3, pages)
	require.Len(t, got, 2*len(ids))
	for i, id := range ids {
		assert.Equal(t, sources.LicenceCount{AccountID: id, AccountName: fmt.Sprintf("Test Account %04d", i+1), LicenceType: "desktop", Units: decimal.NewFromInt(10)}, got[2*i])
		assert.Equal(t, "server", got[2*i+1].LicenceType)
		assert.Equal(t, "3", got[2*i+1].Units.String())
	}
	assert.Equal(t, 3, emu.Counts().Accounts)
}

func TestCountsMatchDemoExactly(t *testing.T) {
	e := start(t, licemu.NewDemo())
	require.NoError(t, e.emu.SetUnits(licemu.DemoAccountInitech, licemu.TypeCloudGB, decimal.RequireFromString("0.0001")))

	got, _ := readAll(t, e.client)

	want := licemu.DemoAccounts()
	require.Len(t, got, len(want))
	for i, w := range want {
		units := w.Units.String()
		if w.AccountID == licemu.DemoAccountInitech && w.Type == licemu.TypeCloudGB {
			units = "0.0001"
		}
		assert.Equal(t, w.AccountID, got[i].AccountID)
		assert.Equal(t, w.AccountName, got[i].AccountName)
		assert.Equal(t, w.Type, got[i].LicenceType)
		assert.Equal(t, units, got[i].Units.String(), "%s %s", w.AccountID, w.Type)
	}
}

func TestCountsWaitOutRetryAfter(t *testing.T) {
	e := start(t, licemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{Burst429: 2, RetryAfterSeconds: 4})

	p, err := e.client.Counts(ctx(t), "")

	require.NoError(t, err)
	assert.NotEmpty(t, p.Counts)
	assert.Equal(t, []time.Duration{4 * time.Second, 4 * time.Second}, e.waits.All())
}

func TestCountsReportRateLimitWhenRetriesRunOut(t *testing.T) {
	e := start(t, licemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{Burst429: 10, RetryAfterSeconds: 2})

	_, err := e.client.Counts(ctx(t), "")

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.RateLimited, re.Kind)
	assert.Equal(t, "rate-limited", re.Code)
	assert.Equal(t, 2*time.Second, re.RetryAfter)
}

func TestCountsRetryPassingServerErrors(t *testing.T) {
	e := start(t, licemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{Fail500: 3, TimeoutText: true})

	_, err := e.client.Counts(ctx(t), "")

	require.NoError(t, err)
	assert.Len(t, e.waits.All(), 3)
	assert.Equal(t, 1, e.emu.Counts().Accounts)
}

func TestWrongTokenIsCredentialsAndNotRetried(t *testing.T) {
	e := start(t, licemu.NewDemo())

	_, err := e.newClient(t, "wrong-token").Counts(ctx(t), "")

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Credentials, re.Kind)
	assert.Equal(t, "invalid-token", re.Code)
	assert.Equal(t, 1, e.emu.Counts().Unauthorized)
	assert.Empty(t, e.waits.All())
}

func TestRevokedTokenFailsCheck(t *testing.T) {
	e := start(t, licemu.NewDemo())
	require.NoError(t, e.client.Check(ctx(t)))
	assert.Equal(t, licemu.Counts{Me: 1}, e.emu.Counts())

	e.emu.Faults().Set(fault.Settings{RejectCredentials: true})
	err := e.client.Check(ctx(t))

	assert.Equal(t, remote.Credentials, remote.KindOf(err))
}

func TestBadCursorIsInvalidWithoutCalling(t *testing.T) {
	e := start(t, licemu.NewDemo())

	_, err := e.client.Counts(ctx(t), "page-two")

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, "cursor", re.Field)
	assert.Equal(t, 0, e.emu.Faults().Counts().Requests)
}

func TestPagePastTheEndIsEmpty(t *testing.T) {
	e := start(t, licemu.NewDemo())

	p, err := e.client.Counts(ctx(t), "99")

	require.NoError(t, err)
	assert.Empty(t, p.Counts)
	assert.Empty(t, p.Next)
}

func TestConfigValidateNamesEachBadField(t *testing.T) {
	err := licenses.Config{BaseURL: "portal", APIKey: " "}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fields = append(fields, e.(*remote.Error).Field)
	}
	assert.Equal(t, []string{"base_url", "api_key"}, fields)
	assert.NoError(t, licenses.Config{BaseURL: "https://portal.example/api", APIKey: "t"}.Validate())
	assert.NotContains(t, fmt.Sprint(licenses.Config{BaseURL: "https://p", APIKey: "tok-123"}), "tok-123")
}
