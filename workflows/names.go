package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
)

// The names the API, the starter and the worker share. A string naming a signal, query or
// task queue anywhere else is a bug waiting to happen.

// TaskQueue is where meterbridge's workflows and activities run.
const TaskQueue = "meterbridge"

// Updates of the billing cycle: what people ask for and need the outcome of. Each has a
// validator, so a request the cycle cannot take is refused without a trace in its history,
// and the answer says what the workflow did.
const (
	// UpdateApprove carries a billing.Decision approving pending items; it answers a
	// DecisionAnswer.
	UpdateApprove = "approve"
	// UpdateReject carries a billing.Decision removing pending items; it answers a
	// DecisionAnswer.
	UpdateReject = "reject"
	// UpdateSync carries a SyncRequest: push a licence cycle's approved updates now. It
	// answers a SyncAnswer once the cycle has taken the request.
	UpdateSync = "sync"
	// UpdateCancel carries a CancelRequest: stop a cycle that waits. It answers a
	// CancelAnswer once the cycle is recorded as cancelled.
	UpdateCancel = "cancel"
)

// Signals and queries of the billing cycle. Approve, reject and sync signals are what the
// API sent before the updates above; cycles keep serving them for runs that started then and
// for the sync schedule (a workflow cannot send an update).
const (
	// SignalApprove carries a Decision approving pending items.
	SignalApprove = "approve"
	// SignalReject carries a Decision removing pending items.
	SignalReject = "reject"
	// SignalSync asks a licence cycle to push its approved updates now (the sync schedule).
	SignalSync = "sync"
	// SignalSupersede tells a licence cycle that a newer refresh replaced its waiting items.
	SignalSupersede = "supersede"
	// QueryProgress returns the cycle's Progress.
	QueryProgress = "progress"
)

// Signals and the query of a metric's snapshot loop (MetricSnapshot).
const (
	// SignalSyncNow carries a scorecard.SyncRequest: snapshot the current week now, at most
	// once per scorecard.SyncWindow.
	SignalSyncNow = "sync-now"
	// SignalSetSchedule carries a scorecard.ScheduleChange; it re-arms the snapshot timer.
	SignalSetSchedule = "set-schedule"
	// SignalOverride carries a scorecard.OverrideNote: a week's manual value was set or cleared.
	SignalOverride = "override"
	// QuerySnapshotState returns the loop's SnapshotState.
	QuerySnapshotState = "snapshot-state"
)

// Updates of a metric's snapshot loop: what people ask of it and need the outcome of. Their
// validators refuse what the loop cannot do without a trace in its history.
const (
	// UpdateSyncNow carries a scorecard.SyncRequest: snapshot the current week now. It
	// answers the scorecard.SnapshotResult, or fails with ErrWeekFrozen, ErrSyncTooSoon or
	// ErrMetricGone. (The signal of the same name stays for callers that do not wait.)
	UpdateSyncNow = "sync-now"
	// UpdateStopLoop carries a StopLoopRequest: the metric was deleted, the loop ends (its
	// workflow completes). It answers a LoopStopped once the loop has stopped.
	UpdateStopLoop = "stop"
)

// BillingCycleID names the usage-publish cycle of a tenant and period.
func BillingCycleID(tenantID string, period billing.Period) string {
	return "billing-cycle/" + tenantID + "/" + string(period)
}

// ClientPublishID names the publish of one backup client of a tenant and period ("publish
// now" of a client added mid-month). It is not the period's workflow ID, so it neither
// blocks nor is blocked by the month's publish, and a publish of one client never stands
// for the month's (see store.PeriodPublisher and the period claims).
func ClientPublishID(tenantID string, period billing.Period, clientID string) string {
	return BillingCycleID(tenantID, period) + "/client/" + clientID
}

// LicenceSyncID names the licence-sync cycle of a tenant and period.
func LicenceSyncID(tenantID string, period billing.Period) string {
	return "licence-sync/" + tenantID + "/" + string(period)
}

// CycleID names the cycle of a kind, tenant and period.
func CycleID(kind billing.Kind, tenantID string, period billing.Period) string {
	if kind == billing.LicenceSync {
		return LicenceSyncID(tenantID, period)
	}
	return BillingCycleID(tenantID, period)
}

// Workflow type names, as the worker registers the functions (for visibility queries).
const (
	WorkflowTypeScheduledCycle = "ScheduledCycle"
	WorkflowTypeMetricSnapshot = "MetricSnapshot"
)

// ReconcileScheduleID names the schedule that runs ReconcileCycles for the deployment
// working on taskQueue: each deployment reconciles its own database.
func ReconcileScheduleID(taskQueue string) string {
	if taskQueue == "" || taskQueue == TaskQueue {
		return "reconcile-cycles"
	}
	return "reconcile-cycles/" + taskQueue
}

// MetricSnapshotID names the snapshot loop of a metric.
func MetricSnapshotID(metricID string) string { return "metric-snapshot/" + metricID }

// Search attributes that make runs filterable in the Temporal UI, e.g.
// TenantID = "acme" AND CyclePhase = "approval".
var (
	TenantKey = temporal.NewSearchAttributeKeyKeyword("TenantID")
	PeriodKey = temporal.NewSearchAttributeKeyKeyword("BillingPeriod")
	KindKey   = temporal.NewSearchAttributeKeyKeyword("CycleKind")
	PhaseKey  = temporal.NewSearchAttributeKeyKeyword("CyclePhase")
)

// SearchAttributes lists the custom search attributes the namespace must have.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		TenantKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		PeriodKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		KindKey.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		PhaseKey.GetName():  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}
