package billing

// The inputs and results of the cycle's activities. Workflows and activities both speak
// them, so they live here rather than in either package. Payloads carry IDs and counts,
// never credentials or whole tables.

// Decision approves or removes pending items; it is the payload of the approve and reject
// signals and of the Decide activity.
type Decision struct {
	IDs     []int64 `json:"ids,omitempty"`
	All     bool    `json:"all,omitempty"`
	Approve bool    `json:"approve"`
	// Actor is the e-mail of the person (or "rule", "deadline") who decided.
	Actor string `json:"actor"`
}

// BeginInput opens a cycle's record.
type BeginInput struct {
	CycleID    string
	WorkflowID string
	TenantID   string
	Kind       Kind
	Period     Period
	Trigger    Trigger
	StartedBy  string
	// Clients, when set, limits a usage publish to these backup clients (publish now of one
	// client); empty publishes every client.
	Clients []string `json:",omitempty"`
}

// BeginResult is the tenant's settings as the cycle will use them, taken once at the start
// so a settings change mid-cycle does not change a running cycle's rules.
type BeginResult struct {
	// AlreadyPublishedBy is the ID of another cycle that already claimed this automatic
	// period; the cycle then ends as already published.
	AlreadyPublishedBy string
	Mode               string
	Approval           ApprovalPolicy
	TimeZone           string
	ReminderHours      int
	DeadlineHours      int
	DeadlineAction     string
	// Superseded lists older open licence cycles whose waiting items this cycle replaced;
	// the workflow tells them to finish.
	Superseded []CycleRef
}

// CycleRef addresses one cycle. Its workflow is addressed by WorkflowID alone (the current
// run, which survives resets and continue-as-new); CycleID says which cycle is meant, so a
// later cycle under the same workflow ID can tell a message is not for it. RunID is the
// cycle's first run ID, kept for histories recorded before CycleID existed.
type CycleRef struct {
	WorkflowID string
	RunID      string
	CycleID    string `json:",omitempty"`
}

// RefreshInput reads one page of vendor data and the PSA's current quantities.
type RefreshInput struct {
	CycleID  string
	TenantID string
	Kind     Kind
	Period   Period
	Mode     string
	Approval ApprovalPolicy
	Cursor   string
	SeqStart int
	PageSize int
}

// RefreshResult says what a page produced; Next is empty after the last page.
type RefreshResult struct {
	Next   string
	Items  int
	Counts Counts
}

// DecideInput applies a decision to a cycle's pending items.
type DecideInput struct {
	CycleID  string
	Decision Decision
}

// DecideResult is what a decision did (the DecideItems activity).
type DecideResult struct {
	// Changed counts the items the decision moved from pending.
	Changed int
	// AlreadyDecided counts the named items that were no longer pending.
	AlreadyDecided int
	// Counts are the cycle's counts after it.
	Counts Counts
}

// PushInput pushes one page of approved items to the PSA.
type PushInput struct {
	CycleID  string
	TenantID string
	Kind     Kind
	Period   Period
	PageSize int
}

// PushResult says what a page did; Done is true when no approved item is left.
type PushResult struct {
	Applied int
	Failed  int
	Done    bool
}

// FinishInput closes a cycle's record.
type FinishInput struct {
	CycleID string
	Status  Status // empty: derived from the item counts
	Error   string
}

// FinishResult is the closed cycle.
type FinishResult struct {
	Status Status
	Counts Counts
}

// Notice kinds.
const (
	NoticeFinished = "finished"
	NoticeReminder = "reminder"
	NoticeDeadline = "deadline"
)

// NotifyInput sends the tenant's recipients a message about a cycle.
type NotifyInput struct {
	CycleID  string
	TenantID string
	Notice   string
	// Reminder numbers a reminder (1, 2, …, MaxReminders); the last one says so.
	Reminder int `json:",omitempty"`
}

// MaxReminders bounds the reminders one cycle sends: after this many the cycle waits in
// silence (the dashboard still shows it overdue).
const MaxReminders = 10

// MarkInput records a running cycle's status and phase.
type MarkInput struct {
	CycleID string
	Status  Status
	Phase   Phase
}

// SupersedeInput tells a cycle that a newer refresh replaced what it waited for.
type SupersedeInput struct {
	By     string // the newer cycle's ID
	Period Period
	// Cycle is the superseded cycle's ID: a cycle that is not it ignores the signal (a later
	// cycle under the same workflow ID). Empty in signals sent before it existed.
	Cycle string `json:",omitempty"`
}

// OrphanedCycle is a cycle whose record is open while its workflow has ended outside
// workflow code (terminated, timed out, history limit); the reconciler closes it.
type OrphanedCycle struct {
	CycleID    string
	TenantID   string
	WorkflowID string
	Kind       Kind
	// Reason is how the workflow ended, as people read it.
	Reason string
}

// DeadlineInput applies the approval deadline's action to a cycle's pending items.
type DeadlineInput struct {
	CycleID  string
	Approval ApprovalPolicy
	// Action is "apply_rule_skip_rest": approve what the rule allows, remove the rest.
	Action string
}
