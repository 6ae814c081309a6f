package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"

	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
)

// Histories of real scheduled runs and of a snapshot loop replay on today's code (and, with
// METERBRIDGE_RECORD_HISTORIES=1, are kept in workflows/testdata): the scheduled sync
// branch, the second run of a repeated hour, a run of a schedule turned off since it was
// planned, and a loop whose timer fires for the week's final snapshot.
func TestRealScheduledRunAndSnapshotHistoriesReplay(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()

	// New York's repeated 01:00 through the sync schedule: the first run tells the open
	// licence cycles to sync, the second is skipped.
	ny, _ := time.LoadLocation("America/New_York")
	night := lastRepeatedHour(ny, 1)
	s.patchSettings(`{"time_zone": "America/New_York", "settings": {"licences": {"sync": {"enabled": true, "cadence": "daily", "hour": 1}}}}`)
	require.NoError(t, s.starter.Backfill(ctx, s.tenantID, workflows.ActionSync, night, night.Add(4*time.Hour)))
	runs := s.scheduledRuns(2)
	require.Equal(t, workflows.OutcomeSignalled, runs[0].Result.Outcome)
	require.Equal(t, workflows.SkipRepeatedHour, runs[1].Result.Skip)
	replayAndKeep(t, history(t, s.temporal, runs[0].WorkflowID, runs[0].RunID), "scheduled_cycle_sync")
	replayAndKeep(t, history(t, s.temporal, runs[1].WorkflowID, runs[1].RunID), "scheduled_cycle_repeated_hour")

	// The sync schedule turned off behind Temporal's back (as when the API answered 503).
	_, _, err := s.store.UpdateTenant(ctx, s.tenantID, func(t *tenant.Tenant) error {
		t.Settings.Licences.Sync.Enabled = false
		return nil
	})
	require.NoError(t, err)
	h := s.temporal.ScheduleClient().GetHandle(ctx, starter.ScheduleID(s.tenantID, workflows.ActionSync))
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	runs = s.scheduledRuns(3)
	require.Equal(t, workflows.SkipDisabled, runs[2].Result.Skip)
	replayAndKeep(t, history(t, s.temporal, runs[2].WorkflowID, runs[2].RunID), "scheduled_cycle_skipped")

	// A snapshot loop whose timer fires for the week's last snapshot: a weekly schedule on
	// today's weekday, with the timer armed two seconds ahead (as a loop continued as new
	// with its snapshot due).
	now := time.Now().UTC()
	sched := scorecard.Schedule{Cadence: scorecard.Weekly, Weekday: strings.ToLower(now.Weekday().String()), Time: "00:00"}
	id := store.NewMetricID(s.tenantID)
	m, err := s.store.CreateMetric(ctx, store.Metric{ID: id, TenantID: s.tenantID, Name: "Open tickets",
		OwnerEmail: "desk@demo-msp.example", TimeZone: "UTC", GaugeID: gaemu.DemoGaugeOpenTickets, Schedule: sched,
		WorkflowID: workflows.MetricSnapshotID(id), CreatedBy: "test"})
	require.NoError(t, err)
	in := workflows.NewMetricSnapshotInput(m.ID, m.TenantID, m.GaugeID, m.TimeZone, m.Schedule)
	in.State.NextSnapshotAt = now.Add(2 * time.Second)
	_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: m.WorkflowID, TaskQueue: s.taskQueue}, workflows.MetricSnapshot, in)
	require.NoError(t, err)
	week := scorecard.WeekOf(in.State.NextSnapshotAt, time.UTC)
	eventually(t, 30*time.Second, "the timer's final snapshot", func() bool {
		st := s.snapshotState(m.WorkflowID)
		return st.Last != nil && st.Last.Frozen
	})
	c, err := s.store.GetCheckin(ctx, m.ID, week)
	require.NoError(t, err)
	require.True(t, c.Frozen, "the week's last snapshot froze %s", week)
	require.Equal(t, 1, s.world.Gauges.Reads(gaemu.DemoGaugeOpenTickets))
	run := s.runID(m.WorkflowID)
	s.stopLoop(m.WorkflowID)
	replaySnapshotAndKeep(t, history(t, s.temporal, m.WorkflowID, run), "metric_snapshot_final")
	require.NotEmpty(t, s.historyOf("metric.week_frozen"), fmt.Sprintf("%s frozen in the site history", week))
}
