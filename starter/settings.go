package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// What to do with this month's publish when a settings change takes away its run
// (SettingsUpdate.MissedPeriod).
const (
	// PublishNow publishes the month now, as the automatic publish of the month would have.
	PublishNow = "publish_now"
	// SkipPeriod leaves the month unpublished; it is recorded as a choice.
	SkipPeriod = "skip"
)

// Outcomes of a PublishNotice.
const (
	// NoticeWillPublish: the schedule publishes this month at NextRunAt.
	NoticeWillPublish = "will_publish"
	// NoticePublished: this month is already published (or publishing).
	NoticePublished = "published"
	// NoticePublishingNow: this month's publish was started now (WorkflowID).
	NoticePublishingNow = "publishing_now"
	// NoticeSkipped: the change took away this month's run and the request chose to skip it.
	NoticeSkipped = "skipped"
	// NoticeNotPublished: the schedule does not publish this month (its day has passed or it
	// is off) and was not going to before the change either.
	NoticeNotPublished = "not_published"
)

// PublishNotice says what a settings change means for this month's automatic publish.
//
// The rule (DESIGN.md, made to lose no month): the calendar decides when the schedule runs
// next — a new day still ahead this month publishes this month on that day, a day already
// past runs from next month. But a month the schedule was still going to publish is never
// dropped without a word: when the change moves its run into the past (an earlier day or
// hour, another zone) and the month is not published yet, it is published now, as a late
// automatic run of the month (the period is claimed, so it is published once) — unless the
// request says "missed_period": "skip". Turning the schedule off over a month still due needs
// that choice spelled out ("publish_now" or "skip"). A month that was not due before the
// change (the schedule was off, or its day had passed) is not published by the change; the
// notice says so and how to publish it ("publish_now", or POST /publish).
type PublishNotice struct {
	Period  billing.Period `json:"period"`
	Outcome string         `json:"outcome"`
	// DueAt is this month's run as the schedule stood before the change, when it was still ahead.
	DueAt *time.Time `json:"due_at,omitempty"`
	// NextRunAt is the schedule's next run after the change (absent while it is off).
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
	// WorkflowID is the cycle started now (publishing_now) or the one that published it.
	WorkflowID string `json:"workflow_id,omitempty"`
	Message    string `json:"message"`
}

// SettingsUpdate is a change to a tenant's name, zone or settings.
type SettingsUpdate struct {
	TenantID string
	Actor    string
	// Change applies the change to the tenant; an error aborts it.
	Change func(*tenant.Tenant) error
	// MissedPeriod is PublishNow, SkipPeriod or "" (see PublishNotice).
	MissedPeriod string
	// Details are added to the site-history row of the publish notice (the request ID).
	Details map[string]any
}

// SettingsResult is what UpdateSettings did.
type SettingsResult struct {
	Before, After tenant.Tenant
	// Publish is set when the change touched the publish schedule or the zone.
	Publish *PublishNotice
}

// MissedPeriodChoiceError refuses a change that turns the publish schedule off while this
// month's publish is still due and unpublished, when the request did not say what to do.
type MissedPeriodChoiceError struct{ Notice PublishNotice }

func (e *MissedPeriodChoiceError) Error() string { return e.Notice.Message }

// CatchUpError means the settings were saved but this month's publish could not be started.
type CatchUpError struct {
	Period billing.Period
	Err    error
}

func (e *CatchUpError) Error() string {
	return fmt.Sprintf("settings were saved, but the publish of %s could not be started: %v; repeat the request with \"missed_period\": %q (or POST /publish)",
		e.Period, e.Err, PublishNow)
}

func (e *CatchUpError) Unwrap() error { return e.Err }

// UpdateSettings applies a change to a tenant and, in the same transaction, decides and
// records (site history) what it means for this month's automatic publish; then it starts
// that publish when the change calls for it, and brings the tenant's Temporal Schedules in
// line with the settings. A failure to reach Temporal leaves the change saved and returns
// the error (a *CatchUpError when the month's publish did not start).
func (s *Starter) UpdateSettings(ctx context.Context, u SettingsUpdate) (SettingsResult, error) {
	switch u.MissedPeriod {
	case "", PublishNow, SkipPeriod:
	default:
		return SettingsResult{}, &tenant.FieldError{Field: "missed_period", Reason: fmt.Sprintf("must be %q or %q", PublishNow, SkipPeriod)}
	}
	now := s.now()
	var res SettingsResult
	var err error
	res.Before, res.After, err = s.Store.UpdateTenantTx(ctx, u.TenantID, func(tx store.TenantTx, t *tenant.Tenant) error {
		before := *t
		if err := u.Change(t); err != nil {
			return err
		}
		n, err := s.publishNotice(tx, before, *t, now, u.MissedPeriod)
		if err != nil || n == nil {
			return err
		}
		res.Publish = n
		return tx.Note(s.noticeNote(*t, *n, u))
	})
	if err != nil {
		return res, err
	}
	if n := res.Publish; n != nil && n.Outcome == NoticePublishingNow {
		started, err := s.StartCycle(ctx, StartRequest{TenantID: u.TenantID, Kind: billing.UsagePublish, Trigger: billing.Automatic,
			StartedBy: u.Actor, Period: n.Period})
		var running *AlreadyRunningError
		switch {
		case errors.As(err, &running):
			n.WorkflowID = running.WorkflowID // a cycle of the month is publishing it
		case err != nil:
			if herr := s.Store.AddNote(context.WithoutCancel(ctx), store.Note{TenantID: u.TenantID, Severity: store.SeverityError,
				Actor: store.ActorAutomatic, Action: "schedule.publish_period", Message: fmt.Sprintf("the publish of %s was not started: %v", n.Period, err),
				Details: map[string]any{"period": n.Period}}); herr != nil {
				slog.Default().Error("site history not written", "tenant", u.TenantID, "err", herr)
			}
			return res, &CatchUpError{Period: n.Period, Err: err}
		default:
			n.WorkflowID = started.WorkflowID
		}
	}
	return res, s.SyncSchedules(ctx, res.After)
}

// publishNotice applies PublishNotice's rule to a change of the tenant from before to after.
// It is nil when the change touches neither the publish schedule nor the zone.
func (s *Starter) publishNotice(tx store.TenantTx, before, after tenant.Tenant, now time.Time, choice string) (*PublishNotice, error) {
	bs, as := before.Settings.Publish.Schedule, after.Settings.Publish.Schedule
	if bs == as && before.TimeZone == after.TimeZone && choice == "" {
		return nil, nil
	}
	bloc, aloc := before.Location(), after.Location()
	period := billing.MonthOf(now, aloc)
	n := &PublishNotice{Period: period}
	at := func(t time.Time) string { return t.In(aloc).Format("Mon 2 Jan 2006 15:04 MST") }
	if next := as.Next(now, aloc); as.Enabled && !next.IsZero() {
		n.NextRunAt = ptr(next.UTC())
	}
	dueBefore := bs.NextInMonth(now, bloc)
	if !dueBefore.IsZero() && billing.MonthOf(dueBefore, bloc) == period {
		n.DueAt = ptr(dueBefore.UTC())
	} else {
		dueBefore = time.Time{}
	}
	holder, err := tx.PeriodPublisher(after.ID, billing.UsagePublish, period)
	if err != nil {
		return nil, err
	}
	dueAfter := as.NextInMonth(now, aloc)
	switch {
	case holder != "":
		n.Outcome = NoticePublished
		n.Message = fmt.Sprintf("%s is already published (cycle %s)", period, holder)
	case !dueAfter.IsZero():
		n.Outcome = NoticeWillPublish
		n.Message = fmt.Sprintf("the schedule publishes %s on %s", period, at(dueAfter))
	case !dueBefore.IsZero():
		what := "the change moves this month's run to " + at(as.RunInMonth(now, aloc)) + ", which has passed"
		if as.RunInMonth(now, aloc).IsZero() {
			what = "the new schedule has no run this month"
		}
		if !as.Enabled {
			what = "the change turns the schedule off"
		}
		switch {
		case choice == PublishNow || (choice == "" && as.Enabled):
			n.Outcome = NoticePublishingNow
			n.Message = fmt.Sprintf("%s was due on %s and is not published; %s, so it is published now (send \"missed_period\": %q to leave it)",
				period, at(dueBefore), what, SkipPeriod)
		case choice == SkipPeriod:
			n.Outcome = NoticeSkipped
			n.Message = fmt.Sprintf("%s was due on %s and is not published; %s, and the request chose to skip it: it is not published automatically",
				period, at(dueBefore), what)
		default:
			n.Outcome = NoticeNotPublished
			n.Message = fmt.Sprintf("%s is due on %s and not published yet; %s: send \"missed_period\": %q to publish it now or %q to leave it unpublished",
				period, at(dueBefore), what, PublishNow, SkipPeriod)
			return nil, &MissedPeriodChoiceError{Notice: *n}
		}
	case choice == PublishNow:
		n.Outcome = NoticePublishingNow
		n.Message = fmt.Sprintf("%s is not published; the request asked to publish it now", period)
	default:
		n.Outcome = NoticeNotPublished
		switch run := as.RunInMonth(now, aloc); {
		case !as.Enabled:
			n.Message = fmt.Sprintf("the publish schedule is off: %s is not published automatically", period)
		case run.IsZero():
			n.Message = fmt.Sprintf("the schedule has no run in %s: it is not published automatically", period)
		default:
			n.Message = fmt.Sprintf("this month's run (%s) has passed: %s is not published automatically", at(run), period)
		}
		if n.NextRunAt != nil {
			n.Message += "; the next run is " + at(*n.NextRunAt)
		}
		n.Message += fmt.Sprintf(". To publish %s, send \"missed_period\": %q or POST /publish", period, PublishNow)
	}
	return n, nil
}

// noticeNote is the site-history row of a publish notice.
func (s *Starter) noticeNote(t tenant.Tenant, n PublishNotice, u SettingsUpdate) store.Note {
	severity := store.SeverityInfo
	switch n.Outcome {
	case NoticeSkipped, NoticeNotPublished:
		severity = store.SeverityWarning
	}
	details := map[string]any{"period": n.Period, "outcome": n.Outcome, "schedule": t.Settings.Publish.Schedule, "time_zone": t.TimeZone}
	if n.DueAt != nil {
		details["due_at"] = *n.DueAt
	}
	if n.NextRunAt != nil {
		details["next_run_at"] = *n.NextRunAt
	}
	maps.Copy(details, u.Details)
	return store.Note{TenantID: t.ID, Severity: severity, Actor: u.Actor, Action: "schedule.publish_period",
		Message: "usage publish schedule " + t.Settings.Publish.Schedule.String() + " (" + t.TimeZone + "): " + n.Message, Details: details}
}

func ptr[T any](v T) *T { return &v }
