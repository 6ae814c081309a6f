package psa

import (
	"context"

	"github.com/shopspring/decimal"
)

// Catalog reads what a mapping can point at, in words people recognise, so a person can
// pick a target by typing part of a company's name instead of knowing PSA ids. It only
// reads, and it offers only what DescribeTarget would accept: a company's agreements
// (ConnectWise) or contracts (Autotask) that can still bill, and of those the additions or
// contract services that bill today.
//
// Failures are *remote.Error values as elsewhere: NotFound for an unknown or closed id,
// Credentials, RateLimited and Unavailable for the PSA itself.
type Catalog interface {
	// SearchCompanies finds the active companies whose name (or identifier) contains
	// q.Text, ignoring case as the PSA's collation does, one page at a time.
	SearchCompanies(ctx context.Context, q CompanyQuery) (CompanyPage, error)
	// BillableAgreements lists the company's agreements (Autotask: contracts) that can hold
	// a mapping, by name. An unknown company is a NotFound error.
	BillableAgreements(ctx context.Context, companyID int64) ([]Agreement, error)
	// BillableAdditions lists the agreement's additions (Autotask: the contract's services)
	// that bill today, with their current quantity. An unknown agreement, or one that can no
	// longer bill, is a NotFound error.
	BillableAdditions(ctx context.Context, agreementID int64) ([]Addition, error)
}

// CompanyQuery asks for one page of companies whose name contains Text.
type CompanyQuery struct {
	Text string
	// Page is 1-based.
	Page int
	// PageSize is the most companies on a page (1–500).
	PageSize int
}

// Company is a PSA company as a person picks it.
type Company struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Identifier is ConnectWise's company identifier (the Managed ID) or Autotask's
	// company number; Autotask companies often have none.
	Identifier string `json:"identifier"`
}

// CompanyPage is one page of a company search.
type CompanyPage struct {
	Companies []Company `json:"companies"`
	Page      int       `json:"page"`
	PageSize  int       `json:"page_size"`
	// HasMore is true when the PSA holds more matches after this page.
	HasMore bool `json:"has_more"`
}

// Agreement is an agreement (ConnectWise) or contract (Autotask) a mapping can point at.
type Agreement struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	Name      string `json:"name"`
	// Type is the agreement type's name ("Managed Services") or the contract type
	// ("Recurring Service").
	Type string `json:"type"`
	// StartDate and EndDate are dates (YYYY-MM-DD); EndDate is empty when the agreement
	// has no end.
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
}

// Addition is an agreement addition (ConnectWise) or contract service (Autotask) a mapping
// can point at, with what it bills today.
type Addition struct {
	ID          int64 `json:"id"`
	AgreementID int64 `json:"agreement_id"`
	ProductID   int64 `json:"product_id"`
	// Product is the catalog identifier ("BKP-GB") or the service's name.
	Product     string `json:"product"`
	Description string `json:"description"`
	// Quantity is what the PSA bills today.
	Quantity decimal.Decimal `json:"quantity"`
	// Unit is the product's unit of measure ("GB", "Each"); Autotask services have none.
	Unit string `json:"unit"`
	// WholeUnits is true when the PSA only holds integer quantities (Autotask).
	WholeUnits bool `json:"whole_units"`
}
