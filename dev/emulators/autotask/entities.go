package autotask

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Time is an Autotask date-time: UTC, written "2006-01-02T15:04:05Z", null when zero.
type Time struct{ time.Time }

// MarshalJSON writes UTC seconds, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05Z"))
}

// UnmarshalJSON reads RFC 3339, zone-less timestamps (as UTC) and bare dates.
func (t *Time) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		t.Time = time.Time{}
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("date-time must be a string, got %s", s)
	}
	v, ok := parseTime(str)
	if !ok {
		return fmt.Errorf("date-time %q is not in a known format", str)
	}
	t.Time = v
	return nil
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(l, s); err == nil {
			return v.UTC(), true
		}
	}
	return time.Time{}, false
}

// Money is a decimal amount that travels as a JSON number, as Autotask sends prices.
type Money struct{ decimal.Decimal }

// MarshalJSON writes a bare number.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.Decimal.String()), nil }

// UnmarshalJSON reads a number (or a numeric string).
func (m *Money) UnmarshalJSON(b []byte) error { return m.Decimal.UnmarshalJSON(b) }

// M is shorthand for a Money from a string, for fixtures.
func M(s string) Money { return Money{decimal.RequireFromString(s)} }

// Company is an Autotask company row.
type Company struct {
	ID            int64  `json:"id"`
	CompanyName   string `json:"companyName"`
	CompanyNumber string `json:"companyNumber"`
	// CompanyType 1 is Customer.
	CompanyType int    `json:"companyType"`
	IsActive    bool   `json:"isActive"`
	Phone       string `json:"phone"`
	City        string `json:"city"`
	CreateDate  Time   `json:"createDate"`
}

// Contract is an Autotask contract row.
type Contract struct {
	ID           int64  `json:"id"`
	ContractName string `json:"contractName"`
	CompanyID    int64  `json:"companyID"`
	// ContractType 7 is Recurring Service, the only type with contract services.
	ContractType      int  `json:"contractType"`
	ContractCategory  int  `json:"contractCategory"`
	Status            int  `json:"status"` // 1 active
	StartDate         Time `json:"startDate"`
	EndDate           Time `json:"endDate"`
	IsDefaultContract bool `json:"isDefaultContract"`
}

// Service is a recurring-service catalog row.
type Service struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	UnitPrice   Money  `json:"unitPrice"`
	UnitCost    Money  `json:"unitCost"`
	IsActive    bool   `json:"isActive"`
}

// ContractService is a service on a contract; it holds no units.
type ContractService struct {
	ID                            int64  `json:"id"`
	ContractID                    int64  `json:"contractID"`
	ServiceID                     int64  `json:"serviceID"`
	UnitPrice                     Money  `json:"unitPrice"`
	UnitCost                      Money  `json:"unitCost"`
	InternalCurrencyUnitPrice     Money  `json:"internalCurrencyUnitPrice"`
	InternalCurrencyAdjustedPrice Money  `json:"internalCurrencyAdjustedPrice"`
	InvoiceDescription            string `json:"invoiceDescription"`
	InternalDescription           string `json:"internalDescription"`
	QuoteItemID                   *int64 `json:"quoteItemID"`
}

// ContractServiceUnit is the units of a contract service over [StartDate, EndDate).
//
// The model, as Autotask documents it: each billing period of a recurring service contract
// has one units row per contract service, unless the units were adjusted inside the period.
// A ContractServiceAdjustment is a signed change of units from its effective date: a new row
// starts that day, and the row before it ends there; the change carries into every later
// period (emulated; Autotask's text speaks of the period it falls in). Rows cannot be
// written, only read, and adjustments cannot be read, only created. So "the units" of a
// service are a function of the day: meterbridge reads, adjusts and reads back as of one day
// per item, and a person's adjustment dated later in the month shows as a later row — one
// more step to correct, not a change of the day meterbridge read. A service added to a running
// contract has no row before the day it was added.
type ContractServiceUnit struct {
	ID                               int64  `json:"id"`
	ContractID                       int64  `json:"contractID"`
	ContractServiceID                int64  `json:"contractServiceID"`
	ServiceID                        int64  `json:"serviceID"`
	StartDate                        Time   `json:"startDate"`
	EndDate                          Time   `json:"endDate"`
	Units                            int64  `json:"units"`
	Price                            Money  `json:"price"`
	Cost                             Money  `json:"cost"`
	InternalCurrencyPrice            Money  `json:"internalCurrencyPrice"`
	ApproveAndPostDate               Time   `json:"approveAndPostDate"`
	VendorCompanyID                  *int64 `json:"vendorCompanyID"`
	OrganizationalLevelAssociationID *int64 `json:"organizationalLevelAssociationID"`
}

// Adjustment is a ContractServiceAdjustment the emulator accepted. Autotask does not let
// them be read back; the emulator keeps them for tests and /_emulator/state.
type Adjustment struct {
	ID                 int64  `json:"id"`
	ContractID         int64  `json:"contractID"`
	ContractServiceID  int64  `json:"contractServiceID"`
	ServiceID          int64  `json:"serviceID"`
	UnitChange         int64  `json:"unitChange"`
	EffectiveDate      Time   `json:"effectiveDate"`
	AdjustedUnitPrice  *Money `json:"adjustedUnitPrice"`
	AdjustedUnitCost   *Money `json:"adjustedUnitCost"`
	AllowRepeatService bool   `json:"allowRepeatService"`
	QuoteItemID        *int64 `json:"quoteItemID"`
}
