package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// Santiago's clocks skip midnight on 6 September 2026; a publish on the 6th at 05:00 is still
// that month's publish, due when the PSA is switched on the 3rd.
func TestPSASwitchBeforeAPublishDayWhoseMidnightIsSkippedSaysTheMonthIsNotPublished(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, testenv.NewSecretBox())
	seedPSATenant(t, s)
	_, _, err := s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error {
		t.TimeZone = "America/Santiago"
		t.Settings.Publish.Schedule = tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: "6", Hour: 5}
		return nil
	})
	require.NoError(t, err)
	santiago, _ := time.LoadLocation("America/Santiago")
	now := time.Date(2026, 9, 3, 12, 0, 0, 0, santiago)
	_, err = s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "connectwise", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"private_key":"k"}`), Actor: "admin@acme.example", Now: now})
	require.NoError(t, err)
	_, err = s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "autotask", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"secret":"s"}`), Now: now})
	var reset *store.ResetRequiredError
	require.True(t, errors.As(err, &reset), "%v", err)
	require.NotNil(t, reset.MissedPublish, "the publish of the 6th is due")
	require.Equal(t, billing.Period("2026-09"), reset.MissedPublish.Period)
	require.True(t, reset.MissedPublish.DueAt.Equal(time.Date(2026, 9, 6, 5, 0, 0, 0, santiago)), "%s", reset.MissedPublish.DueAt)
}

// Switching the PSA turns the publish schedule off. Done before this month's publish day,
// with the month not published, the month would be lost without a word: the confirmation
// request says so, and the switch records it in the site history and its answer.
func TestPSASwitchBeforeThePublishDaySaysTheMonthIsNotPublished(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, testenv.NewSecretBox())
	seedPSATenant(t, s)
	_, _, err := s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error {
		t.Settings.Publish.Schedule = tenant.Schedule{Enabled: true, Cadence: tenant.Monthly, Day: "25", Hour: 6}
		return nil
	})
	require.NoError(t, err)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, berlin)
	_, err = s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "connectwise", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"private_key":"k"}`), Actor: "admin@acme.example", Now: now})
	require.NoError(t, err)

	_, err = s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "autotask", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"secret":"s"}`), Now: now})
	var reset *store.ResetRequiredError
	require.True(t, errors.As(err, &reset))
	require.NotNil(t, reset.MissedPublish)
	require.Equal(t, billing.Period("2026-11"), reset.MissedPublish.Period)
	require.True(t, reset.MissedPublish.DueAt.Equal(time.Date(2026, 11, 25, 6, 0, 0, 0, berlin)))
	require.Contains(t, reset.Error(), "the automatic publish of 2026-11")

	res, err := s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "autotask", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"secret":"s"}`),
		Actor: "admin@acme.example", ConfirmReset: true, Now: now})
	require.NoError(t, err)
	require.NotNil(t, res.MissedPublish)
	h, err := s.ListHistory(ctx, "acme", 0)
	require.NoError(t, err)
	var notes []store.HistoryEntry
	for _, e := range h {
		if e.Action == "schedule.publish_period" {
			notes = append(notes, e)
		}
	}
	require.Len(t, notes, 1)
	require.Equal(t, store.SeverityWarning, notes[0].Severity)
	require.Contains(t, notes[0].Message, "2026-11, due Wed 25 Nov 2026 06:00 CET, is not published automatically")

	// A month already published loses nothing: a switch back says nothing about it.
	_, err = s.Pool().Exec(ctx, `INSERT INTO cycles (id, tenant_id, kind, period, mode, trigger, started_by, workflow_id, status, phase, finished_at)
		VALUES (gen_random_uuid(), 'acme', 'usage_publish', '2026-11', 'advanced', 'manual', 'ann', 'w', 'completed', 'done', now())`)
	require.NoError(t, err)
	_, _, err = s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error { t.Settings.Publish.Schedule.Enabled = true; return nil })
	require.NoError(t, err)
	back, err := s.SetPSA(ctx, store.PSAChange{TenantID: "acme", Kind: "connectwise", Config: json.RawMessage(`{}`), Secret: json.RawMessage(`{"private_key":"k"}`),
		Actor: "admin@acme.example", ConfirmReset: true, Now: now})
	require.NoError(t, err)
	require.Nil(t, back.MissedPublish)
}
