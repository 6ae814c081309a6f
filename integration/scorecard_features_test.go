package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/app"
	"github.com/meterbridge/meterbridge/config"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// Issue 11, metric snapshots: the first value at once, the creator's zone, the scorecard
// view, sync now on a frozen week, and deleting a metric.

type createdMetric struct {
	Metric struct {
		store.Metric
		CurrentWeek scorecard.Week `json:"current_week"`
	} `json:"metric"`
	FirstSnapshot struct {
		Status string `json:"status"`
	} `json:"first_snapshot"`
	Warning struct {
		Code string `json:"code"`
	} `json:"warning"`
}

// postMetric creates a metric through the API with token and body, and fails the test
// unless the answer is 201.
func (s *stack) postMetric(token string, body map[string]any) createdMetric {
	s.t.Helper()
	var out createdMetric
	var e errorAnswer
	code := s.call("POST", s.tp+"/metrics", token, body, &out)
	if code != http.StatusCreated {
		s.call("POST", s.tp+"/metrics", token, body, &e)
	}
	require.Equal(s.t, http.StatusCreated, code, "create metric: %+v", e)
	return out
}

// checkinOf waits for a metric's check-in of a week.
func (s *stack) checkinOf(metricID string, week scorecard.Week) store.Checkin {
	s.t.Helper()
	var c store.Checkin
	eventually(s.t, 30*time.Second, "the check-in of "+string(week), func() bool {
		var err error
		c, err = s.store.GetCheckin(context.Background(), metricID, week)
		return err == nil
	})
	return c
}

// workflowStatus describes a workflow's latest run.
func (s *stack) workflowStatus(workflowID string) (enumspb.WorkflowExecutionStatus, string) {
	s.t.Helper()
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	require.NoError(s.t, err)
	info := d.GetWorkflowExecutionInfo()
	return info.GetStatus(), info.GetExecution().GetRunId()
}

// Point 10: a metric powered by a gauge has its first value as soon as it is created — in
// this week's check-in, read once — not at the schedule's next time twelve hours away. The
// first value is not a sync now: the 5-minute window is untouched.
func TestNewMetricHasItsFirstValueAtOnce(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	require.NoError(t, s.world.Gauges.SetValue(gaemu.DemoGaugeOpenTickets, decimal.RequireFromString("17")))

	created := s.postMetric(s.approverToken, map[string]any{"name": "Open tickets", "time_zone": "America/New_York",
		"gauge_id": gaemu.DemoGaugeOpenTickets, "schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "America/New_York", 0)}})
	require.Equal(t, "requested", created.FirstSnapshot.Status)
	m := created.Metric.Metric
	c := s.checkinOf(m.ID, created.Metric.CurrentWeek)
	require.True(t, c.Value.Equal(decimal.NewFromInt(17)), "value %s", c.Value)
	require.Equal(t, scorecard.SourceGauge, c.Source)
	require.False(t, c.Frozen, "a first value never freezes its week")
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets))

	st := s.snapshotState(m.WorkflowID)
	require.False(t, st.FirstSnapshotPending)
	require.Equal(t, scorecard.KindFirst, st.Last.Kind)
	require.True(t, st.NextSnapshotAt.After(time.Now().Add(11*time.Hour)), "the schedule's own time is still ahead")
	require.Len(t, s.historyOf("metric.first_value"), 1)

	// The first value is not a sync now: sync now may run at once.
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/metrics/"+m.ID+"/sync", s.approverToken, nil, nil))
	require.Equal(t, 2, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets))
	s.stopLoop(m.WorkflowID)
}

// Point 10 with the gauge service down when the metric is created: the metric is created
// (201) all the same, the loop keeps trying while it serves people, and the first value
// arrives as soon as the gauge answers — without sync now and without waiting for the
// schedule. Retried attempts are not failures in the site history.
func TestMetricCreatedWhileTheGaugeIsDownGetsItsFirstValueWhenItAnswers(t *testing.T) {
	s := newStack(t)
	s.starter.FirstSnapshotRetryMax = time.Second // the server backs off to 2 minutes by default
	s.startWorker()
	ctx := context.Background()
	require.NoError(t, s.world.Gauges.SetValue(gaemu.DemoGaugeOpenTickets, decimal.RequireFromString("23")))
	gaugeFaults := s.world.Gauges.Faults()
	gaugeFaults.Set(fault.Settings{Fail500: 1 << 30})

	created := s.postMetric(s.approverToken, map[string]any{"name": "Open tickets", "time_zone": "UTC",
		"gauge_id": gaemu.DemoGaugeOpenTickets, "schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}})
	m := created.Metric.Metric
	eventually(t, 30*time.Second, "the loop to try the gauge a few times", func() bool { return gaugeFaults.Counts().ServerError >= 6 })
	cs, err := s.store.ListCheckins(ctx, s.tenantID, m.ID, 0)
	require.NoError(t, err)
	require.Empty(t, cs, "no value while the gauge is down")
	require.True(t, s.snapshotState(m.WorkflowID).FirstSnapshotPending)

	// The loop serves people while it tries.
	later := quietTime(t, "UTC", 3*time.Minute)
	require.Equal(t, http.StatusOK, s.call("PATCH", s.tp+"/metrics/"+m.ID, s.approverToken, map[string]any{"schedule": map[string]any{"cadence": "daily", "time": later}}, nil))
	eventually(t, 20*time.Second, "the loop to take the new schedule", func() bool { return s.snapshotState(m.WorkflowID).Schedule.Time == later })

	gaugeFaults.Set(fault.Settings{})
	c := s.checkinOf(m.ID, scorecard.WeekOf(time.Now(), time.UTC))
	require.True(t, c.Value.Equal(decimal.NewFromInt(23)))
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "read once, when it answered")
	eventually(t, 20*time.Second, "the loop to note its first value", func() bool { return !s.snapshotState(m.WorkflowID).FirstSnapshotPending })
	require.Empty(t, s.historyOf("metric.snapshot_failed"), "attempts that were retried are not failures")

	run := s.runID(m.WorkflowID)
	s.stopLoop(m.WorkflowID)
	replaySnapshotAndKeep(t, history(t, s.temporal, m.WorkflowID, run), "metric_snapshot_first_retried")
}

// Point 11: a token can carry its owner's time zone (API and CLI validate it); a metric
// created without a zone takes its creator's, else the tenant's; a zone in the request
// wins. Each metric says where its zone came from, and the site history too.
func TestMetricWithoutAZoneTakesItsCreatorsZoneThenTheTenants(t *testing.T) {
	s := newStack(t)
	s.startWorker()

	// Tokens with and without a zone; a bad zone is refused and creates nothing.
	var e errorAnswer
	for _, bad := range []string{"Mars/Olympus", "+02:00", "Local"} {
		require.Equal(t, http.StatusUnprocessableEntity, s.call("POST", "/api/v1/tokens", s.adminToken, map[string]any{"role": "approver",
			"tenant_id": s.tenantID, "owner_email": "nina@demo-msp.example", "time_zone": bad}, &e), bad)
		require.Equal(t, "time_zone", e.Error.Field, bad)
	}
	var tok struct {
		Token  store.Token `json:"token"`
		Secret string      `json:"secret"`
	}
	require.Equal(t, http.StatusCreated, s.call("POST", "/api/v1/tokens", s.adminToken, map[string]any{"role": "approver",
		"tenant_id": s.tenantID, "owner_email": "nina@demo-msp.example", "time_zone": "America/New_York"}, &tok))
	require.Equal(t, "America/New_York", tok.Token.TimeZone)
	var list struct {
		Tokens []store.Token `json:"tokens"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/tokens", s.approverToken, nil, &list))
	zones := map[string]string{}
	for _, t := range list.Tokens {
		zones[t.OwnerEmail] = t.TimeZone
	}
	require.Equal(t, map[string]string{"nina@demo-msp.example": "America/New_York", "ann@demo-msp.example": "", "vic@demo-msp.example": ""}, zones)

	body := func(name string) map[string]any {
		return map[string]any{"name": name, "gauge_id": gaemu.DemoGaugeOpenTickets,
			"schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}}
	}
	fromCreator := s.postMetric(tok.Secret, body("Nina's tickets")).Metric.Metric
	require.Equal(t, "America/New_York", fromCreator.TimeZone)
	require.Equal(t, scorecard.ZoneFromCreator, fromCreator.TimeZoneFrom)
	require.Equal(t, "nina@demo-msp.example", fromCreator.OwnerEmail, "the owner defaults to the creator")

	fromTenant := s.postMetric(s.approverToken, body("Ann's tickets")).Metric.Metric
	require.Equal(t, "Europe/London", fromTenant.TimeZone, "ann's token has no zone: the tenant's")
	require.Equal(t, scorecard.ZoneFromTenant, fromTenant.TimeZoneFrom)

	explicit := body("Tokyo tickets")
	explicit["time_zone"] = "Asia/Tokyo"
	fromRequest := s.postMetric(tok.Secret, explicit).Metric.Metric
	require.Equal(t, "Asia/Tokyo", fromRequest.TimeZone)
	require.Equal(t, scorecard.ZoneFromRequest, fromRequest.TimeZoneFrom)

	// The loops run in those zones, and GET shows where each zone came from.
	require.Equal(t, "America/New_York", s.snapshotState(fromCreator.WorkflowID).TimeZone)
	var got createdMetric
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/metrics/"+fromTenant.ID, s.viewerToken, nil, &got))
	require.Equal(t, scorecard.ZoneFromTenant, got.Metric.TimeZoneFrom)

	// A later change of the zone is the request's.
	require.Equal(t, http.StatusOK, s.call("PATCH", s.tp+"/metrics/"+fromCreator.ID, s.approverToken, map[string]any{"time_zone": "America/Chicago"}, &got))
	require.Equal(t, scorecard.ZoneFromRequest, got.Metric.TimeZoneFrom)

	var messages []string
	for _, h := range s.historyOf("metric.created") {
		messages = append(messages, h.Message)
	}
	require.Contains(t, strings.Join(messages, "\n"), "(America/New_York, the creator's zone)")
	require.Contains(t, strings.Join(messages, "\n"), "(Europe/London, the tenant's zone)")
	for _, m := range []store.Metric{fromCreator, fromTenant, fromRequest} {
		s.stopLoop(m.WorkflowID)
	}
}

// Point 12: the scorecard lists every metric of the tenant with the selected week's value,
// whether it is final and whether it is a person's value (who, when). "current" and
// "previous" are read in the tenant's zone; each row says where that week stands in its
// metric's own zone. Bad week values are 422 naming week, and change nothing.
func TestScorecardListsEveryMetricWithTheWeeksValueFinalAndManualMarks(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	london, _ := time.LoadLocation("Europe/London")
	quiet := map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}
	var ms []store.Metric
	for _, zone := range []string{"UTC", "Australia/Brisbane", "America/Los_Angeles"} {
		m := s.postMetric(s.approverToken, map[string]any{"name": "Tickets " + zone, "time_zone": zone, "gauge_id": gaemu.DemoGaugeOpenTickets, "schedule": quiet}).Metric.Metric
		eventually(t, 20*time.Second, m.Name+"'s first value", func() bool { return s.snapshotState(m.WorkflowID).Snapshots == 1 })
		ms = append(ms, m)
	}
	utc, brisbane, la := ms[0], ms[1], ms[2]

	// The weeks as the tenant's zone reads them now, and values written for them.
	current := scorecard.WeekOf(time.Now(), london)
	previous := current.Prev()
	record := func(m store.Metric, w scorecard.Week, v string, final bool) {
		_, _, err := s.store.RecordSnapshot(ctx, store.Snapshot{MetricID: m.ID, TenantID: s.tenantID, Week: w, Value: decimal.RequireFromString(v),
			ReadAt: time.Now(), Kind: scorecard.KindScheduled, Final: final})
		require.NoError(t, err)
	}
	record(utc, current, "11", false)
	record(brisbane, current, "21", false)
	_, err := s.store.Pool().Exec(ctx, `DELETE FROM metric_checkins WHERE metric_id = $1 AND week = $2`, la.ID, current)
	require.NoError(t, err)
	record(la, previous, "30", true)
	record(utc, previous, "10", true)
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/metrics/"+brisbane.ID+"/checkins/"+string(current), s.approverToken, map[string]any{"value": "25.5"}, nil))

	type row struct {
		store.ScorecardEntry
		Value *string `json:"value"`
	}
	var view struct {
		store.ScorecardView
		Metrics []row `json:"metrics"`
	}
	get := func(query string) int {
		view.Metrics = nil
		return s.call("GET", s.tp+"/scorecard"+query, s.viewerToken, nil, &view)
	}
	byName := func() map[string]row {
		out := map[string]row{}
		for _, r := range view.Metrics {
			out[r.MetricID] = r
		}
		return out
	}

	require.Equal(t, http.StatusOK, get(""), "current by default")
	require.Equal(t, current, view.Week)
	require.Equal(t, "current", view.Selected)
	require.Equal(t, "Europe/London", view.TimeZone)
	require.Len(t, view.Metrics, 3, "every metric, oldest first")
	require.Equal(t, []string{utc.ID, brisbane.ID, la.ID}, []string{view.Metrics[0].MetricID, view.Metrics[1].MetricID, view.Metrics[2].MetricID})
	rows := byName()
	require.Equal(t, "11", *rows[utc.ID].Value)
	require.False(t, rows[utc.ID].Final)
	require.False(t, rows[utc.ID].Manual)
	require.Equal(t, store.WeekInProgress, rows[utc.ID].WeekStatus)
	require.Equal(t, "25.5", *rows[brisbane.ID].Value, "the person's value shows")
	require.True(t, rows[brisbane.ID].Manual)
	require.Equal(t, "ann@demo-msp.example", rows[brisbane.ID].ManualBy)
	require.NotNil(t, rows[brisbane.ID].ManualAt)
	require.Equal(t, "21", rows[brisbane.ID].GaugeValue.String(), "the gauge's reading is kept beside it")
	require.False(t, rows[la.ID].HasValue)
	require.Nil(t, rows[la.ID].Value, "no check-in: null, not zero")
	require.Equal(t, store.ScorecardCounts{Metrics: 3, WithValue: 2, Final: 0, Manual: 1}, view.Counts)

	require.Equal(t, http.StatusOK, get("?week=previous"))
	require.Equal(t, previous, view.Week)
	rows = byName()
	require.True(t, rows[la.ID].Final, "the week's final check-in")
	require.Equal(t, "30", *rows[la.ID].Value)
	require.NotNil(t, rows[la.ID].FrozenAt)
	require.Equal(t, store.WeekEnded, rows[utc.ID].WeekStatus)
	require.Equal(t, previous.Start(time.UTC), rows[utc.ID].WeekStartsAt.UTC(), "the week's bounds in the metric's zone")
	brisbaneZone, _ := time.LoadLocation("Australia/Brisbane")
	require.Equal(t, previous.Start(brisbaneZone), rows[brisbane.ID].WeekStartsAt.In(brisbaneZone))

	require.Equal(t, http.StatusOK, get("?week="+string(previous)), "the same week by name")
	require.Equal(t, string(previous), view.Selected)
	require.Equal(t, "30", *byName()[la.ID].Value)
	require.Equal(t, http.StatusOK, get("?week=PREVIOUS"), "any case")

	// Bad week values say what is wrong with week, and change nothing.
	before := s.historyActions()
	for _, bad := range []string{"banana", "2026-48", "2027-W53", "2026-W00", "1969-W10", "2099-W01", string(current.Next().Next())} {
		var e errorAnswer
		require.Equal(t, http.StatusUnprocessableEntity, s.call("GET", s.tp+"/scorecard?week="+bad, s.viewerToken, nil, &e), bad)
		require.Equal(t, "validation_failed", e.Error.Code, bad)
		require.Equal(t, "week", e.Error.Field, bad)
		require.NotEmpty(t, e.Error.Message)
	}
	var e errorAnswer
	require.Equal(t, http.StatusBadRequest, s.call("GET", s.tp+"/scorecard?weak=current", s.viewerToken, nil, &e))
	require.Equal(t, "weak", e.Error.Field)
	require.Equal(t, http.StatusNotFound, s.call("GET", "/api/v1/tenants/demo-nowhere/scorecard", s.adminToken, nil, &e))
	require.Equal(t, before, s.historyActions())

	for _, m := range ms {
		s.stopLoop(m.WorkflowID)
	}
}

// Point 13: sync now on a week that is frozen — here the loop's own final snapshot froze it,
// as Sunday 06:00 does — answers 409 week_frozen with the week and when the next begins,
// instead of 202 and nothing: the gauge is not read and the 5-minute window is not used up.
// A week frozen behind the loop's back is found frozen by the snapshot, with the same answer.
func TestSyncNowOnAFrozenWeekAnswersThatTheWeekIsFrozen(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()

	// A weekly schedule on today: every snapshot is its week's last. The loop's timer is
	// armed two seconds ahead (as a loop whose snapshot came due while it continued as new).
	now := time.Now().UTC()
	sched := scorecard.Schedule{Cadence: scorecard.Weekly, Weekday: strings.ToLower(now.Weekday().String()), Time: "00:00"}
	id := store.NewMetricID(s.tenantID)
	m, err := s.store.CreateMetric(ctx, store.Metric{ID: id, TenantID: s.tenantID, Name: "Weekly tickets",
		OwnerEmail: "desk@demo-msp.example", TimeZone: "UTC", GaugeID: gaemu.DemoGaugeOpenTickets, Schedule: sched,
		WorkflowID: workflows.MetricSnapshotID(id), CreatedBy: "test"})
	require.NoError(t, err)
	in := workflows.NewMetricSnapshotInput(m.ID, m.TenantID, m.GaugeID, m.TimeZone, m.Schedule)
	in.State.NextSnapshotAt = now.Add(2 * time.Second)
	_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: m.WorkflowID, TaskQueue: s.taskQueue}, workflows.MetricSnapshot, in)
	require.NoError(t, err)
	week := scorecard.WeekOf(in.State.NextSnapshotAt, time.UTC)
	eventually(t, 30*time.Second, "the week's final snapshot", func() bool {
		st := s.snapshotState(m.WorkflowID)
		return st.FrozenWeek == week
	})
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets))

	var e detailedError
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/metrics/"+m.ID+"/sync", s.approverToken, nil, &e))
	require.Equal(t, "week_frozen", e.Error.Code)
	require.Contains(t, e.Error.Message, string(week)+" is frozen")
	require.Contains(t, e.Error.Message, "override")
	details := e.Error.Details
	require.Equal(t, string(week), details["week"])
	require.Equal(t, week.End(time.UTC).Format(time.RFC3339), details["next_week_starts_at"])
	require.NotEmpty(t, details["frozen_at"])
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "nothing was read")
	got, err := s.store.GetMetric(ctx, s.tenantID, m.ID)
	require.NoError(t, err)
	require.Nil(t, got.LastSyncAt, "the 5-minute window was not used up")
	require.Empty(t, s.historyOf("metric.sync_requested"))

	// A week frozen behind the loop's back (the loop never saw it freeze).
	other := s.postMetric(s.approverToken, map[string]any{"name": "Open tickets", "time_zone": "UTC", "gauge_id": gaemu.DemoGaugeOpenTickets,
		"schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}}).Metric.Metric
	otherWeek := scorecard.WeekOf(time.Now(), time.UTC)
	s.checkinOf(other.ID, otherWeek)
	_, err = s.store.Pool().Exec(ctx, `UPDATE metric_checkins SET frozen = true, frozen_at = now() WHERE metric_id = $1`, other.ID)
	require.NoError(t, err)
	reads := s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets)
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/metrics/"+other.ID+"/sync", s.approverToken, nil, &e))
	require.Equal(t, "week_frozen", e.Error.Code)
	require.Equal(t, string(otherWeek), e.Error.Details["week"])
	require.Equal(t, reads, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "nothing was read")
	got, err = s.store.GetMetric(ctx, s.tenantID, other.ID)
	require.NoError(t, err)
	require.Nil(t, got.LastSyncAt, "the window was given back")
	require.Equal(t, otherWeek, s.snapshotState(other.WorkflowID).FrozenWeek, "the loop knows now")

	run := s.runID(other.WorkflowID)
	s.stopLoop(other.WorkflowID)
	s.stopLoop(m.WorkflowID)
	replaySnapshotAndKeep(t, history(t, s.temporal, other.WorkflowID, run), "metric_snapshot_sync_frozen")
}

// Point 9, the metric half: an admin deletes a metric by typing its name. The loop stops —
// its workflow completes, it is neither cancelled nor terminated — the check-ins go with the
// metric, the site history keeps every earlier row and a record of what was deleted, and a
// second delete is 404. The worker-start reconciliation does not bring the loop back.
func TestDeletingAMetricStopsItsLoopAndKeepsTheRecord(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	m := s.postMetric(s.approverToken, map[string]any{"name": "Open tickets", "time_zone": "UTC", "gauge_id": gaemu.DemoGaugeOpenTickets,
		"schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}}).Metric.Metric
	week := scorecard.WeekOf(time.Now(), time.UTC)
	s.checkinOf(m.ID, week)
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week.Prev()), s.approverToken, map[string]any{"value": 4}, nil))
	run := s.runID(m.WorkflowID)
	mp := s.tp + "/metrics/" + m.ID

	// Refusals change nothing.
	cases := []struct {
		name, token, body string
		status            int
		code, field       string
	}{
		{"an approver may not", s.approverToken, `{"confirm": "Open tickets"}`, 403, "forbidden", ""},
		{"no confirmation", s.adminToken, ``, 422, "validation_failed", "confirm"},
		{"empty confirmation", s.adminToken, `{"confirm": " "}`, 422, "validation_failed", "confirm"},
		{"another name", s.adminToken, `{"confirm": "Open ticket"}`, 422, "validation_failed", "confirm"},
		{"the ID is not the name", s.adminToken, `{"confirm": "` + m.ID + `"}`, 422, "validation_failed", "confirm"},
		{"unknown field", s.adminToken, `{"confirm": "Open tickets", "force": true}`, 400, "unknown_field", "force"},
		{"not JSON", s.adminToken, `confirm=Open tickets`, 400, "invalid_json", ""},
		{"unknown metric", s.adminToken, `{"confirm": "Open tickets"}`, 404, "not_found", ""},
	}
	for _, tc := range cases {
		path := mp
		if tc.name == "unknown metric" {
			path = s.tp + "/metrics/" + s.tenantID + "-nope"
		}
		var body any
		if tc.body != "" {
			body = tc.body
		}
		var e errorAnswer
		require.Equal(t, tc.status, s.call("DELETE", path, tc.token, body, &e), "%s: %+v", tc.name, e)
		require.Equal(t, tc.code, e.Error.Code, tc.name)
		require.Equal(t, tc.field, e.Error.Field, tc.name)
	}
	_, err := s.store.GetMetric(ctx, s.tenantID, m.ID)
	require.NoError(t, err, "the metric is still there")
	status, _ := s.workflowStatus(m.WorkflowID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status)
	require.Empty(t, s.historyOf("metric.deleted"))

	var del struct {
		Deleted         bool         `json:"deleted"`
		Metric          store.Metric `json:"metric"`
		CheckinsDeleted int          `json:"checkins_deleted"`
		Loop            struct {
			WorkflowID string `json:"workflow_id"`
			Outcome    string `json:"outcome"`
			Snapshots  int    `json:"snapshots"`
		} `json:"loop"`
	}
	require.Equal(t, http.StatusOK, s.call("DELETE", mp, s.adminToken, `{"confirm": " Open tickets "}`, &del))
	require.True(t, del.Deleted)
	require.Equal(t, m.ID, del.Metric.ID)
	require.Equal(t, 2, del.CheckinsDeleted)
	require.Equal(t, "stopped", del.Loop.Outcome)
	require.Equal(t, 1, del.Loop.Snapshots)

	// The loop completed: not cancelled, not terminated.
	status, lastRun := s.workflowStatus(m.WorkflowID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status)
	require.Equal(t, run, lastRun)
	require.NoError(t, s.temporal.GetWorkflow(ctx, m.WorkflowID, run).Get(ctx, nil))

	// Gone from PostgreSQL and the API; a second delete is 404.
	_, err = s.store.GetMetric(ctx, s.tenantID, m.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	var n int
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM metric_checkins WHERE metric_id = $1`, m.ID).Scan(&n))
	require.Zero(t, n, "the check-ins went with the metric")
	var e errorAnswer
	require.Equal(t, http.StatusNotFound, s.call("DELETE", mp, s.adminToken, `{"confirm": "Open tickets"}`, &e))
	require.Equal(t, http.StatusNotFound, s.call("GET", mp, s.viewerToken, nil, &e))
	require.Equal(t, http.StatusNotFound, s.call("POST", mp+"/sync", s.approverToken, nil, &e))
	var view store.ScorecardView
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/scorecard", s.viewerToken, nil, &view))
	require.Empty(t, view.Metrics)

	// The audit trail keeps what happened, and what was deleted.
	for _, action := range []string{"metric.created", "metric.first_value", "metric.override_set", "metric.deleted"} {
		require.Len(t, s.historyOf(action), 1, action)
	}
	row := s.historyOf("metric.deleted")[0]
	require.Equal(t, store.SeverityWarning, row.Severity)
	require.Equal(t, "admin@demo-msp.example", row.Actor)
	var details struct {
		MetricID string `json:"metric_id"`
		Weeks    []struct {
			Week   string `json:"week"`
			Value  string `json:"value"`
			Source string `json:"source"`
		} `json:"weeks"`
		RequestID string `json:"request_id"`
	}
	raw, err := json.Marshal(row.Details)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &details))
	require.Equal(t, m.ID, details.MetricID)
	require.Len(t, details.Weeks, 2)
	require.Equal(t, string(week.Prev()), details.Weeks[1].Week)
	require.Equal(t, "4", details.Weeks[1].Value)
	require.Equal(t, "manual", details.Weeks[1].Source)
	require.NotEmpty(t, details.RequestID)
	require.Len(t, s.historyOf("api.delete.metrics"), 0, "one row for the request, the store's")
	var audited int
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM admin_audit WHERE action = 'metric.deleted' AND tenant_id = $1 AND details->>'metric_id' = $2`,
		s.tenantID, m.ID).Scan(&audited))
	require.Equal(t, 1, audited)

	// A worker starts: the reconciliation leaves the loop ended.
	rt := &app.Runtime{Config: config.Config{TaskQueue: s.taskQueue}, Logger: testenv.Logger(), Store: s.store, Temporal: s.temporal}
	rt.Reconcile(ctx, s.taskQueue)
	status, lastRun = s.workflowStatus(m.WorkflowID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status, "not resurrected")
	require.Equal(t, run, lastRun, "no new run")
	res, err := s.starter.ReconcileSnapshotLoops(ctx)
	require.NoError(t, err)
	require.NotContains(t, res.Started, m.WorkflowID)

	replaySnapshotAndKeep(t, history(t, s.temporal, m.WorkflowID, run), "metric_snapshot_deleted")
}

// Deleting a metric while Temporal does not answer: the metric is deleted all the same
// (200 with a warning), and its loop ends by itself at its next snapshot, which finds the
// metric gone — completed, without a failure row.
func TestMetricDeletedWhileTemporalIsDownEndsItsLoopAtItsNextSnapshot(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	m := s.postMetric(s.approverToken, map[string]any{"name": "Open tickets", "time_zone": "UTC", "gauge_id": gaemu.DemoGaugeOpenTickets,
		"schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}}).Metric.Metric
	eventually(t, 20*time.Second, "the first value", func() bool { return s.snapshotState(m.WorkflowID).Snapshots == 1 })

	dead := s.deadTemporalAPI()
	var del struct {
		Deleted bool `json:"deleted"`
		Loop    struct {
			Outcome string `json:"outcome"`
		} `json:"loop"`
		Warning struct {
			Code string `json:"code"`
		} `json:"warning"`
	}
	require.Equal(t, http.StatusOK, s.callAt(dead, "DELETE", s.tp+"/metrics/"+m.ID, s.adminToken, map[string]any{"confirm": "Open tickets"}, &del))
	require.True(t, del.Deleted)
	require.Equal(t, "not_told", del.Loop.Outcome)
	require.Equal(t, "snapshot_loop_not_stopped", del.Warning.Code)
	_, err := s.store.GetMetric(ctx, s.tenantID, m.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NotEmpty(t, s.historyOf("metric.loop_not_told"))
	status, _ := s.workflowStatus(m.WorkflowID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status, "the loop did not hear of it")

	// Its next snapshot (a sync-now signal, as an older API would send) finds the metric gone.
	require.NoError(t, s.temporal.SignalWorkflow(ctx, m.WorkflowID, "", workflows.SignalSyncNow, scorecard.SyncRequest{RequestedBy: "ops@demo-msp.example"}))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, s.temporal.GetWorkflow(wctx, m.WorkflowID, "").Get(wctx, nil), "the loop completes")
	status, _ = s.workflowStatus(m.WorkflowID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status)
	require.Empty(t, s.historyOf("metric.snapshot_failed"))
}
