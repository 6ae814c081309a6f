package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// Each tenant has up to three Temporal Schedules, one per scheduled action. They live on the
// server, show in the Web UI under Schedules, and start ScheduledCycle at the tenant's local
// hour.
//
// Policies, chosen on purpose:
//   - CatchupWindow 72 hours: if the Temporal cluster itself was down at the scheduled time,
//     the run still happens when it returns within three days (a weekend outage does not
//     skip a month's billing); beyond that the missed run is counted in the schedule's info
//     and someone should look. A worker that is down does not miss anything: the run is
//     started on time and waits on the task queue until a worker takes it.
//   - Overlap BUFFER_ONE: a scheduled run normally takes a second (it starts or signals the
//     cycle and ends). If one is still waiting (no worker), the next is kept, not dropped;
//     more than one buffered run adds nothing, because each run re-derives its period and
//     a period is published at most once (the claim in PostgreSQL).
const (
	CatchupWindow = 72 * time.Hour
	overlap       = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
)

// ScheduleID names a tenant's schedule of an action ("publish", "refresh", "sync").
func ScheduleID(tenantID, action string) string {
	switch action {
	case workflows.ActionRefresh:
		return "licence-refresh/" + tenantID
	case workflows.ActionSync:
		return "licence-sync/" + tenantID
	}
	return "publish/" + tenantID
}

// scheduleFor returns each action's schedule from the tenant's settings.
func schedulesOf(t tenant.Tenant) map[string]tenant.Schedule {
	return map[string]tenant.Schedule{
		workflows.ActionPublish: t.Settings.Publish.Schedule,
		workflows.ActionRefresh: t.Settings.Licences.Refresh,
		workflows.ActionSync:    t.Settings.Licences.Sync,
	}
}

// Spec turns a tenant schedule into a Temporal calendar in the tenant's zone. "Last day of
// month" fires on days 28–31 and ScheduledCycle keeps only the month's last day; a numeric
// day the month lacks simply never matches, so such a month publishes nothing. An hour the
// zone's clocks skip on some day also fires an hour later (see ScheduledCycle).
func Spec(s tenant.Schedule, timeZone string) client.ScheduleSpec {
	hours := []client.ScheduleRange{{Start: s.Hour}}
	if loc, err := time.LoadLocation(timeZone); err == nil && s.Hour < 23 && tenant.HourSkippedSomeDay(s.Hour, loc, time.Now()) {
		// The server matches wall-clock times literally, so on the day the clocks skip this
		// hour the calendar would not fire and the month's publish would be lost. The next
		// hour fires too; ScheduledCycle runs it only on that day and skips it otherwise.
		hours = append(hours, client.ScheduleRange{Start: s.Hour + 1})
	}
	cal := client.ScheduleCalendarSpec{
		Second: []client.ScheduleRange{{Start: 0}},
		Minute: []client.ScheduleRange{{Start: 0}},
		Hour:   hours,
	}
	if s.Cadence == tenant.Monthly {
		if s.Day == tenant.LastDay {
			cal.DayOfMonth = []client.ScheduleRange{{Start: 28, End: 31}}
		} else {
			cal.DayOfMonth = []client.ScheduleRange{{Start: s.DayOfMonth()}}
		}
	}
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{cal}, TimeZoneName: timeZone}
}

func (s *Starter) action(t tenant.Tenant, action string, sch tenant.Schedule) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		// The server appends the scheduled time to this ID for each run.
		ID:        "scheduled-" + action + "/" + t.ID,
		Workflow:  workflows.ScheduledCycle,
		Args:      []any{workflows.ScheduledInput{TenantID: t.ID, Action: action, Schedule: sch, TimeZone: t.TimeZone, PageSize: s.PageSize}},
		TaskQueue: s.taskQueue(),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.TenantKey.ValueSet(t.ID),
		),
		StaticSummary: fmt.Sprintf("scheduled %s for %s", action, t.Name),
		// A scheduled run only starts or signals a cycle, but it may wait for a worker: it is
		// given as long as the catch-up window, so a worker outage shorter than that still
		// publishes.
		WorkflowRunTimeout: CatchupWindow,
	}
}

// SyncSchedules makes the tenant's Temporal Schedules match its settings: enabled ones are
// created or updated (spec, zone and action), disabled ones are paused with a note, so their
// history stays visible in the Web UI.
func (s *Starter) SyncSchedules(ctx context.Context, t tenant.Tenant) error {
	// Read the tenant afresh: of two settings changes syncing at once, the later sync must
	// not write the older snapshot.
	if fresh, err := s.Store.GetTenant(ctx, t.ID); err == nil {
		t = fresh
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for action, sch := range schedulesOf(t) {
		if err := s.syncSchedule(ctx, t, action, sch); err != nil {
			return fmt.Errorf("schedule %s: %w", ScheduleID(t.ID, action), err)
		}
	}
	return nil
}

func (s *Starter) syncSchedule(ctx context.Context, t tenant.Tenant, action string, sch tenant.Schedule) error {
	id := ScheduleID(t.ID, action)
	h := s.Temporal.ScheduleClient().GetHandle(ctx, id)
	_, err := h.Describe(ctx)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		if !sch.Enabled {
			return nil
		}
		_, err := s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:            id,
			Spec:          Spec(sch, t.TimeZone),
			Action:        s.action(t, action, sch),
			Overlap:       overlap,
			CatchupWindow: CatchupWindow,
			Note:          "created from tenant settings",
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.TenantKey.ValueSet(t.ID),
			),
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return s.syncSchedule(ctx, t, action, sch)
		}
		return err
	case err != nil:
		return err
	}
	return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sc := in.Description.Schedule
		spec := Spec(sch, t.TimeZone)
		sc.Spec = &spec
		sc.Action = s.action(t, action, sch)
		if sc.Policy == nil {
			sc.Policy = &client.SchedulePolicies{}
		}
		sc.Policy.Overlap = overlap
		sc.Policy.CatchupWindow = CatchupWindow
		if sc.State == nil {
			sc.State = &client.ScheduleState{}
		}
		sc.State.Paused = !sch.Enabled
		if sch.Enabled {
			sc.State.Note = "updated from tenant settings"
		} else {
			sc.State.Note = "disabled in tenant settings"
		}
		return &client.ScheduleUpdate{Schedule: &sc}, nil
	}})
}

// PauseSchedules pauses every schedule of a tenant (switching PSA, deleting a tenant).
func (s *Starter) PauseSchedules(ctx context.Context, tenantID, note string) error {
	for _, action := range []string{workflows.ActionPublish, workflows.ActionRefresh, workflows.ActionSync} {
		err := s.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(tenantID, action)).Pause(ctx, client.SchedulePauseOptions{Note: note})
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			return err
		}
	}
	return nil
}

// NextRuns returns the next scheduled times of a tenant's schedule of an action, as the
// server computes them (empty when the schedule does not exist or is paused).
func (s *Starter) NextRuns(ctx context.Context, tenantID, action string) ([]time.Time, error) {
	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(tenantID, action)).Describe(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Schedule.State != nil && d.Schedule.State.Paused {
		return nil, nil
	}
	return d.Info.NextActionTimes, nil
}

// Backfill runs a tenant's schedule of an action for every scheduled time in [from, to), as
// if each had happened then: periods come from the scheduled times, and a period that was
// already published automatically ends as already published.
func (s *Starter) Backfill(ctx context.Context, tenantID, action string, from, to time.Time) error {
	if !to.After(from) {
		return errors.New("backfill range is empty: --to must be after --from")
	}
	h := s.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(tenantID, action))
	if _, err := h.Describe(ctx); err != nil {
		return fmt.Errorf("schedule %s: %w (enable the schedule in the tenant's settings first)", ScheduleID(tenantID, action), err)
	}
	return h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
		Start: from, End: to, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	}}})
}

// SyncAllSchedules runs SyncSchedules for every tenant, continuing past failures and
// returning them joined.
func (s *Starter) SyncAllSchedules(ctx context.Context) error {
	tenants, err := s.Store.ListTenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		if err := s.SyncSchedules(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	return errors.Join(errs...)
}
