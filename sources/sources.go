// Package sources defines what meterbridge reads from vendors: backup storage usage per
// client, licence counts per account, and gauge values. Each vendor lives in its own package
// implementing these interfaces; activities use the interfaces only.
//
// Failures are *remote.Error values, classified as for PSA calls.
package sources

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Kind names a vendor connection of a tenant.
type Kind string

const (
	Backup   Kind = "backup"
	Licenses Kind = "licenses"
	Gauges   Kind = "gauges"
)

// Valid reports whether k is a known source kind.
func (k Kind) Valid() bool { return k == Backup || k == Licenses || k == Gauges }

// ClientUsage is one backup client's billable storage for a month.
type ClientUsage struct {
	// ClientID is the vendor's ID of the client (stable across months).
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	// ManagedID is the identifier the MSP set up to find the client's company in the PSA.
	ManagedID  string          `json:"managed_id"`
	BillableGB decimal.Decimal `json:"billable_gb"`
}

// UsagePage is one page of usage; Next is empty after the last page.
type UsagePage struct {
	Clients []ClientUsage
	Next    string
}

// BackupUsage reads backup storage usage.
type BackupUsage interface {
	// Usage returns one page of clients' usage for the month. cursor is "" for the first page
	// and then the previous page's Next.
	Usage(ctx context.Context, year int, month time.Month, cursor string) (UsagePage, error)
	Check(ctx context.Context) error
}

// LicenceCount is the number of units of one licence type on one vendor account.
type LicenceCount struct {
	AccountID   string          `json:"account_id"`
	AccountName string          `json:"account_name"`
	LicenceType string          `json:"licence_type"` // e.g. "server", "desktop", "cloud_gb"
	Units       decimal.Decimal `json:"units"`
}

// LicencePage is one page of counts; Next is empty after the last page.
type LicencePage struct {
	Counts []LicenceCount
	Next   string
}

// Licences reads licence counts from a licence portal.
type Licences interface {
	Counts(ctx context.Context, cursor string) (LicencePage, error)
	Check(ctx context.Context) error
}

// GaugeReading is a gauge's value at a moment.
type GaugeReading struct {
	GaugeID string          `json:"gauge_id"`
	Value   decimal.Decimal `json:"value"`
	At      time.Time       `json:"at"`
}

// GaugeValues reads dashboard gauges.
type GaugeValues interface {
	Gauge(ctx context.Context, gaugeID string) (GaugeReading, error)
	Check(ctx context.Context) error
}
