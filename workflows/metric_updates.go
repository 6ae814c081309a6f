package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meterbridge/meterbridge/scorecard"
)

// The snapshot loop's updates: what people ask of a metric's loop and need the outcome of.
// Validators refuse what the loop cannot do (no history event is written for a refusal);
// handlers do it and answer what happened. Registering them adds no command, so loops that
// started before they existed take them too, and their recorded histories replay unchanged.

func (l *snapshotLoop) registerUpdates(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSyncNow, l.onSyncNow, workflow.UpdateHandlerOptions{
		Validator:   l.validateSyncNow,
		Description: "read the gauge into the current week now; answers the week's check-in, or why not (frozen week, inside the 5-minute window, metric deleted)",
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateStopLoop, l.onStop, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, r StopLoopRequest) error {
			if r.Actor == "" {
				return temporal.NewApplicationError("a stop names who deleted the metric (Actor)", ErrInvalid)
			}
			return nil
		},
		Description: "the metric was deleted: stop taking snapshots and end the loop; answers once it has stopped",
	})
}

// validateSyncNow refuses a sync now the loop would not run: the metric is being deleted,
// the current week is frozen (its final snapshot was taken), or the last sync was less than
// scorecard.SyncWindow before this one (measured between the times the API admitted them).
func (l *snapshotLoop) validateSyncNow(ctx workflow.Context, r scorecard.SyncRequest) error {
	if l.ending() {
		return temporal.NewNonRetryableApplicationError("metric "+l.st.MetricID+" was deleted; its snapshot loop is stopping", ErrMetricGone, nil)
	}
	now := workflow.Now(ctx)
	if week := scorecard.WeekOf(now, l.loc); l.st.FrozenWeek != "" && week <= l.st.FrozenWeek {
		return l.weekFrozen(week, l.st.FrozenAt)
	}
	r = l.admitted(ctx, r)
	if last := l.st.LastSync.RequestedAt; !last.IsZero() && r.RequestedAt.Sub(last) < scorecard.SyncWindow {
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("the last sync now ran at %s; the next may run from %s", last.UTC().Format(time.RFC3339), last.Add(scorecard.SyncWindow).UTC().Format(time.RFC3339)),
			ErrSyncTooSoon, temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{l.st.LastSync}})
	}
	return nil
}

// weekFrozen is the refusal of a sync now of a frozen week.
func (l *snapshotLoop) weekFrozen(week scorecard.Week, frozenAt time.Time) error {
	note := scorecard.FrozenWeekNote{Week: week, FrozenAt: frozenAt, NextWeekStartsAt: week.End(l.loc).UTC()}
	return temporal.NewApplicationErrorWithOptions(
		fmt.Sprintf("%s is frozen: its final snapshot was taken; sync now reads the gauge again from %s, when %s begins",
			week, week.End(l.loc).Format("Mon 2006-01-02 15:04 MST"), week.Next()),
		ErrWeekFrozen, temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{note}})
}

// onSyncNow reads the gauge into the current week and answers the week's check-in. The
// window starts with this request; a week the loop did not know was frozen is found frozen
// by the activity (which then reads nothing), and the request gives its window back.
func (l *snapshotLoop) onSyncNow(ctx workflow.Context, r scorecard.SyncRequest) (scorecard.SnapshotResult, error) {
	if err := l.validateSyncNow(ctx, r); err != nil {
		return scorecard.SnapshotResult{}, err // the loop changed since the request was validated
	}
	now := workflow.Now(ctx)
	prev := l.st.LastSync
	l.st.LastSync = l.admitted(ctx, r)
	res, err := l.take(ctx, scorecard.SnapshotInput{Week: scorecard.WeekOf(now, l.loc), Kind: scorecard.KindSync, At: now, RequestedBy: r.RequestedBy})
	switch {
	case l.ending():
		return res, temporal.NewNonRetryableApplicationError("metric "+l.st.MetricID+" was deleted; nothing was read", ErrMetricGone, nil)
	case err != nil:
		return res, temporal.NewNonRetryableApplicationError("the gauge could not be read: "+reason(err)+" (recorded in the site history)", ErrSnapshotFailed, nil)
	case res.Skipped == scorecard.SkippedFrozen:
		l.st.LastSync = prev
		frozenAt := res.At
		if res.FrozenAt != nil {
			frozenAt = *res.FrozenAt
		}
		return res, l.weekFrozen(res.Week, frozenAt)
	}
	return res, nil
}

// onStop stops the loop: snapshots in flight are cancelled at once, and the answer comes
// when the loop has stopped (the workflow then completes).
func (l *snapshotLoop) onStop(ctx workflow.Context, r StopLoopRequest) (LoopStopped, error) {
	if l.stopping == nil {
		l.stopping = &r
	}
	l.stopWork()
	l.poke()
	if err := workflow.Await(ctx, func() bool { return l.ended }); err != nil {
		return LoopStopped{}, err
	}
	out := LoopStopped{MetricID: l.st.MetricID, Snapshots: l.st.Snapshots, Runs: l.st.Run}
	if l.st.Last != nil {
		out.LastWeek = l.st.Last.Week
	}
	return out, nil
}
