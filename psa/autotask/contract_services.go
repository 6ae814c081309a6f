package autotask

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"
)

// ContractService is a service on a contract. It does not hold the unit count: units live
// in ContractServiceUnits, one row per billing period.
type ContractService struct {
	ID                            int64               `json:"id"`
	ContractID                    int64               `json:"contractID"`
	ServiceID                     int64               `json:"serviceID"`
	UnitPrice                     decimal.Decimal     `json:"unitPrice"`
	UnitCost                      decimal.Decimal     `json:"unitCost"`
	InternalCurrencyUnitPrice     decimal.NullDecimal `json:"internalCurrencyUnitPrice"`
	InternalCurrencyAdjustedPrice decimal.NullDecimal `json:"internalCurrencyAdjustedPrice"`
	InvoiceDescription            string              `json:"invoiceDescription,omitempty"`
	InternalDescription           string              `json:"internalDescription,omitempty"`
	QuoteItemID                   *int64              `json:"quoteItemID,omitempty"`
}

// ContractService reads one contract service by id.
func (c *Client) ContractService(ctx context.Context, id int64) (ContractService, error) {
	return getByID[ContractService](ctx, c, "ContractServices", id)
}

// QueryContractServices returns every contract service matching the filters.
func (c *Client) QueryContractServices(ctx context.Context, filters ...Filter) ([]ContractService, error) {
	return queryAll[ContractService](ctx, c, "ContractServices", filters...)
}

// ContractServicesOf lists the services on one contract.
func (c *Client) ContractServicesOf(ctx context.Context, contractID int64) ([]ContractService, error) {
	return c.QueryContractServices(ctx, Eq("contractID", contractID))
}

// NewContractService is what adding a service to a contract needs.
type NewContractService struct {
	ServiceID          int64
	UnitPrice          decimal.Decimal
	UnitCost           decimal.Decimal
	InvoiceDescription string
}

// CreateContractService adds a service to a recurring service contract through the child
// path POST /Contracts/{id}/Services and returns its id. It is sent once, never retried: look
// the service up before calling again after an error.
func (c *Client) CreateContractService(ctx context.Context, contractID int64, s NewContractService) (int64, error) {
	// Prices travel as JSON numbers, which decimal.Decimal does not write by default.
	body := map[string]any{
		"contractID": contractID,
		"serviceID":  s.ServiceID,
		"unitPrice":  json.Number(s.UnitPrice.String()),
		"unitCost":   json.Number(s.UnitCost.String()),
	}
	if s.InvoiceDescription != "" {
		body["invoiceDescription"] = s.InvoiceDescription
	}
	return create(ctx, c, fmt.Sprintf("Contracts/%d/Services", contractID), body)
}
