package autotask

import "context"

// Company is an Autotask company (a client of the MSP, or the MSP itself).
type Company struct {
	ID            int64    `json:"id"`
	CompanyName   string   `json:"companyName"`
	CompanyNumber string   `json:"companyNumber,omitempty"`
	CompanyType   int      `json:"companyType,omitempty"`
	IsActive      bool     `json:"isActive"`
	Phone         string   `json:"phone,omitempty"`
	City          string   `json:"city,omitempty"`
	CreateDate    DateTime `json:"createDate"`
}

// Company reads one company by id.
func (c *Client) Company(ctx context.Context, id int64) (Company, error) {
	return getByID[Company](ctx, c, "Companies", id)
}

// QueryCompanies returns every company matching the filters.
func (c *Client) QueryCompanies(ctx context.Context, filters ...Filter) ([]Company, error) {
	return queryAll[Company](ctx, c, "Companies", filters...)
}

// CompaniesPage returns at most max companies matching the filters, without paging on.
func (c *Client) CompaniesPage(ctx context.Context, max int, filters ...Filter) ([]Company, error) {
	return queryFirst[Company](ctx, c, "Companies", max, filters...)
}

// CountCompanies counts the companies matching the filters.
func (c *Client) CountCompanies(ctx context.Context, filters ...Filter) (int64, error) {
	return count(ctx, c, "Companies", filters...)
}
