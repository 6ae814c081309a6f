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

// Actions are the scheduled actions, in the order people read them.
var Actions = []string{workflows.ActionPublish, workflows.ActionRefresh, workflows.ActionSync}

// schedulesOf returns each action's schedule from the tenant's settings.
func schedulesOf(t tenant.Tenant) map[string]tenant.Schedule {
	out := map[string]tenant.Schedule{}
	for _, a := range Actions {
		out[a] = workflows.ScheduleOf(t.Settings, a)
	}
	return out
}

// Spec turns a tenant schedule into Temporal calendars in the tenant's zone whose matching
// times are exactly the schedule's run times (tenant.Schedule.Next), so the Web UI's next
// runs are the times money moves: "last" is one calendar per month length (February 28 in
// common years only), and an hour the zone's clocks skip on a run date gets a calendar at
// the time right after the gap on exactly those dates (tenant.Schedule.Calendars). The
// calendars cover 2000 to 2100, every year Temporal's calendars can name, so backfills of past
// periods fire where the schedule would have; they depend on the zone rules this binary
// knows, which is why every worker start syncs them again (see SyncAllSchedules). The
// one time no calendar can state exactly is the hour the clocks repeat when summer time ends:
// the server fires it twice, and ScheduledCycle skips the second.
func Spec(s tenant.Schedule, timeZone string) client.ScheduleSpec {
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		loc = time.UTC
	}
	var cals []client.ScheduleCalendarSpec
	for _, e := range s.Calendars(loc) {
		cal := client.ScheduleCalendarSpec{
			Second:     []client.ScheduleRange{{Start: 0}},
			Minute:     []client.ScheduleRange{{Start: e.Minute}},
			Hour:       []client.ScheduleRange{{Start: e.Hour}},
			DayOfMonth: ranges(e.Days),
			Month:      ranges(e.Months),
			Comment:    e.Comment,
		}
		for _, y := range e.Years {
			cal.Year = append(cal.Year, client.ScheduleRange{Start: y.From, End: y.To, Step: y.Step})
		}
		cals = append(cals, cal)
	}
	return client.ScheduleSpec{Calendars: cals, TimeZoneName: timeZone}
}

// ranges lists single values as ranges; nil (every value) for none.
func ranges(vs []int) []client.ScheduleRange {
	var out []client.ScheduleRange
	for _, v := range vs {
		out = append(out, client.ScheduleRange{Start: v})
	}
	return out
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
	for _, action := range Actions {
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
	info, err := s.describeSchedule(ctx, tenantID, action)
	if err != nil || info.Paused {
		return nil, err
	}
	return info.NextActionTimes, nil
}

// ScheduleInfo is one of a tenant's Temporal Schedules as the server has it.
type ScheduleInfo struct {
	Action     string `json:"action"`
	ScheduleID string `json:"schedule_id"`
	// Exists is false when the schedule was never enabled (nothing is on the server).
	Exists bool   `json:"exists"`
	Paused bool   `json:"paused"`
	Note   string `json:"note,omitempty"`
	// NextActionTimes are the times the server will run it next (UTC), as Temporal computes
	// them; empty while paused. They are the times money moves: the calendars are exact.
	NextActionTimes []time.Time `json:"next_action_times"`
}

// TenantSchedules describes each of a tenant's schedules (publish, refresh, sync) as Temporal
// computes them: whether it runs and its next action times, at most limit of each (0: all the
// server lists, usually ten).
func (s *Starter) TenantSchedules(ctx context.Context, tenantID string, limit int) ([]ScheduleInfo, error) {
	var out []ScheduleInfo
	for _, action := range Actions {
		info, err := s.DescribeSchedule(ctx, tenantID, action, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// DescribeSchedule describes one of a tenant's schedules ("publish", "refresh", "sync") as
// Temporal computes it, with at most limit next action times (0: all the server lists);
// a paused schedule has none.
func (s *Starter) DescribeSchedule(ctx context.Context, tenantID, action string, limit int) (ScheduleInfo, error) {
	info, err := s.describeSchedule(ctx, tenantID, action)
	if err != nil {
		return info, fmt.Errorf("schedule %s: %w", ScheduleID(tenantID, action), err)
	}
	if info.Paused {
		info.NextActionTimes = []time.Time{}
	}
	if limit > 0 && len(info.NextActionTimes) > limit {
		info.NextActionTimes = info.NextActionTimes[:limit]
	}
	return info, nil
}

func (s *Starter) describeSchedule(ctx context.Context, tenantID, action string) (ScheduleInfo, error) {
	info := ScheduleInfo{Action: action, ScheduleID: ScheduleID(tenantID, action), NextActionTimes: []time.Time{}}
	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, info.ScheduleID).Describe(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return info, nil
	}
	if err != nil {
		return info, err
	}
	info.Exists = true
	if st := d.Schedule.State; st != nil {
		info.Paused, info.Note = st.Paused, st.Note
	}
	for _, at := range d.Info.NextActionTimes {
		info.NextActionTimes = append(info.NextActionTimes, at.UTC())
	}
	return info, nil
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
