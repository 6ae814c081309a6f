package backup_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	backupemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/backup"
	"github.com/meterbridge/meterbridge/sources/sourcetest"
)

type env struct {
	emu    *backupemu.Server
	url    string
	client *backup.Client
	waits  *sourcetest.Waits
}

func start(t *testing.T, emu *backupemu.Server) *env {
	t.Helper()
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	e := &env{emu: emu, url: ts.URL, waits: &sourcetest.Waits{}}
	e.client = e.newClient(t, backupemu.DemoAPIKey)
	return e
}

func (e *env) newClient(t *testing.T, key string) *backup.Client {
	t.Helper()
	c, err := backup.New(backup.Config{BaseURL: e.url, APIKey: key}, sourcetest.LoopbackClient(), backup.WithSleep(e.waits.Sleep))
	require.NoError(t, err)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func readAll(t *testing.T, c sources.BackupUsage, year int, month time.Month) ([]sources.ClientUsage, int) {
	t.Helper()
	var all []sources.ClientUsage
	pages, cursor := 0, ""
	for {
		p, err := c.Usage(ctx(t), year, month, cursor)
		require.NoError(t, err)
		pages++
		all = append(all, p.Clients...)
		if p.Next == "" {
			return all, pages
		}
		require.Less(t, pages, 100, "paging does not end")
		cursor = p.Next
	}
}

func TestUsageReadsEveryPage(t *testing.T) {
	emu := backupemu.New(backupemu.Options{})
	emu.SetMaxPageSize(3)
	seeded := emu.SeedClients(10, decimal.RequireFromString("5.5"))
	e := start(t, emu)

	got, pages := readAll(t, e.client, 2026, time.November)

	assert.Equal(t, 4, pages)
	require.Len(t, got, len(seeded))
	for i, c := range got {
		assert.Equal(t, seeded[i].ID, c.ClientID)
		assert.Equal(t, seeded[i].ManagedID, c.ManagedID)
		assert.Equal(t, seeded[i].Name, c.Name)
		assert.True(t, c.BillableGB.Equal(decimal.RequireFromString("5.5")), "client %s: %s", c.ClientID, c.BillableGB)
	}
	assert.Equal(t, 4, emu.Counts().Usage)
}

func TestUsageKeepsDecimalsExact(t *testing.T) {
	emu := backupemu.NewDemo()
	big := decimal.RequireFromString("123456789012345678.123456789")
	require.NoError(t, emu.SetUsage(backupemu.DemoClientInitech, 2026, time.February, big))
	e := start(t, emu)

	nov, _ := readAll(t, e.client, 2026, time.November)
	feb, _ := readAll(t, e.client, 2026, time.February)

	want := map[string]string{backupemu.DemoManagedIDAcme: "120.75", backupemu.DemoManagedIDGlobex: "310.2", backupemu.DemoManagedIDInitech: "88"}
	require.Len(t, nov, 3)
	for _, c := range nov {
		assert.Equal(t, want[c.ManagedID], c.BillableGB.String(), c.ManagedID)
	}
	require.Len(t, feb, 3)
	assert.Equal(t, "123456789012345678.123456789", feb[2].BillableGB.String())
	assert.Equal(t, "120.75", feb[0].BillableGB.String(), "other clients keep their monthly figure")
}

func TestUsageWaitsOutRetryAfter(t *testing.T) {
	e := start(t, backupemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{Burst429: 2, RetryAfterSeconds: 3})

	p, err := e.client.Usage(ctx(t), 2026, time.November, "")

	require.NoError(t, err)
	assert.Len(t, p.Clients, 3)
	assert.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second}, e.waits.All())
	assert.Equal(t, 2, e.emu.Faults().Counts().Throttled)
}

func TestUsageReportsRateLimitWhenRetriesRunOut(t *testing.T) {
	e := start(t, backupemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{Burst429: 10, RetryAfterSeconds: 2})

	_, err := e.client.Usage(ctx(t), 2026, time.November, "")

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.RateLimited, re.Kind)
	assert.Equal(t, 2*time.Second, re.RetryAfter)
	assert.Equal(t, "rate_limited", re.Code)
	assert.Equal(t, remote.DefaultPolicy.MaxAttempts, e.emu.Faults().Counts().Throttled)
}

func TestUsageRetriesPassingServerErrors(t *testing.T) {
	e := start(t, backupemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{Fail500: 2, TimeoutText: true})

	p, err := e.client.Usage(ctx(t), 2026, time.November, "")

	require.NoError(t, err)
	assert.Len(t, p.Clients, 3)
	assert.Len(t, e.waits.All(), 2)
	assert.Equal(t, 1, e.emu.Counts().Usage)
}

func TestWrongKeyIsCredentialsAndNotRetried(t *testing.T) {
	e := start(t, backupemu.NewDemo())
	bad := e.newClient(t, "not-the-key")

	_, err := bad.Usage(ctx(t), 2026, time.November, "")

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Credentials, re.Kind)
	assert.Equal(t, 401, re.Status)
	assert.Equal(t, "invalid_api_key", re.Code)
	assert.Equal(t, "backup", re.Service)
	assert.Equal(t, 1, e.emu.Counts().Unauthorized)
	assert.Empty(t, e.waits.All())
	assert.NotContains(t, err.Error(), "not-the-key")
}

func TestRevokedKeyIsCredentials(t *testing.T) {
	e := start(t, backupemu.NewDemo())
	e.emu.Faults().Set(fault.Settings{RejectCredentials: true})

	err := e.client.Check(ctx(t))

	assert.Equal(t, remote.Credentials, remote.KindOf(err))
	assert.Equal(t, 1, e.emu.Faults().Counts().Refused)
}

func TestCheckReadsAccountOnly(t *testing.T) {
	e := start(t, backupemu.NewDemo())

	require.NoError(t, e.client.Check(ctx(t)))
	assert.Equal(t, backupemu.Counts{Account: 1}, e.emu.Counts())

	err := e.newClient(t, "wrong").Check(ctx(t))
	assert.Equal(t, remote.Credentials, remote.KindOf(err))
}

func TestCursorOfAnotherMonthIsInvalid(t *testing.T) {
	emu := backupemu.NewDemo()
	emu.SetMaxPageSize(1)
	e := start(t, emu)
	p, err := e.client.Usage(ctx(t), 2026, time.November, "")
	require.NoError(t, err)
	require.NotEmpty(t, p.Next)

	_, err = e.client.Usage(ctx(t), 2026, time.December, p.Next)

	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, "cursor", re.Field)
}

func TestUsageRejectsImpossibleMonthWithoutCalling(t *testing.T) {
	e := start(t, backupemu.NewDemo())

	_, err := e.client.Usage(ctx(t), 2026, 13, "")

	assert.Equal(t, remote.Invalid, remote.KindOf(err))
	assert.Equal(t, 0, e.emu.Faults().Counts().Requests)
}

func TestConfigValidateNamesEachBadField(t *testing.T) {
	cases := []struct {
		name   string
		cfg    backup.Config
		fields []string
	}{
		{"valid", backup.Config{BaseURL: "https://api.backup.example/", APIKey: "k"}, nil},
		{"valid with path prefix", backup.Config{BaseURL: "http://127.0.0.1:8080/backup", APIKey: "k"}, nil},
		{"empty", backup.Config{}, []string{"base_url", "api_key"}},
		{"no scheme", backup.Config{BaseURL: "api.backup.example", APIKey: "k"}, []string{"base_url"}},
		{"ftp", backup.Config{BaseURL: "ftp://api.backup.example", APIKey: "k"}, []string{"base_url"}},
		{"query", backup.Config{BaseURL: "https://api.backup.example?x=1", APIKey: "k"}, []string{"base_url"}},
		{"key with newline", backup.Config{BaseURL: "https://api.backup.example", APIKey: "k\nX-Evil: 1"}, []string{"api_key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var fields []string
			for _, e := range unjoin(err) {
				var re *remote.Error
				require.ErrorAs(t, e, &re)
				assert.Equal(t, remote.Invalid, re.Kind)
				fields = append(fields, re.Field)
			}
			assert.Equal(t, tc.fields, fields)
			_, newErr := backup.New(tc.cfg, nil)
			assert.Equal(t, err == nil, newErr == nil)
		})
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestConfigNeverShowsKey(t *testing.T) {
	cfg := backup.Config{BaseURL: "https://api.backup.example", APIKey: "s3cret-key"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("connect", "cfg", cfg)

	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), logged.String(), cfg.Redacted().APIKey} {
		assert.NotContains(t, s, "s3cret")
	}
	assert.Equal(t, "s3cret-key", cfg.APIKey, "Redacted must not change the original")
	assert.Empty(t, backup.Config{}.Redacted().APIKey)
}
