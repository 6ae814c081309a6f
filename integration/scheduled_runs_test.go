package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// scheduledRun is one ScheduledCycle run of the test's tenant and its result.
type scheduledRun struct {
	WorkflowID, RunID string
	Result            workflows.ScheduledResult
}

// scheduledRuns waits until n ScheduledCycle runs of the tenant have closed and returns them
// (with their results), oldest first.
func (s *stack) scheduledRuns(n int) []scheduledRun {
	s.t.Helper()
	ctx := context.Background()
	var out []scheduledRun
	eventually(s.t, 60*time.Second, fmt.Sprintf("%d scheduled runs to close", n), func() bool {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = %q AND TenantID = %q AND ExecutionStatus != 'Running'", workflows.WorkflowTypeScheduledCycle, s.tenantID), PageSize: 100,
		})
		require.NoError(s.t, err)
		if len(resp.GetExecutions()) < n {
			return false
		}
		out = out[:0]
		for _, e := range resp.GetExecutions() {
			out = append(out, scheduledRun{WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId()})
		}
		return true
	})
	require.Len(s.t, out, n)
	for i := range out {
		require.NoError(s.t, s.temporal.GetWorkflow(ctx, out[i].WorkflowID, out[i].RunID).Get(ctx, &out[i].Result))
	}
	// Listed newest first; the workflow IDs end with the scheduled time.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (s *stack) historyOf(action string) []store.HistoryEntry {
	s.t.Helper()
	all, err := s.store.ListHistory(context.Background(), s.tenantID, 0)
	require.NoError(s.t, err)
	var out []store.HistoryEntry
	for _, h := range all {
		if h.Action == action {
			out = append(out, h)
		}
	}
	return out
}

// lastRepeatedHour returns the latest local day before today on which the zone's clocks
// showed the hour twice.
func lastRepeatedHour(loc *time.Location, hour int) time.Time {
	now := time.Now().In(loc)
	for d := time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, loc); ; d = d.AddDate(0, 0, -1) {
		at := time.Date(d.Year(), d.Month(), d.Day(), hour, 30, 0, 0, loc)
		if at.Add(-time.Hour).In(loc).Hour() == hour || at.Add(time.Hour).In(loc).Hour() == hour {
			return d
		}
	}
}

// New York's clocks show 01:00–01:59 twice when summer time ends, and the server's calendar
// fires a 01:00 schedule at both. Replaying that night (a backfill runs the schedule as it
// ran then): the first run publishes the month, the second starts no cycle and sends no
// e-mail, and the site history says why.
func TestRepeatedHourPublishesOnceAndMailsOnce(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ny, _ := time.LoadLocation("America/New_York")
	night := lastRepeatedHour(ny, 1)
	s.patchSettings(fmt.Sprintf(`{"time_zone": "America/New_York", "settings": {
		"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "%d", "hour": 1}}}}`, night.Day()))
	ctx := context.Background()
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, night, night.Add(4*time.Hour)))

	runs := s.scheduledRuns(2)
	require.Equal(t, workflows.OutcomeStarted, runs[0].Result.Outcome, "%+v", runs[0].Result)
	require.Equal(t, workflows.OutcomeSkipped, runs[1].Result.Outcome, "%+v", runs[1].Result)
	require.Equal(t, workflows.SkipRepeatedHour, runs[1].Result.Skip)

	period := billing.MonthOf(night, ny)
	cycles, err := s.store.ListCycles(ctx, s.tenantID, 0)
	require.NoError(t, err)
	require.Len(t, cycles, 1, "the repeated hour started a second cycle")
	c := s.waitCycle(cycles[0].ID, 60*time.Second)
	require.Equal(t, period, c.Period)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	// Both runs have ended and the one cycle has notified: every e-mail has been sent.
	var subjects []string
	for _, m := range s.mail.Messages() {
		subjects = append(subjects, m.Subject)
	}
	require.Len(t, subjects, 1, "one e-mail for the month: %v", subjects)
	skipped := s.historyOf("schedule.skipped")
	require.Len(t, skipped, 1)
	require.Contains(t, skipped[0].Message, "came twice")
	s.assertPublishedOnce()
}

// deadTemporalAPI serves the test's API with a Temporal client that cannot reach any server,
// as when Temporal is down: changes reach PostgreSQL, schedules are not told (503).
func (s *stack) deadTemporalAPI() (url string) {
	s.t.Helper()
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Namespace: "default", Logger: testenv.TemporalLogger()})
	require.NoError(s.t, err)
	s.t.Cleanup(dead.Close)
	srv := httptest.NewServer(api.New(api.Deps{Store: s.store, Starter: &starter.Starter{Temporal: dead, Store: s.store, TaskQueue: s.taskQueue},
		Temporal: dead, Logger: testenv.Logger(), RateLimit: 1000, RequestTimeout: 3 * time.Second}))
	s.t.Cleanup(srv.Close)
	return srv.URL
}

// A PATCH that turns the publish schedule off while Temporal is unreachable is saved, and
// the API answers 503: the Temporal Schedule still runs. Its next run reads the settings as
// they are, does nothing, and says so in its result and in the site history; so does a run
// of a schedule whose day was changed that way.
func TestScheduledRunSkipsWhenItsScheduleWasTurnedOffWhileTemporalWasUnreachable(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	london, _ := time.LoadLocation("Europe/London")
	today := time.Now().In(london)
	s.patchSettings(fmt.Sprintf(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "%d", "hour": 3}}}}`, today.Day()))
	ctx := context.Background()
	h := s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, workflows.ActionPublish))

	dead := s.deadTemporalAPI()
	var e errorAnswer
	require.Equal(t, http.StatusServiceUnavailable, s.callAt(dead, "PATCH", s.tp, s.adminToken,
		json.RawMessage(`{"settings": {"publish": {"schedule": {"enabled": false}}}, "missed_period": "skip"}`), &e), "%+v", e)
	require.Equal(t, "schedules_not_updated", e.Error.Code)
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	require.False(t, d.Schedule.State.Paused, "Temporal was not told")

	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	runs := s.scheduledRuns(1)
	require.Equal(t, workflows.OutcomeSkipped, runs[0].Result.Outcome)
	require.Equal(t, workflows.SkipDisabled, runs[0].Result.Skip)
	require.Contains(t, runs[0].Result.Reason, "turned off")

	// Turned on again on another day, again while Temporal is unreachable.
	other := today.Day()%28 + 1
	require.Equal(t, http.StatusServiceUnavailable, s.callAt(dead, "PATCH", s.tp, s.adminToken,
		json.RawMessage(fmt.Sprintf(`{"settings": {"publish": {"schedule": {"enabled": true, "day": "%d"}}}}`, other)), &e), "%+v", e)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	runs = s.scheduledRuns(2)
	require.Equal(t, workflows.SkipChanged, runs[1].Result.Skip, "%+v", runs[1].Result)
	require.Contains(t, runs[1].Result.Reason, fmt.Sprintf("changed to monthly on day %d at 03:00", other))

	cycles, err := s.store.ListCycles(ctx, s.tenantID, 0)
	require.NoError(t, err)
	require.Empty(t, cycles, "a stale schedule started a cycle")
	skipped := s.historyOf("schedule.skipped")
	require.Len(t, skipped, 2)
	var reasons []string
	for _, h := range skipped {
		reasons = append(reasons, h.Message)
		require.Equal(t, store.SeverityWarning, h.Severity)
	}
	require.Contains(t, strings.Join(reasons, "\n"), "turned off")
}

// tenantAnswer is a tenant PATCH or GET answer, with what it says about this month's publish.
type tenantAnswer struct {
	PublishPeriod *starter.PublishNotice `json:"publish_period"`
	Schedules     []starter.ScheduleInfo `json:"schedules"`
}

func (s *stack) patchTenant(patch string) (tenantAnswer, int, errorAnswer) {
	s.t.Helper()
	var raw json.RawMessage
	code := s.call("PATCH", s.tp, s.adminToken, json.RawMessage(patch), &raw)
	var out tenantAnswer
	var e errorAnswer
	if code == http.StatusOK {
		require.NoError(s.t, json.Unmarshal(raw, &out))
	} else {
		require.NoError(s.t, json.Unmarshal(raw, &e))
	}
	return out, code, e
}

// On 20 November, with the publish day on the 25th and November not published, an admin
// moves the day to the 10th. The calendar says the 10th applies from December, but November
// was due: it is published now (once, as the month's automatic publish), and the answer and
// the site history say so. Moving the day back ahead later publishes nothing twice.
func TestMovingThePublishDayIntoThePastPublishesTheMonth(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	london, _ := time.LoadLocation("Europe/London")
	s.starter.Now = func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, london) }

	a, code, e := s.patchTenant(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "25", "hour": 6}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticeWillPublish, a.PublishPeriod.Outcome)
	require.True(t, a.PublishPeriod.NextRunAt.Equal(time.Date(2026, 11, 25, 6, 0, 0, 0, london)))

	a, code, e = s.patchTenant(`{"settings": {"publish": {"schedule": {"day": "10"}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	n := a.PublishPeriod
	require.Equal(t, starter.NoticePublishingNow, n.Outcome, n.Message)
	require.Equal(t, billing.Period("2026-11"), n.Period)
	require.True(t, n.DueAt.Equal(time.Date(2026, 11, 25, 6, 0, 0, 0, london)))
	require.True(t, n.NextRunAt.Equal(time.Date(2026, 12, 10, 6, 0, 0, 0, london)), "the new day applies from December")
	require.Equal(t, workflows.BillingCycleID(s.tenantID, "2026-11"), n.WorkflowID)
	require.Contains(t, n.Message, "published now")

	ctx := context.Background()
	var cycles []store.Cycle
	eventually(t, 60*time.Second, "November's publish", func() bool {
		cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
		return len(cycles) == 1 && cycles[0].Status.Final()
	})
	c := s.waitCycle(cycles[0].ID, 30*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, billing.Period("2026-11"), c.Period)
	require.Equal(t, billing.Automatic, c.Trigger, "the month's automatic publish, claimed like one")
	notes := s.historyOf("schedule.publish_period")
	require.NotEmpty(t, notes)
	require.Contains(t, notes[0].Message, "2026-11 was due on Wed 25 Nov 2026 06:00 GMT and is not published")
	require.Equal(t, "admin@demo-msp.example", notes[0].Actor)

	// Back to the 28th, still ahead: November is published already, nothing runs again.
	a, code, e = s.patchTenant(`{"settings": {"publish": {"schedule": {"day": "28"}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticePublished, a.PublishPeriod.Outcome)
	cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
	require.Len(t, cycles, 1)
	s.assertPublishedOnce()
}

// Turning the publish schedule off before its day, with the month unpublished, needs a
// choice: the request is refused (409, nothing changes) until it says "publish_now" or
// "skip". Turned on again after the day, the schedule runs from next month, and the answer
// says the month is not published and how to publish it.
func TestTurningThePublishScheduleOffBeforeItsDayNeedsAChoice(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	london, _ := time.LoadLocation("Europe/London")
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, london)
	s.starter.Now = func() time.Time { return now }
	_, code, e := s.patchTenant(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "25", "hour": 6}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)

	_, code, e = s.patchTenant(`{"settings": {"publish": {"schedule": {"enabled": false}}}}`)
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, "missed_period_choice_required", e.Error.Code)
	require.Equal(t, "missed_period", e.Error.Field)
	require.Contains(t, e.Error.Message, "2026-11 is due on Wed 25 Nov 2026 06:00 GMT")
	tn, err := s.store.GetTenant(context.Background(), s.tenantID)
	require.NoError(t, err)
	require.True(t, tn.Settings.Publish.Schedule.Enabled, "a refused change changes nothing")

	_, code, e = s.patchTenant(`{"settings": {"publish": {"schedule": {"enabled": false}}}, "missed_period": "later"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, "missed_period", e.Error.Field)

	a, code, e := s.patchTenant(`{"settings": {"publish": {"schedule": {"enabled": false}}}, "missed_period": "skip"}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticeSkipped, a.PublishPeriod.Outcome)
	notes := s.historyOf("schedule.publish_period")
	require.Equal(t, store.SeverityWarning, notes[0].Severity)
	require.Contains(t, notes[0].Message, "chose to skip it")

	// On the 27th the schedule is turned on again: the 25th has passed.
	now = time.Date(2026, 11, 27, 9, 0, 0, 0, london)
	a, code, e = s.patchTenant(`{"settings": {"publish": {"schedule": {"enabled": true}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticeNotPublished, a.PublishPeriod.Outcome)
	require.Contains(t, a.PublishPeriod.Message, `send "missed_period": "publish_now"`)
	require.True(t, a.PublishPeriod.NextRunAt.Equal(time.Date(2026, 12, 25, 6, 0, 0, 0, london)))
	cycles, err := s.store.ListCycles(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	require.Empty(t, cycles)

	// Asked for, the month is published now.
	a, code, e = s.patchTenant(`{"missed_period": "publish_now"}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticePublishingNow, a.PublishPeriod.Outcome)
	eventually(t, 60*time.Second, "November's publish", func() bool {
		cycles, _ = s.store.ListCycles(context.Background(), s.tenantID, 0)
		return len(cycles) == 1 && cycles[0].Status.Final()
	})
	require.Equal(t, billing.Period("2026-11"), cycles[0].Period)
}

// publishRunsOn says whether the Temporal Schedule's next publishing times fall on day.
func (s *stack) publishRunsOn(day int, loc *time.Location) bool {
	s.t.Helper()
	runs := s.serverRuns(workflows.ActionPublish)
	for _, at := range runs {
		if at.In(loc).Day() != day {
			return false
		}
	}
	return len(runs) > 0
}

// A PATCH moves the publish day from the 20th to the 10th while Temporal is unreachable: it
// answers 503 and nobody retries, so Temporal still fires on the 20th. That run must not be
// the month's end: it syncs the tenant's schedules (the 10th from now on) and, as the 10th
// has passed and the month is not published, publishes the month now.
func TestAStaleScheduleIsSyncedByItsRunAndTheMonthIsNotLost(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	london, _ := time.LoadLocation("Europe/London")
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "20", "hour": 6}}}}`)

	var e errorAnswer
	code := s.callAt(s.deadTemporalAPI(), "PATCH", s.tp, s.adminToken, json.RawMessage(`{"settings": {"publish": {"schedule": {"day": "10"}}}}`), &e)
	require.Equal(t, http.StatusServiceUnavailable, code, "%+v", e)
	require.True(t, s.publishRunsOn(20, london), "Temporal still holds the 20th")

	// March's run on the 20th, as the stale schedule fires it.
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, london)
	ctx := context.Background()
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, march, march.AddDate(0, 1, 0)))
	runs := s.scheduledRuns(1)
	require.Equal(t, workflows.OutcomeStarted, runs[0].Result.Outcome, "%+v", runs[0].Result)
	require.Equal(t, billing.Period("2026-03"), runs[0].Result.Period)
	require.True(t, s.publishRunsOn(10, london), "the run synced the schedule: it fires on the 10th from now on")

	cycles, err := s.store.ListCycles(ctx, s.tenantID, 0)
	require.NoError(t, err)
	require.Len(t, cycles, 1)
	c := s.waitCycle(cycles[0].ID, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, billing.Automatic, c.Trigger)
	caught := s.historyOf("schedule.catch_up")
	require.Len(t, caught, 1)
	require.Contains(t, caught[0].Message, "its run of 2026-03 (Tue 10 Mar 2026 06:00 GMT) has passed")
	require.Empty(t, s.historyOf("schedule.skipped"))
}

// The schedule fired on the 20th while no worker ran; before one returned, an admin moved the
// day to the 10th (Temporal reachable). The run that waited is no run of the new schedule,
// and the new schedule's run of that month has passed: skipping it would lose the month, so
// it publishes the month when the worker returns.
func TestARunThatWaitedForAWorkerWhileThePublishDayMovedStillPublishesTheMonth(t *testing.T) {
	s := newStack(t)
	london, _ := time.LoadLocation("Europe/London")
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "20", "hour": 6}}}}`)
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, london)
	ctx := context.Background()
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionPublish, march, march.AddDate(0, 1, 0)))
	s.patchSettings(`{"settings": {"publish": {"schedule": {"day": "10"}}}, "missed_period": "skip"}`)

	s.startWorker()
	runs := s.scheduledRuns(1)
	require.Equal(t, workflows.OutcomeStarted, runs[0].Result.Outcome, "%+v", runs[0].Result)
	require.Equal(t, billing.Period("2026-03"), runs[0].Result.Period)
	cycles, err := s.store.ListCycles(ctx, s.tenantID, 0)
	require.NoError(t, err)
	require.Len(t, cycles, 1)
	c := s.waitCycle(cycles[0].ID, 60*time.Second)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, billing.Period("2026-03"), c.Period)
}

// Santiago's clocks skip midnight on 6 September 2026. On the 3rd the publish day is the 6th
// at 05:00, still ahead; moving it to the 2nd moves this month's run into the past while the
// month is due, so the month is published now — the 6th must count as this month's run.
func TestMovingThePublishDayPastADateWhoseMidnightIsSkippedPublishesTheMonth(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	santiago, _ := time.LoadLocation("America/Santiago")
	s.starter.Now = func() time.Time { return time.Date(2026, 9, 3, 12, 0, 0, 0, santiago) }

	a, code, e := s.patchTenant(`{"time_zone": "America/Santiago", "settings": {"publish": {"approval": {"mode": "automatic"}, "schedule": {"enabled": true, "cadence": "monthly", "day": "6", "hour": 5}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticeWillPublish, a.PublishPeriod.Outcome, a.PublishPeriod.Message)
	require.True(t, a.PublishPeriod.NextRunAt.Equal(time.Date(2026, 9, 6, 5, 0, 0, 0, santiago)), "%s", a.PublishPeriod.NextRunAt)

	a, code, e = s.patchTenant(`{"settings": {"publish": {"schedule": {"day": "2"}}}}`)
	require.Equal(t, http.StatusOK, code, "%+v", e)
	require.Equal(t, starter.NoticePublishingNow, a.PublishPeriod.Outcome, a.PublishPeriod.Message)
	require.Equal(t, billing.Period("2026-09"), a.PublishPeriod.Period)
	require.True(t, a.PublishPeriod.DueAt.Equal(time.Date(2026, 9, 6, 5, 0, 0, 0, santiago)))
	ctx := context.Background()
	var cycles []store.Cycle
	eventually(t, 60*time.Second, "September's publish", func() bool {
		cycles, _ = s.store.ListCycles(ctx, s.tenantID, 0)
		return len(cycles) == 1 && cycles[0].Status.Final()
	})
	require.Equal(t, billing.Period("2026-09"), cycles[0].Period)
}
