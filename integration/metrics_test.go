package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

type metricAnswer struct {
	Metric struct {
		store.Metric
		CurrentWeek    scorecard.Week `json:"current_week"`
		NextSnapshotAt time.Time      `json:"next_snapshot_at"`
	} `json:"metric"`
}

type checkinsAnswer struct {
	CurrentWeek scorecard.Week `json:"current_week"`
	Checkins    []struct {
		store.Checkin
		Overridden bool   `json:"overridden"`
		WeekStart  string `json:"week_start"`
	} `json:"checkins"`
}

// quietTime is a snapshot time twelve hours from now in zone, so no scheduled snapshot fires
// while a test runs; the tests exercise sync now and schedule changes.
func quietTime(t *testing.T, zone string, plus time.Duration) string {
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	return time.Now().In(loc).Add(12*time.Hour + plus).Format("15:04")
}

// createMetric links a metric to the demo open-tickets gauge through the API.
func (s *stack) createMetric(zone, at string) store.Metric {
	s.t.Helper()
	var out metricAnswer
	var e errorAnswer
	body := map[string]any{"name": "Open tickets", "owner_email": "desk@demo-msp.example", "time_zone": zone,
		"gauge_id": gaemu.DemoGaugeOpenTickets, "schedule": map[string]any{"cadence": "daily", "time": at}}
	code := s.call("POST", s.tp+"/metrics", s.approverToken, body, &out)
	if code != http.StatusCreated {
		s.call("POST", s.tp+"/metrics", s.approverToken, body, &e)
	}
	require.Equal(s.t, http.StatusCreated, code, "create metric: %+v", e)
	return out.Metric.Metric
}

// rawCall is call with the answer's headers.
func (s *stack) rawCall(method, path, token string, body any) (int, http.Header, []byte) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.api.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func (s *stack) snapshotState(workflowID string) workflows.SnapshotState {
	s.t.Helper()
	v, err := s.temporal.QueryWorkflow(context.Background(), workflowID, "", workflows.QuerySnapshotState)
	require.NoError(s.t, err)
	var st workflows.SnapshotState
	require.NoError(s.t, v.Get(&st))
	return st
}

func (s *stack) runID(workflowID string) string {
	s.t.Helper()
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	require.NoError(s.t, err)
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// stopLoop cancels a snapshot loop and waits for it to end.
func (s *stack) stopLoop(workflowID string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(s.t, s.temporal.CancelWorkflow(ctx, workflowID, ""))
	err := s.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil)
	var canceled *temporal.CanceledError
	require.True(s.t, errors.As(err, &canceled), "the loop ends cancelled: %v", err)
}

// Link a metric (its loop reads the gauge once at once), then ask for sync now twice at
// once: one request is admitted (200, with the value read) and the gauge is read once more
// into this week's check-in in PostgreSQL; the other gets 429 with Retry-After. A sync-now
// signal sent straight to the workflow inside the window is ignored there too.
func TestMetricSyncNowReadsTheGaugeOnceAndRefusesInsideTheWindow(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	require.NoError(t, s.world.Gauges.SetValue(gaemu.DemoGaugeOpenTickets, decimal.RequireFromString("42.5")))

	m := s.createMetric("Australia/Brisbane", quietTime(t, "Australia/Brisbane", 0))
	require.Equal(t, workflows.MetricSnapshotID(m.ID), m.WorkflowID)
	eventually(t, 20*time.Second, "the snapshot loop's first value", func() bool {
		st := s.snapshotState(m.WorkflowID)
		return !st.NextSnapshotAt.IsZero() && st.Snapshots == 1
	})
	firstRun := s.runID(m.WorkflowID)
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "linking reads the gauge once: the first value")

	// Two racing requests.
	type answer struct {
		code   int
		header http.Header
		body   []byte
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, h, b := s.rawCall("POST", s.tp+"/metrics/"+m.ID+"/sync", s.approverToken, nil)
			answers[i] = answer{code, h, b}
		}()
	}
	wg.Wait()
	if answers[0].code != http.StatusOK {
		answers[0], answers[1] = answers[1], answers[0]
	}
	require.Equal(t, http.StatusOK, answers[0].code, "%s", answers[0].body)
	var synced struct {
		Outcome string                   `json:"outcome"`
		Week    scorecard.Week           `json:"week"`
		Result  scorecard.SnapshotResult `json:"result"`
	}
	require.NoError(t, json.Unmarshal(answers[0].body, &synced))
	require.Equal(t, "done", synced.Outcome)
	require.True(t, synced.Result.GaugeValue.Equal(decimal.RequireFromString("42.5")), "the answer says what was read: %s", answers[0].body)
	require.Equal(t, http.StatusTooManyRequests, answers[1].code, "%s", answers[1].body)
	wait, err := strconv.Atoi(answers[1].header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", answers[1].header.Get("Retry-After"))
	require.True(t, wait > 290 && wait <= 300, "Retry-After %d s", wait)
	var tooSoon errorAnswer
	require.NoError(t, json.Unmarshal(answers[1].body, &tooSoon))
	require.Equal(t, "sync_too_soon", tooSoon.Error.Code)

	// The week's value is in PostgreSQL, read once.
	loc, _ := time.LoadLocation("Australia/Brisbane")
	week := scorecard.WeekOf(time.Now(), loc)
	var c store.Checkin
	eventually(t, 30*time.Second, "this week's check-in", func() bool {
		c, err = s.store.GetCheckin(ctx, m.ID, week)
		return err == nil
	})
	require.True(t, c.Value.Equal(decimal.RequireFromString("42.5")), "value %s", c.Value)
	require.Equal(t, scorecard.SourceGauge, c.Source)
	require.False(t, c.Frozen)
	var raw string
	require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT value::text FROM metric_checkins WHERE metric_id = $1 AND week = $2`, m.ID, week).Scan(&raw))
	require.Equal(t, "42.5", raw, "stored as an exact numeric")

	// A duplicate that bypasses the API (a retried or replayed signal) is ignored by the loop.
	require.NoError(t, s.temporal.SignalWorkflow(ctx, m.WorkflowID, "", workflows.SignalSyncNow, scorecard.SyncRequest{RequestedBy: "ops@demo-msp.example"}))
	eventually(t, 20*time.Second, "the loop to judge the second sync", func() bool {
		return s.snapshotState(m.WorkflowID).SyncsIgnored == 1
	})
	require.Equal(t, 2, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "the first value, and exactly one gauge read for the sync")
	require.Equal(t, 2, s.world.Gauges.Counts().GaugeReads)
	require.Equal(t, firstRun, s.runID(m.WorkflowID), "signal-with-start reused the running loop")

	// The API shows it.
	var list checkinsAnswer
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/metrics/"+m.ID+"/checkins", s.viewerToken, nil, &list))
	require.Equal(t, week, list.CurrentWeek)
	require.Len(t, list.Checkins, 1)
	require.False(t, list.Checkins[0].Overridden)
	require.True(t, list.Checkins[0].Value.Equal(decimal.RequireFromString("42.5")))

	// A manual override is stored as manual; snapshots would keep it (store tests prove the SQL).
	var put struct {
		Checkin struct {
			store.Checkin
			Overridden bool `json:"overridden"`
		} `json:"checkin"`
	}
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week), s.approverToken, map[string]any{"value": "40"}, &put))
	require.True(t, put.Checkin.Overridden)
	require.Equal(t, "ann@demo-msp.example", put.Checkin.OverriddenBy)
	require.True(t, put.Checkin.GaugeValue.Decimal.Equal(decimal.RequireFromString("42.5")))
	eventually(t, 20*time.Second, "the loop to note the override", func() bool {
		return len(s.snapshotState(m.WorkflowID).Overrides) == 1
	})

	// A frozen week needs the explicit flag, and overriding it is a warning in site history.
	_, err = s.store.Pool().Exec(ctx, `UPDATE metric_checkins SET frozen = true, frozen_at = now() WHERE metric_id = $1`, m.ID)
	require.NoError(t, err)
	var e errorAnswer
	require.Equal(t, http.StatusConflict, s.call("PUT", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week), s.approverToken, map[string]any{"value": 39}, &e))
	require.Equal(t, "week_frozen", e.Error.Code)
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week), s.approverToken, map[string]any{"value": 39, "override_frozen": true}, nil))
	require.Equal(t, http.StatusConflict, s.call("DELETE", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week), s.approverToken, nil, &e))
	require.Equal(t, http.StatusOK, s.call("DELETE", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week)+"?override_frozen=true", s.approverToken, nil, nil))
	c, err = s.store.GetCheckin(ctx, m.ID, week)
	require.NoError(t, err)
	require.True(t, c.Value.Equal(decimal.RequireFromString("42.5")), "cleared: the gauge's reading shows again")

	h, err := s.store.ListHistory(ctx, s.tenantID, 0)
	require.NoError(t, err)
	seen := map[string]string{}
	for _, e := range h {
		if _, ok := seen[e.Action]; !ok {
			seen[e.Action] = e.Severity // newest first
		}
	}
	for action, severity := range map[string]string{
		"metric.created": store.SeverityInfo, "metric.sync_requested": store.SeverityInfo, "metric.synced": store.SeverityInfo,
		"metric.override_set": store.SeverityWarning, "metric.override_cleared": store.SeverityWarning,
	} {
		require.Equal(t, severity, seen[action], "site history %s", action)
	}

	s.stopLoop(m.WorkflowID)
	replaySnapshotAndKeep(t, history(t, s.temporal, m.WorkflowID, firstRun), "metric_snapshot_sync")
}

// Bad input to the metric routes gets a clear error and changes nothing.
func TestMetricBadInputChangesNothing(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	m := s.createMetric("UTC", quietTime(t, "UTC", 0))
	mp := s.tp + "/metrics/" + m.ID
	eventually(t, 20*time.Second, "the metric's first value", func() bool { return s.snapshotState(m.WorkflowID).Snapshots == 1 })
	before, err := s.store.ListCheckins(context.Background(), s.tenantID, m.ID, 0)
	require.NoError(t, err)
	good := `"name": "MRR", "owner_email": "o@demo-msp.example", "time_zone": "Europe/Berlin", "gauge_id": "g_mrr"`
	cases := []struct {
		name, method, path, body string
		token                    string
		status                   int
		code, field              string
	}{
		{"no name", "POST", s.tp + "/metrics", `{"owner_email": "o@demo-msp.example", "time_zone": "UTC", "gauge_id": "g"}`, s.approverToken, 422, "validation_failed", "name"},
		{"blank name", "POST", s.tp + "/metrics", `{"name": "  ", "owner_email": "o@demo-msp.example", "time_zone": "UTC", "gauge_id": "g"}`, s.approverToken, 422, "validation_failed", "name"},
		{"bad e-mail", "POST", s.tp + "/metrics", `{"name": "x", "owner_email": "nobody", "time_zone": "UTC", "gauge_id": "g"}`, s.approverToken, 422, "validation_failed", "owner_email"},
		{"bad zone", "POST", s.tp + "/metrics", `{"name": "x", "owner_email": "o@demo-msp.example", "time_zone": "Mars/Olympus", "gauge_id": "g"}`, s.approverToken, 422, "validation_failed", "time_zone"},
		{"offset is not a zone", "POST", s.tp + "/metrics", `{"name": "x", "owner_email": "o@demo-msp.example", "time_zone": "+10:00", "gauge_id": "g"}`, s.approverToken, 422, "validation_failed", "time_zone"},
		{"no gauge", "POST", s.tp + "/metrics", `{"name": "x", "owner_email": "o@demo-msp.example", "time_zone": "UTC"}`, s.approverToken, 422, "validation_failed", "gauge_id"},
		{"bad cadence", "POST", s.tp + "/metrics", `{` + good + `, "schedule": {"cadence": "hourly", "time": "06:00"}}`, s.approverToken, 422, "validation_failed", "schedule.cadence"},
		{"weekly without day", "POST", s.tp + "/metrics", `{` + good + `, "schedule": {"cadence": "weekly", "time": "06:00"}}`, s.approverToken, 422, "validation_failed", "schedule.weekday"},
		{"bad time", "POST", s.tp + "/metrics", `{` + good + `, "schedule": {"cadence": "daily", "time": "25:00"}}`, s.approverToken, 422, "validation_failed", "schedule.time"},
		{"unknown schedule field", "POST", s.tp + "/metrics", `{` + good + `, "schedule": {"cadence": "daily", "time": "06:00", "hour": 6}}`, s.approverToken, 400, "unknown_field", "hour"},
		{"unknown field", "POST", s.tp + "/metrics", `{` + good + `, "colour": "red"}`, s.approverToken, 400, "unknown_field", "colour"},
		{"malformed JSON", "POST", s.tp + "/metrics", `{"name": `, s.approverToken, 400, "invalid_json", ""},
		{"viewer cannot create", "POST", s.tp + "/metrics", `{` + good + `}`, s.viewerToken, 403, "forbidden", ""},
		{"another tenant", "GET", "/api/v1/tenants/demo-other/metrics", "", s.approverToken, 404, "not_found", ""},
		{"unknown metric", "GET", s.tp + "/metrics/nope/checkins", "", s.viewerToken, 404, "not_found", ""},
		{"patch bad time", "PATCH", mp, `{"schedule": {"cadence": "daily", "time": "6am"}}`, s.approverToken, 422, "validation_failed", "schedule.time"},
		{"patch nested unknown", "PATCH", mp, `{"schedule": {"cadence": "daily", "time": "06:00", "tz": "UTC"}}`, s.approverToken, 400, "unknown_field", "schedule.tz"},
		{"patch bad zone", "PATCH", mp, `{"time_zone": "Local"}`, s.approverToken, 422, "validation_failed", "time_zone"},
		{"viewer cannot patch", "PATCH", mp, `{"name": "x"}`, s.viewerToken, 403, "forbidden", ""},
		{"viewer cannot sync", "POST", mp + "/sync", "", s.viewerToken, 403, "forbidden", ""},
		{"bad week", "PUT", mp + "/checkins/2026-48", `{"value": 1}`, s.approverToken, 422, "validation_failed", "week"},
		{"no week 53 in 2027", "PUT", mp + "/checkins/2027-W53", `{"value": 1}`, s.approverToken, 422, "validation_failed", "week"},
		{"future week", "PUT", mp + "/checkins/2099-W01", `{"value": 1}`, s.approverToken, 422, "validation_failed", "week"},
		{"no value", "PUT", mp + "/checkins/2026-W01", `{}`, s.approverToken, 422, "validation_failed", "value"},
		{"value not a number", "PUT", mp + "/checkins/2026-W01", `{"value": "lots"}`, s.approverToken, 422, "validation_failed", "value"},
		{"viewer cannot override", "PUT", mp + "/checkins/2026-W01", `{"value": 1}`, s.viewerToken, 403, "forbidden", ""},
		{"nothing to clear", "DELETE", mp + "/checkins/2026-W01", "", s.approverToken, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = json.RawMessage(tc.body)
			}
			var e errorAnswer
			require.Equal(t, tc.status, s.call(tc.method, tc.path, tc.token, body, &e), "answer %+v", e)
			require.Equal(t, tc.code, e.Error.Code)
			require.Equal(t, tc.field, e.Error.Field)
			require.NotEmpty(t, e.Error.Message)
		})
	}
	ms, err := s.store.ListMetrics(context.Background(), s.tenantID)
	require.NoError(t, err)
	require.Len(t, ms, 1, "no request created a metric")
	require.Equal(t, m.Schedule, ms[0].Schedule, "no request changed the schedule")
	cs, err := s.store.ListCheckins(context.Background(), s.tenantID, m.ID, 0)
	require.NoError(t, err)
	require.Equal(t, before, cs, "no request wrote a check-in")
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "only the first value was read")
	s.stopLoop(m.WorkflowID)
}

// On the real server, with a lowered history cap: schedule changes re-arm the timer without
// a restart (cancelling the old timer each time), and once the history passes the cap the
// loop drains, cancels its timer and continues as new, carrying its state.
func TestMetricSnapshotLoopContinuesAsNewOnTheServer(t *testing.T) {
	s := newStack(t)
	// A workflow input, not the server's dynamic config, lowers the threshold: the server is
	// shared by every test of the package, and other workflows may consult the suggestion.
	s.starter.SnapshotMaxEvents = 40
	s.startWorker()
	ctx := context.Background()

	m := s.createMetric("UTC", quietTime(t, "UTC", 0))
	first := s.runID(m.WorkflowID)
	require.Equal(t, http.StatusOK, s.call("POST", s.tp+"/metrics/"+m.ID+"/sync", s.approverToken, nil, nil))
	loc := time.UTC
	week := scorecard.WeekOf(time.Now(), loc)
	require.Equal(t, http.StatusOK, s.call("PUT", s.tp+"/metrics/"+m.ID+"/checkins/"+string(week), s.approverToken, map[string]any{"value": 7}, nil))
	eventually(t, 20*time.Second, "the first value, the sync and the override to reach the loop", func() bool {
		st := s.snapshotState(m.WorkflowID)
		return st.Snapshots == 2 && len(st.Overrides) == 1
	})

	// Each PATCH moves the snapshot time by a minute: the loop re-arms its timer.
	var last string
	patches := 0
	for i := 1; s.runID(m.WorkflowID) == first; i++ {
		patches++
		require.Less(t, i, 20, "the loop never continued as new")
		last = quietTime(t, "UTC", time.Duration(i)*time.Minute)
		var out metricAnswer
		require.Equal(t, http.StatusOK, s.call("PATCH", s.tp+"/metrics/"+m.ID, s.approverToken, map[string]any{"schedule": map[string]any{"cadence": "daily", "time": last}}, &out))
		require.Equal(t, last, out.Metric.Schedule.Time)
		eventually(t, 20*time.Second, "the loop to take schedule "+last, func() bool {
			d, err := s.temporal.DescribeWorkflowExecution(ctx, m.WorkflowID, "")
			if err != nil || d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != first {
				return true // continued as new; the new run is checked below
			}
			return s.snapshotState(m.WorkflowID).Schedule.Time == last
		})
	}

	var st workflows.SnapshotState
	eventually(t, 20*time.Second, "the new run to have the last schedule", func() bool {
		st = s.snapshotState(m.WorkflowID)
		return st.Schedule.Time == last
	})
	require.Equal(t, 2, st.Run)
	require.Equal(t, 2, st.Snapshots, "the first value and the sync's snapshot are counted across runs")
	require.Equal(t, "ann@demo-msp.example", st.LastSync.RequestedBy, "the 5-minute window is carried")
	require.Len(t, st.Overrides, 1)
	require.Equal(t, week, st.Overrides[0].Week)
	want := scorecard.NextSnapshot(time.Now(), loc, scorecard.Schedule{Cadence: scorecard.Daily, Time: last})
	require.WithinDuration(t, want, st.NextSnapshotAt, time.Minute)

	// The first run's history: no stray timer, and the timer armed last was cancelled before
	// the run continued as new.
	h := history(t, s.temporal, m.WorkflowID, first)
	started, resolved := map[int64]bool{}, map[int64]bool{}
	var lastTimer int64
	for _, e := range h.GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			started[e.GetEventId()] = true
			lastTimer = e.GetEventId()
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			resolved[e.GetTimerFiredEventAttributes().GetStartedEventId()] = true
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			resolved[e.GetTimerCanceledEventAttributes().GetStartedEventId()] = true
		}
	}
	require.Greater(t, patches, 1)
	require.Len(t, started, patches, "the first timer, then one per schedule change but the last, which ended the run")
	for id := range started {
		require.True(t, resolved[id], "timer started at event %d was left running", id)
	}
	require.True(t, resolved[lastTimer])
	events := h.GetEvents()
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, events[len(events)-1].GetEventType())

	// Still one loop for the metric, and the new run enforces the window it carried.
	_, err := s.store.Pool().Exec(ctx, `UPDATE metrics SET last_sync_at = last_sync_at - interval '5 minutes' WHERE id = $1`, m.ID)
	require.NoError(t, err)
	// The loop still holds the first sync's admitted time, which the rewound row forgot: its
	// validator refuses, so a tampered or stale window never reads the gauge twice, and the
	// row's window is given back.
	var e errorAnswer
	require.Equal(t, http.StatusTooManyRequests, s.call("POST", s.tp+"/metrics/"+m.ID+"/sync", s.approverToken, nil, &e))
	require.Equal(t, "sync_too_soon", e.Error.Code)
	require.Equal(t, 2, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets), "the first value and the first sync")

	replaySnapshotAndKeep(t, h, "metric_snapshot_continue_as_new")
	s.stopLoop(m.WorkflowID)
}

// replaySnapshotAndKeep replays a snapshot loop's history on today's code and, when
// recording, keeps it in workflows/testdata for the workflows package's replay test.
func replaySnapshotAndKeep(t *testing.T, h *historypb.History, name string) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.MetricSnapshot)
	require.NoError(t, r.ReplayWorkflowHistory(nil, h), "history %s does not replay on today's code", name)
	if recordHistories {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644))
		t.Logf("recorded %s (%d events)", name, len(h.GetEvents()))
	}
}
