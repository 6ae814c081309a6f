// Package psa defines what meterbridge needs from a professional-services-automation
// product (ConnectWise PSA, Autotask PSA). Activities use these interfaces only; adding a PSA
// means one new package that implements them, with no change to workflows.
//
// Failures are *remote.Error values: remote.Credentials fails a whole run fast,
// remote.NotFound and remote.Invalid fail one item, remote.RateLimited and
// remote.Unavailable are retried.
package psa

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Kind names a PSA product.
type Kind string

const (
	ConnectWise Kind = "connectwise"
	Autotask    Kind = "autotask"
)

// Valid reports whether k is a PSA meterbridge supports.
func (k Kind) Valid() bool { return k == ConnectWise || k == Autotask }

// DatedQuantities reports whether the PSA's quantities are dated, so a change can be limited
// to a range of days (Change.Keep): Autotask's contract service units are; a ConnectWise
// agreement addition holds one current quantity.
func (k Kind) DatedQuantities() bool { return k == Autotask }

// Target locates one billed quantity in a PSA.
//   - ConnectWise: company → agreement → agreement addition.
//   - Autotask: company → contract → contract service (its units live in ContractServiceUnits).
type Target struct {
	CompanyID   int64 `json:"company_id"`
	AgreementID int64 `json:"agreement_id"`
	AdditionID  int64 `json:"addition_id"`
}

// TargetInfo describes a target in words people recognise, and proves that it exists.
type TargetInfo struct {
	Target        Target `json:"target"`
	CompanyName   string `json:"company_name"`
	AgreementName string `json:"agreement_name"`
	// Product is the catalog item / service the addition bills, e.g. "BKP-GB".
	Product string `json:"product"`
	// WholeUnits is true when the PSA only stores integer quantities (Autotask).
	WholeUnits bool `json:"whole_units"`
}

// Reading is the quantity of one target as of a day, or why it could not be read.
type Reading struct {
	Target   Target
	Quantity decimal.Decimal
	// AsOf is the day Quantity is in force on, and the day a change to the target should
	// apply from: the day asked for, or — for a PSA whose quantities are dated (Autotask) and
	// a target that only starts billing later in that month — the day it starts. Zero when
	// the PSA's quantities are not dated (ConnectWise changes an addition in place).
	AsOf time.Time
	Err  error // an item-level *remote.Error; nil when Quantity is valid
}

// Change asks for one target to hold an absolute quantity.
type Change struct {
	Target   Target
	Quantity decimal.Decimal
	// Effective is the day the new quantity applies from (UTC midnight): the Reading.AsOf of
	// the quantity the change was computed from, so what is read, written and read back all
	// refer to the same day.
	Effective time.Time
	// Until, when after Effective, is the first day the quantity no longer has to hold. A PSA
	// with dated quantities makes every day from Effective up to Until hold Quantity, however
	// other changes dated inside that range (a person adjusting units mid-month) left it; days
	// from Until on move by the same difference as the last of them, unless Keep is set.
	// Zero: Effective alone.
	Until time.Time
	// Keep, when valid, limits the change to [Effective, Until): afterwards the day Until
	// (and so every later day) holds Keep — what it held before the change, read by the
	// caller — and the read-back checks it too. It is how a past period is published after
	// a later one without changing the later one. A PSA without dated quantities (see
	// Kind.DatedQuantities) refuses it as Invalid.
	Keep decimal.NullDecimal
	// Marker identifies the change (tenant, period, item) so a write whose response was lost
	// can be recognised before it is repeated. Clients store it where the PSA allows.
	Marker string
}

// Applied is what the PSA holds after a change, read back from it.
type Applied struct {
	Quantity decimal.Decimal
	// Reference names what the PSA created, when the change created something (an Autotask
	// ContractServiceAdjustment); it lets a change be reversed.
	Reference string
}

// Quantities reads and writes billed quantities. Writes set absolute values, so repeating a
// write leaves the PSA as one write would.
type Quantities interface {
	// ReadQuantities reads each target's quantity as of the day `on` (UTC midnight; zero
	// means today), and says in Reading.AsOf which day it read. A target that cannot be read
	// gets its own Reading.Err; the returned error is for failures of the whole call
	// (credentials, service down).
	ReadQuantities(ctx context.Context, targets []Target, on time.Time) ([]Reading, error)
	// SetQuantity makes the target hold c.Quantity and returns what reading it back gave.
	SetQuantity(ctx context.Context, c Change) (Applied, error)
}

// BackupStats is the basic publish record: billable backup space for one month.
type BackupStats struct {
	BillableSpaceGB decimal.Decimal `json:"billable_space_gb"`
	Year            int             `json:"year"`
	Month           int             `json:"month"`
}

// BackupStatsReading is the record a Managed ID currently holds, or why it could not be read.
type BackupStatsReading struct {
	ManagedID string
	Stats     BackupStats
	// Exists is false when the company has no record yet (a first publish).
	Exists bool
	Err    error // item-level *remote.Error (for example NotFound for a wrong Managed ID)
}

// BackupStatsLayout names where a company's basic-mode record lives: the configuration type
// that holds "Backup Stats" records, and the questions of that type the figures are
// answered in. A question left empty is not written; the figure then lives only in the
// configuration's own backup fields, which are always written too.
type BackupStatsLayout struct {
	ConfigurationType     string
	BillableSpaceQuestion string
	YearQuestion          string
	MonthQuestion         string
}

// BackupStatsWriter publishes basic-mode records (ConnectWise only). A layout the PSA does
// not have (no such configuration type, or a question the type lacks) fails the whole call
// as Invalid, naming the setting; a wrong Managed ID fails only its own reading or write.
type BackupStatsWriter interface {
	// DescribeManagedID returns the company a Managed ID names: NotFound when none does,
	// Invalid when it cannot be one or several companies have it.
	DescribeManagedID(ctx context.Context, managedID string) (Company, error)
	ReadBackupStats(ctx context.Context, layout BackupStatsLayout, managedIDs []string) ([]BackupStatsReading, error)
	WriteBackupStats(ctx context.Context, layout BackupStatsLayout, managedID string, s BackupStats) (BackupStats, error)
}

// Directory looks targets up so mappings can be checked when they are made.
type Directory interface {
	// DescribeTarget returns the target's names, or a NotFound/Invalid *remote.Error when it
	// cannot be billed (for example an Autotask contract without that service).
	DescribeTarget(ctx context.Context, t Target) (TargetInfo, error)
}

// CheckResult is what a connection test found.
type CheckResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	// Details lists each step tried, e.g. "codebase v2025_1/ found", "companies readable".
	Details []string `json:"details,omitempty"`
}

// Client is a configured connection to one tenant's PSA.
type Client interface {
	Quantities
	Directory
	Catalog
	Kind() Kind
	// Check performs cheap reads with the credentials and changes nothing.
	Check(ctx context.Context) CheckResult
}
