package integration

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
)

// A metric created and then changed while Temporal is down: each change is committed first
// (the metric is kept, 201 with a warning; the change is kept, 503), and the loop is told
// after. When the worker starts it reconciles the loops with PostgreSQL: the missing loop is
// started with the metric's latest schedule.
func TestMetricStoredWhileTemporalIsDownGetsItsLoopAtWorkerStart(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	dead := s.deadTemporalAPI()
	ctx := context.Background()

	var created struct {
		metricAnswer
		Warning struct {
			Code string `json:"code"`
		} `json:"warning"`
	}
	body := map[string]any{"name": "Open tickets", "owner_email": "desk@demo-msp.example", "time_zone": "UTC",
		"gauge_id": gaemu.DemoGaugeOpenTickets, "schedule": map[string]any{"cadence": "daily", "time": quietTime(t, "UTC", 0)}}
	require.Equal(t, http.StatusCreated, s.callAt(dead, "POST", s.tp+"/metrics", s.approverToken, body, &created))
	require.Equal(t, "snapshot_loop_not_started", created.Warning.Code)
	m, err := s.store.GetMetric(ctx, s.tenantID, created.Metric.ID)
	require.NoError(t, err, "the metric is kept")
	_, err = s.temporal.DescribeWorkflowExecution(ctx, m.WorkflowID, "")
	var notFound *serviceerror.NotFound
	require.True(t, errors.As(err, &notFound), "no loop yet: %v", err)
	require.NotEmpty(t, s.historyOf("metric.loop_not_told"))

	later := quietTime(t, "UTC", 7*time.Minute)
	var e errorAnswer
	require.Equal(t, http.StatusServiceUnavailable, s.callAt(dead, "PATCH", s.tp+"/metrics/"+m.ID, s.approverToken,
		map[string]any{"schedule": map[string]any{"cadence": "daily", "time": later}}, &e))
	require.Equal(t, "snapshot_loop_not_told", e.Error.Code)
	m, err = s.store.GetMetric(ctx, s.tenantID, m.ID)
	require.NoError(t, err)
	require.Equal(t, later, m.Schedule.Time, "the change is kept")

	// The worker starts.
	res, err := s.starter.ReconcileSnapshotLoops(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{m.WorkflowID}, res.Started)
	eventually(t, 20*time.Second, "the loop to run with the latest schedule", func() bool {
		return s.snapshotState(m.WorkflowID).Schedule.Time == later
	})
	s.stopLoop(m.WorkflowID)
}

// A loop whose metric is gone from PostgreSQL is stopped when the worker starts; the loops
// of stored metrics keep running, their runs untouched.
func TestWorkerStartStopsTheLoopsOfMetricsThatAreGone(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	kept := s.createMetric("UTC", quietTime(t, "UTC", 0))
	gone := s.createMetric("UTC", quietTime(t, "UTC", 0))
	run := s.runID(kept.WorkflowID)
	// Both loops have taken their first value (a loop whose snapshot finds its metric gone
	// ends by itself; this test is about loops that wait).
	for _, m := range []string{kept.WorkflowID, gone.WorkflowID} {
		eventually(t, 20*time.Second, m+"'s first value", func() bool { return s.snapshotState(m).Snapshots == 1 })
	}
	_, err := s.store.Pool().Exec(ctx, `DELETE FROM metrics WHERE id = $1`, gone.ID)
	require.NoError(t, err)

	var res struct{ stopped []string }
	eventually(t, 20*time.Second, "both loops to be listed", func() bool {
		r, err := s.starter.ReconcileSnapshotLoops(ctx)
		require.NoError(t, err)
		res.stopped = append(res.stopped, r.Stopped...)
		return len(res.stopped) == 1
	})
	require.Equal(t, []string{gone.WorkflowID}, res.stopped)
	err = s.temporal.GetWorkflow(ctx, gone.WorkflowID, "").Get(ctx, nil)
	var canceled *temporal.CanceledError
	require.True(t, errors.As(err, &canceled), "the loop of the deleted metric ends: %v", err)
	require.Equal(t, run, s.runID(kept.WorkflowID), "the other loop runs on")
	all, err := s.store.AllMetrics(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, kept.ID, all[0].ID)
	s.stopLoop(kept.WorkflowID)
}
