package gauges_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	gaugeemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources/gauges"
	"github.com/meterbridge/meterbridge/sources/sourcetest"
)

// clock is a settable time shared by the emulator and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	emu    *gaugeemu.Server
	clock  *clock
	url    string
	client *gauges.Client
	waits  *sourcetest.Waits
}

// monday6am is a snapshot time: Monday 2 November 2026, 06:00 UTC.
var monday6am = time.Date(2026, time.November, 2, 6, 0, 0, 0, time.UTC)

func start(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: monday6am}
	emu := gaugeemu.NewDemoAt(clk.Now)
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	e := &env{emu: emu, clock: clk, url: ts.URL, waits: &sourcetest.Waits{}}
	e.client = e.newClient(t, gaugeemu.DemoClientSecret)
	return e
}

func (e *env) newClient(t *testing.T, secret string) *gauges.Client {
	t.Helper()
	c, err := gauges.New(gauges.Config{BaseURL: e.url, ClientID: gaugeemu.DemoClientID, ClientSecret: secret}, sourcetest.LoopbackClient(),
		gauges.WithSleep(e.waits.Sleep), gauges.WithClock(e.clock.Now))
	require.NoError(t, err)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestOneTokenServesManyReads(t *testing.T) {
	e := start(t)

	for range 5 {
		_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeOpenTickets)
			assert.NoError(t, err)
		})
	}
	wg.Wait()

	c := e.emu.Counts()
	assert.Equal(t, 1, c.TokenRequests)
	assert.Equal(t, 25, c.GaugeReads)
	assert.Equal(t, 5, e.emu.Reads(gaugeemu.DemoGaugeMRR))
	assert.Equal(t, 0, c.Unauthorized)
}

func TestTokenRefreshedShortlyBeforeExpiry(t *testing.T) {
	e := start(t)
	e.emu.SetTokenTTL(10 * time.Minute)
	_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)
	require.NoError(t, err)

	e.clock.Advance(8 * time.Minute)
	_, err = e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Counts().TokenRequests, "still well inside the lifetime")

	e.clock.Advance(90 * time.Second) // 30 s before expiry
	_, err = e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)
	require.NoError(t, err)

	c := e.emu.Counts()
	assert.Equal(t, 2, c.TokenRequests)
	assert.Equal(t, 0, c.Unauthorized, "the client must not wait for a 401")
}

func TestRefusedTokenIsReplacedOnce(t *testing.T) {
	for name, kill := range map[string]func(*gaugeemu.Server){
		"expired": (*gaugeemu.Server).ExpireTokens,
		"revoked": (*gaugeemu.Server).RevokeTokens,
	} {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)
			require.NoError(t, err)
			kill(e.emu)

			r, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

			require.NoError(t, err)
			assert.Equal(t, gaugeemu.DemoGaugeMRR, r.GaugeID)
			c := e.emu.Counts()
			assert.Equal(t, 2, c.TokenRequests)
			assert.Equal(t, 1, c.Unauthorized)
			assert.Equal(t, 2, c.GaugeReads, "the refused read is not counted as a read")
			assert.Equal(t, 1, e.emu.LiveTokens())
		})
	}
}

func TestWrongSecretIsCredentials(t *testing.T) {
	e := start(t)

	_, err := e.newClient(t, "wrong-secret").Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Credentials, re.Kind)
	assert.Equal(t, "invalid_client", re.Code)
	assert.Equal(t, 401, re.Status)
	c := e.emu.Counts()
	assert.Equal(t, 1, c.TokenRequests, "refused credentials are not retried")
	assert.Equal(t, 0, c.GaugeReads)
	assert.Empty(t, e.waits.All())
	assert.NotContains(t, err.Error(), "wrong-secret")
}

func TestRevokedClientFailsAfterOneRefresh(t *testing.T) {
	e := start(t)
	_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)
	require.NoError(t, err)
	e.emu.Faults().Set(fault.Settings{RejectCredentials: true})

	_, err = e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

	assert.Equal(t, remote.Credentials, remote.KindOf(err))
	c := e.emu.Counts()
	assert.Equal(t, 2, c.TokenRequests)
	assert.Equal(t, 1, c.Unauthorized)
}

func TestRateLimitsAreWaitedOut(t *testing.T) {
	for _, prefix := range []string{"/oauth/", "/v1/gauges"} {
		t.Run(prefix, func(t *testing.T) {
			e := start(t)
			e.emu.Faults().Set(fault.Settings{Burst429: 2, RetryAfterSeconds: 2, PathPrefix: prefix})

			_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

			require.NoError(t, err)
			assert.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second}, e.waits.All())
			assert.Equal(t, 1, e.emu.Counts().TokenRequests)
			assert.Equal(t, 1, e.emu.Counts().GaugeReads)
		})
	}
}

func TestPassingServerErrorsAreRetried(t *testing.T) {
	e := start(t)
	e.emu.Faults().Set(fault.Settings{Fail500: 2, TimeoutText: true})

	_, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

	require.NoError(t, err)
	assert.Len(t, e.waits.All(), 2)
}

func TestUnknownGaugeIsNotFound(t *testing.T) {
	e := start(t)

	_, err := e.client.Gauge(ctx(t), "g_nope")

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.NotFound, re.Kind)
	assert.Equal(t, "not_found", re.Code)
	assert.True(t, re.Kind.ItemLevel())
}

func TestGaugeIDWithSlashStaysOneSegment(t *testing.T) {
	e := start(t)
	e.emu.SetGauge(gaugeemu.Gauge{ID: "team/a b", Value: decimal.RequireFromString("7.25"), MeasuredAt: monday6am})

	r, err := e.client.Gauge(ctx(t), "team/a b")

	require.NoError(t, err)
	assert.Equal(t, "7.25", r.Value.String())
	assert.Equal(t, 1, e.emu.Reads("team/a b"))
}

func TestDemoValuesChangeDayToDay(t *testing.T) {
	e := start(t)
	demo := map[string]func(time.Time) decimal.Decimal{}
	for _, g := range gaugeemu.DemoGauges() {
		demo[g.ID] = g.Func
	}

	for _, id := range []string{gaugeemu.DemoGaugeOpenTickets, gaugeemu.DemoGaugeMRR, gaugeemu.DemoGaugeBackupSuccess} {
		e.clock.Set(monday6am.Add(17 * time.Minute))
		mon, err := e.client.Gauge(ctx(t), id)
		require.NoError(t, err)
		e.clock.Advance(24 * time.Hour)
		tue, err := e.client.Gauge(ctx(t), id)
		require.NoError(t, err)

		assert.Equal(t, monday6am, mon.At, "%s: readings are dated at the hour", id)
		assert.True(t, mon.Value.Equal(demo[id](monday6am)), "%s: %s", id, mon.Value)
		assert.True(t, tue.Value.Equal(demo[id](monday6am.Add(24*time.Hour))), "%s: %s", id, tue.Value)
		assert.False(t, mon.Value.Equal(tue.Value), "%s does not move from day to day", id)
	}
}

func TestSetValueIsReadExactly(t *testing.T) {
	e := start(t)
	require.NoError(t, e.emu.SetValue(gaugeemu.DemoGaugeMRR, decimal.RequireFromString("1234567.891")))

	r, err := e.client.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

	require.NoError(t, err)
	assert.Equal(t, "1234567.891", r.Value.String())
	assert.Equal(t, monday6am, r.At)
}

func TestCheckProvesCredentials(t *testing.T) {
	e := start(t)

	require.NoError(t, e.client.Check(ctx(t)))
	assert.Equal(t, gaugeemu.Counts{TokenRequests: 1, TokensIssued: 1, GaugeLists: 1}, e.emu.Counts())

	err := e.newClient(t, "nope").Check(ctx(t))
	assert.Equal(t, remote.Credentials, remote.KindOf(err))
}

func TestSeparateTokenURL(t *testing.T) {
	e := start(t)
	c, err := gauges.New(gauges.Config{BaseURL: e.url + "/", TokenURL: e.url + "/oauth/token", ClientID: gaugeemu.DemoClientID, ClientSecret: gaugeemu.DemoClientSecret}, sourcetest.LoopbackClient())
	require.NoError(t, err)

	_, err = c.Gauge(ctx(t), gaugeemu.DemoGaugeMRR)

	require.NoError(t, err)
}

func TestConfigValidateAndRedact(t *testing.T) {
	err := gauges.Config{BaseURL: "https://g.example", TokenURL: "not a url"}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fields = append(fields, e.(*remote.Error).Field)
	}
	assert.Equal(t, []string{"token_url", "client_id", "client_secret"}, fields)

	cfg := gauges.Config{BaseURL: "https://g.example", ClientID: "id-1", ClientSecret: "very-secret"}
	require.NoError(t, cfg.Validate())
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), logged.String(), cfg.Redacted().ClientSecret} {
		assert.NotContains(t, s, "very-secret")
	}
	assert.Contains(t, fmt.Sprint(cfg), "id-1")
}
