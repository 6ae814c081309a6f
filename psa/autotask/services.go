package autotask

import (
	"context"

	"github.com/shopspring/decimal"
)

// Service is a catalog entry for a recurring service ("Backup Storage GB").
type Service struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	UnitPrice   decimal.Decimal `json:"unitPrice"`
	UnitCost    decimal.Decimal `json:"unitCost"`
	IsActive    bool            `json:"isActive"`
}

// Service reads one service by id.
func (c *Client) Service(ctx context.Context, id int64) (Service, error) {
	return getByID[Service](ctx, c, "Services", id)
}

// QueryServices returns every service matching the filters.
func (c *Client) QueryServices(ctx context.Context, filters ...Filter) ([]Service, error) {
	return queryAll[Service](ctx, c, "Services", filters...)
}
