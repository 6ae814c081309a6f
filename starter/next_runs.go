package starter

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meterbridge/meterbridge/tenant"
)

func (s *Starter) namespace() string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return "default"
}

// NextRunTimes returns up to n next times a tenant's schedule of an action ("publish",
// "refresh", "sync") starts a run, as the Temporal server computes the calendar's times,
// keeping only the times on which ScheduledCycle runs (tenant.Schedule.RunsAt): a "last day"
// calendar fires on days 28–31 but runs only on the month's last day. Empty when the
// schedule does not exist, is paused or is disabled in the settings.
func (s *Starter) NextRunTimes(ctx context.Context, t tenant.Tenant, action string, n int) ([]time.Time, error) {
	sch := schedulesOf(t)[action]
	if !sch.Enabled {
		return nil, nil
	}
	id := ScheduleID(t.ID, action)
	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
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
	start := s.now()
	res, err := s.Temporal.WorkflowService().ListScheduleMatchingTimes(ctx, &workflowservice.ListScheduleMatchingTimesRequest{
		Namespace: s.namespace(), ScheduleId: id,
		StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.AddDate(1, 2, 0)),
	})
	if err != nil {
		return nil, err
	}
	loc := t.Location()
	var out []time.Time
	for _, ts := range res.GetStartTime() {
		at := ts.AsTime()
		if sch.RunsAt(at, loc) {
			out = append(out, at)
			if len(out) == n {
				break
			}
		}
	}
	return out, nil
}
