package autotask

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// ContractServiceUnit is the unit count of a contract service for one period. Rows are
// query-only; an adjustment inside a period splits it in two at the effective date.
type ContractServiceUnit struct {
	ID                               int64           `json:"id"`
	ContractID                       int64           `json:"contractID"`
	ContractServiceID                int64           `json:"contractServiceID"`
	ServiceID                        int64           `json:"serviceID"`
	StartDate                        DateTime        `json:"startDate"`
	EndDate                          DateTime        `json:"endDate"`
	Units                            decimal.Decimal `json:"units"`
	Price                            decimal.Decimal `json:"price"`
	Cost                             decimal.Decimal `json:"cost"`
	InternalCurrencyPrice            decimal.Decimal `json:"internalCurrencyPrice"`
	ApproveAndPostDate               DateTime        `json:"approveAndPostDate"`
	VendorCompanyID                  *int64          `json:"vendorCompanyID,omitempty"`
	OrganizationalLevelAssociationID *int64          `json:"organizationalLevelAssociationID,omitempty"`
}

// QueryContractServiceUnits returns every units row matching the filters.
func (c *Client) QueryContractServiceUnits(ctx context.Context, filters ...Filter) ([]ContractServiceUnit, error) {
	return queryAll[ContractServiceUnit](ctx, c, "ContractServiceUnits", filters...)
}

// UnitsOn returns, for each contract service, the units row in force on the given day.
// Services without such a row are absent from the map.
//
// Unconfirmed: that date filters accept "2006-01-02T15:04:05Z" (ISO 8601 UTC) values.
func (c *Client) UnitsOn(ctx context.Context, contractServiceIDs []int64, on time.Time) (map[int64]ContractServiceUnit, error) {
	d := day(on)
	out := make(map[int64]ContractServiceUnit, len(contractServiceIDs))
	for start := 0; start < len(contractServiceIDs); start += inChunk {
		part := contractServiceIDs[start:min(start+inChunk, len(contractServiceIDs))]
		rows, err := c.QueryContractServiceUnits(ctx,
			In("contractServiceID", part),
			Lte("startDate", formatTime(d)),
			Or(Gte("endDate", formatTime(d)), NotExist("endDate")),
		)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if !covers(r, d) {
				continue
			}
			if prev, ok := out[r.ContractServiceID]; !ok || r.StartDate.After(prev.StartDate.Time) {
				out[r.ContractServiceID] = r
			}
		}
	}
	return out, nil
}

// UnitRowsBetween returns, for each contract service, every units row that overlaps the
// days [from, until), in the order Autotask returns them. Services without such a row are
// absent from the map.
func (c *Client) UnitRowsBetween(ctx context.Context, contractServiceIDs []int64, from, until time.Time) (map[int64][]ContractServiceUnit, error) {
	from, until = day(from), day(until)
	out := make(map[int64][]ContractServiceUnit, len(contractServiceIDs))
	for start := 0; start < len(contractServiceIDs); start += inChunk {
		part := contractServiceIDs[start:min(start+inChunk, len(contractServiceIDs))]
		rows, err := c.QueryContractServiceUnits(ctx,
			In("contractServiceID", part),
			Lt("startDate", formatTime(until)),
			Or(Gte("endDate", formatTime(from)), NotExist("endDate")),
		)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ContractServiceID] = append(out[r.ContractServiceID], r)
		}
	}
	return out, nil
}

// covers reports whether a row can be the one in force on day d. The latest-starting row
// that covers d wins, which reads both conventions for endDate correctly: exclusive (a split
// row ends on the day the next one starts) and inclusive (a period ends on its last day).
//
// Unconfirmed: whether Autotask's endDate is inclusive or exclusive.
func covers(r ContractServiceUnit, d time.Time) bool {
	if r.StartDate.IsZero() || r.StartDate.After(d) {
		return false
	}
	return r.EndDate.IsZero() || !r.EndDate.Before(d)
}

// unitsOn reads one contract service's row in force on day d; none is a NotFound error.
func (c *Client) unitsOn(ctx context.Context, contractServiceID int64, d time.Time) (ContractServiceUnit, error) {
	rows, err := c.UnitsOn(ctx, []int64{contractServiceID}, d)
	if err != nil {
		return ContractServiceUnit{}, err
	}
	r, ok := rows[contractServiceID]
	if !ok {
		return ContractServiceUnit{}, notFound("GET units", noUnitsMessage(contractServiceID, d))
	}
	return r, nil
}

func noUnitsMessage(contractServiceID int64, d time.Time) string {
	return fmt.Sprintf("no ContractServiceUnits row covers %s for contract service %d: the contract service does not exist or its contract does not run that day",
		d.Format(time.DateOnly), contractServiceID)
}
