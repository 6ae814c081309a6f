package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activity names, as the worker registers them (the methods of activities.Activities). A
// worker test checks that each one is registered.
const (
	ActivityBeginCycle    = "BeginCycle"
	ActivityRefreshPage   = "RefreshPage"
	ActivityDecide        = "Decide"
	ActivityPushPage      = "PushPage"
	ActivityFinishCycle   = "FinishCycle"
	ActivityNotify        = "Notify"
	ActivityMarkCycle     = "MarkCycle"
	ActivityApplyDeadline = "ApplyDeadline"
	ActivityOpenCycles    = "OpenCycles"
	// ActivityDecideItems applies a decision and says what it did (the update handlers).
	ActivityDecideItems = "DecideItems"
	// ActivityFindOrphanedCycles and ActivityCloseOrphanedCycle are the reconciler's.
	ActivityFindOrphanedCycles = "FindOrphanedCycles"
	ActivityCloseOrphanedCycle = "CloseOrphanedCycle"

	ActivityCheckScheduledRun = "CheckScheduledRun"

	ActivitySnapshotMetric      = "SnapshotMetric"
	ActivityNoteSnapshotFailure = "NoteSnapshotFailure"
)

// ActivityNames lists every activity the workflows call.
func ActivityNames() []string {
	return []string{ActivityBeginCycle, ActivityRefreshPage, ActivityDecide, ActivityPushPage, ActivityFinishCycle, ActivityNotify, ActivityMarkCycle, ActivityApplyDeadline, ActivityOpenCycles,
		ActivityDecideItems, ActivityFindOrphanedCycles, ActivityCloseOrphanedCycle,
		ActivityCheckScheduledRun, ActivitySnapshotMetric, ActivityNoteSnapshotFailure}
}

// Error types activities return for failures that retrying cannot fix. They are stable
// strings, not Go type names, so wrapping an error never makes it retryable by accident.
const (
	// ErrCredentials: the PSA or vendor refused the stored credentials; the cycle fails fast.
	ErrCredentials = "CredentialsInvalid"
	// ErrNotConfigured: the tenant lacks a connection or setting the cycle needs.
	ErrNotConfigured = "NotConfigured"
	// ErrInvalid: the outside service rejected the whole request.
	ErrInvalid = "InvalidRequest"
	// ErrCycleNotFound: the cycle's record is not in PostgreSQL; retrying cannot bring it back.
	ErrCycleNotFound = "CycleNotFound"
)

var nonRetryable = []string{ErrCredentials, ErrNotConfigured, ErrInvalid, ErrCycleNotFound, ErrMetricGone}

// Error types of refused or failed updates; the API maps them to its answers.
const (
	// ErrPastApproval: the cycle no longer takes decisions or sync requests (it pushes its
	// last updates, is finishing, was superseded or cancelled).
	ErrPastApproval = "CyclePastApproval"
	// ErrNotCancellable: the cycle cannot be cancelled now (it writes to the PSA, or it is
	// finishing).
	ErrNotCancellable = "CycleNotCancellable"
	// ErrSignalsOnly: the run started before the cycle answered updates; the caller falls
	// back to the signal of the same name.
	ErrSignalsOnly = "CycleTakesSignalsOnly"
	// ErrBadRequest: the update's input is malformed.
	ErrBadRequest = "BadUpdateRequest"
)

// Error types of a metric's snapshot loop and its activity; the starter maps them to its
// answers.
const (
	// ErrMetricGone: the metric is no longer stored (it was deleted); its loop ends.
	ErrMetricGone = "MetricGone"
	// ErrWeekFrozen: sync now refused, the current week is frozen (details: a
	// scorecard.FrozenWeekNote).
	ErrWeekFrozen = "WeekFrozen"
	// ErrSyncTooSoon: sync now refused inside the window after the last one (details: the
	// last scorecard.SyncRequest).
	ErrSyncTooSoon = "SyncTooSoon"
	// ErrSnapshotFailed: sync now ran but the gauge could not be read; the failure is in the
	// site history.
	ErrSnapshotFailed = "SnapshotFailed"
)

// storeOptions suit activities that only touch PostgreSQL: quick, retried until the database
// is back.
func storeOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// OutsideStartToClose bounds one attempt of a page of PSA or vendor calls (a push page
// included): the PSA target lock's Wait and MaxHold fit inside it (store.PushLockTimings).
const OutsideStartToClose = 10 * time.Minute

// outsideOptions suit activities that call PSA or vendor APIs page by page. The client
// already retries quick 429/5xx inside one attempt; what reaches here is a longer outage or
// a long Retry-After (the activity passes it on as the next retry delay). Heartbeats let a
// dead worker's attempt be retried within a minute instead of at the timeout.
func outsideOptions(ctx workflow.Context, heartbeat time.Duration) workflow.Context {
	if heartbeat <= 0 {
		heartbeat = time.Minute
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    OutsideStartToClose,
		ScheduleToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:       heartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// notifyOptions give up after a day: a message that cannot be delivered must not hold a
// cycle open forever; the failure is recorded in site history.
func notifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    10 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Minute,
		},
	})
}

// briefNotifyOptions suit reminders and alerts sent while a cycle waits for people.
func briefNotifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 5 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2},
	})
}
