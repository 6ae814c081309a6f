package autotask

import "context"

// ContractTypeRecurringService is the contract type that holds recurring services with units.
const ContractTypeRecurringService = 7

// Contract is an Autotask contract of a company. It holds the fields meterbridge reads;
// contractPeriodType is left out: nothing uses it, and it is an integer picklist in
// Autotask, so the string field it was would have failed to decode real rows.
// Unconfirmed: its integer type (a public client's types say so; the emulator does not
// store the field, and entityInformation/fields says which fields it does).
type Contract struct {
	ID                int64    `json:"id"`
	ContractName      string   `json:"contractName"`
	CompanyID         int64    `json:"companyID"`
	ContractType      int      `json:"contractType"`
	ContractCategory  int      `json:"contractCategory,omitempty"`
	Status            int      `json:"status"`
	StartDate         DateTime `json:"startDate"`
	EndDate           DateTime `json:"endDate"`
	IsDefaultContract bool     `json:"isDefaultContract"`
}

// Contract reads one contract by id.
func (c *Client) Contract(ctx context.Context, id int64) (Contract, error) {
	return getByID[Contract](ctx, c, "Contracts", id)
}

// QueryContracts returns every contract matching the filters.
func (c *Client) QueryContracts(ctx context.Context, filters ...Filter) ([]Contract, error) {
	return queryAll[Contract](ctx, c, "Contracts", filters...)
}

// contractsByID reads the given contracts in as few queries as the in-list limit allows.
func (c *Client) contractsByID(ctx context.Context, ids []int64) (map[int64]Contract, error) {
	out := make(map[int64]Contract, len(ids))
	for start := 0; start < len(ids); start += inChunk {
		part := ids[start:min(start+inChunk, len(ids))]
		rows, err := c.QueryContracts(ctx, In("id", part))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ID] = r
		}
	}
	return out, nil
}
