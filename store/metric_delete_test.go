package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// A metric is deleted only when the confirmation types its name; its check-ins go with it,
// the site history keeps every row and a record of the values, and a second delete (or
// another tenant's) finds nothing. A snapshot that arrives afterwards is "not found".
func TestDeleteMetricNeedsItsNameAndKeepsTheRecord(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme")
	for _, w := range []scorecard.Week{"2026-W47", "2026-W48"} {
		_, _, err := s.RecordSnapshot(ctx, snap(m, w, "4"+string(w[len(w)-1]), w == "2026-W47"))
		require.NoError(t, err)
	}

	for _, confirm := range []string{"", "open tickets", m.ID, "Open tickets!"} {
		_, err := s.DeleteMetric(ctx, store.MetricDeletion{TenantID: "acme", MetricID: m.ID, Confirm: confirm, Actor: "admin@acme.example"})
		var fe *tenant.FieldError
		require.True(t, errors.As(err, &fe), "%q: %v", confirm, err)
		require.Equal(t, "confirm", fe.Field)
	}
	_, err := s.DeleteMetric(ctx, store.MetricDeletion{TenantID: "other", MetricID: m.ID, Confirm: "Open tickets"})
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's metric is not found")
	_, err = s.GetMetric(ctx, "acme", m.ID)
	require.NoError(t, err, "nothing was deleted")

	del, err := s.DeleteMetric(ctx, store.MetricDeletion{TenantID: "acme", MetricID: m.ID, Confirm: "  Open tickets ", Actor: "admin@acme.example",
		Details: map[string]any{"request_id": "r1"}})
	require.NoError(t, err)
	require.Equal(t, 2, del.Checkins)
	require.Equal(t, scorecard.Week("2026-W47"), del.FirstWeek)
	require.Equal(t, scorecard.Week("2026-W48"), del.LastWeek)
	_, err = s.GetMetric(ctx, "acme", m.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	cs, err := s.ListCheckins(ctx, "acme", m.ID, 0)
	require.NoError(t, err)
	require.Empty(t, cs)
	_, err = s.DeleteMetric(ctx, store.MetricDeletion{TenantID: "acme", MetricID: m.ID, Confirm: "Open tickets"})
	require.ErrorIs(t, err, store.ErrNotFound, "a second delete")

	require.Equal(t, []string{"info metric.created", "info metric.week_frozen", "warning metric.deleted"}, historyActions(t, s, "acme"))
	h, err := s.ListHistory(ctx, "acme", 1)
	require.NoError(t, err)
	require.Equal(t, `metric "Open tickets" deleted with its 2 check-ins (2026-W47 to 2026-W48); its snapshot loop stops`, h[0].Message)
	var details struct {
		RequestID string           `json:"request_id"`
		Weeks     []map[string]any `json:"weeks"`
	}
	require.NoError(t, json.Unmarshal(h[0].Details, &details))
	require.Equal(t, "r1", details.RequestID)
	require.Equal(t, []map[string]any{{"week": "2026-W48", "value": "48", "source": "gauge", "frozen": false},
		{"week": "2026-W47", "value": "47", "source": "gauge", "frozen": true}}, details.Weeks)

	_, _, err = s.RecordSnapshot(ctx, snap(m, "2026-W49", "1", false))
	require.ErrorIs(t, err, store.ErrNotFound, "a late snapshot of a deleted metric")
	has, err := s.MetricHasReading(ctx, m.ID)
	require.NoError(t, err)
	require.False(t, has)
}

// The scorecard refuses a week no zone of the tenant has begun, and accepts one a metric's
// zone ahead of the tenant's has begun.
func TestScorecardRefusesWeeksNoZoneHasBegun(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	m := newMetric(t, s, "acme") // Brisbane, UTC+10
	_, _, err := s.UpdateTenant(ctx, "acme", func(t *tenant.Tenant) error { t.TimeZone = "America/Los_Angeles"; return nil })
	require.NoError(t, err)
	// Sunday 20:00 in Los Angeles is Monday 14:00 in Brisbane: W49 has begun there.
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, mustLoad(t, "America/Los_Angeles"))
	view, err := s.Scorecard(ctx, "acme", scorecard.WeekSelector{Relative: scorecard.SelectCurrent}, now)
	require.NoError(t, err)
	require.Equal(t, scorecard.Week("2026-W48"), view.Week, "current is the tenant's week")
	require.Equal(t, store.WeekEnded, view.Metrics[0].WeekStatus, "…which has ended in Brisbane")
	require.Equal(t, m.ID, view.Metrics[0].MetricID)

	view, err = s.Scorecard(ctx, "acme", scorecard.WeekSelector{Week: "2026-W49"}, now)
	require.NoError(t, err)
	require.Equal(t, store.WeekInProgress, view.Metrics[0].WeekStatus)

	_, err = s.Scorecard(ctx, "acme", scorecard.WeekSelector{Week: "2026-W50"}, now)
	var fe *tenant.FieldError
	require.True(t, errors.As(err, &fe), "%v", err)
	require.Equal(t, "week", fe.Field)
	_, err = s.Scorecard(ctx, "nobody", scorecard.WeekSelector{Relative: scorecard.SelectCurrent}, now)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// A token's time zone is validated when it is stored.
func TestTokenTimeZoneIsAnIANAZone(t *testing.T) {
	s := testenv.Store(t, nil)
	ctx := context.Background()
	newTenant(t, s, "acme")
	tok, _, err := s.CreateToken(ctx, store.Token{TenantID: "acme", Role: store.RoleViewer, OwnerEmail: "v@acme.example", TimeZone: "Asia/Kolkata"})
	require.NoError(t, err)
	got, err := s.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	require.Equal(t, "Asia/Kolkata", got.TimeZone)
	for _, bad := range []string{"Local", "UTC+5", "Asia/Nowhere"} {
		_, _, err := s.CreateToken(ctx, store.Token{TenantID: "acme", Role: store.RoleViewer, OwnerEmail: "v@acme.example", TimeZone: bad})
		require.Error(t, err, bad)
	}
	_, err = s.GetToken(ctx, "not-a-uuid")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}
