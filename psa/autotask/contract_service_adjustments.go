package autotask

import "context"

// ContractServiceAdjustment changes a contract service's units by a signed whole number from
// an effective date on. Autotask lets adjustments be created only: they cannot be read,
// changed or deleted, so an adjustment is undone by creating the opposite one.
type ContractServiceAdjustment struct {
	ContractID        int64    `json:"contractID"`
	ContractServiceID int64    `json:"contractServiceID,omitempty"`
	ServiceID         int64    `json:"serviceID,omitempty"`
	UnitChange        int64    `json:"unitChange"`
	EffectiveDate     DateTime `json:"effectiveDate"`
	// AllowRepeatService permits adding a service the contract already has (only when
	// ContractServiceID is empty and the adjustment creates the contract service).
	AllowRepeatService bool `json:"allowRepeatService,omitempty"`
}

// CreateContractServiceAdjustment posts the adjustment to POST /v1.0/ContractServiceAdjustments
// once and returns Autotask's itemId (0 when the response did not carry one).
// Unconfirmed: whether Autotask returns a usable itemId for an entity it cannot read back. It is never
// retried: after an error, read the units to learn whether it landed (SetQuantity does).
//
// The top-level path is used rather than the child path /Contracts/{id}/ServiceAdjustments
// because the published spec lists it and the body already names the contract.
//
// Prices are left out on purpose: the adjustment changes units only.
// Unconfirmed: that Autotask keeps the current unit price and cost when adjustedUnitPrice
// and adjustedUnitCost are omitted.
func (c *Client) CreateContractServiceAdjustment(ctx context.Context, a ContractServiceAdjustment) (int64, error) {
	a.EffectiveDate = DateTime{day(a.EffectiveDate.Time)}
	if a.EffectiveDate.IsZero() {
		a.EffectiveDate = DateTime{c.today()}
	}
	return create(ctx, c, "ContractServiceAdjustments", a)
}
