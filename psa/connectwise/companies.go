package connectwise

import (
	"context"
	"strings"
)

const companiesPath = "/company/companies"

// Company is a ConnectWise company (a client of the MSP).
type Company struct {
	ID          int64  `json:"id"`
	Identifier  string `json:"identifier"`
	Name        string `json:"name"`
	Status      *Ref   `json:"status,omitempty"`
	DeletedFlag bool   `json:"deletedFlag,omitempty"`
	Info        Info   `json:"_info"`
}

// GetCompany reads one company; a missing one is a remote.NotFound error.
func (c *Client) GetCompany(ctx context.Context, id int64) (Company, error) {
	var co Company
	_, err := c.getJSON(ctx, itemPath(companiesPath, id), nil, &co)
	return co, err
}

// ListCompanies reads every company matching o.
func (c *Client) ListCompanies(ctx context.Context, o ListOptions) ([]Company, error) {
	return list[Company](ctx, c, companiesPath, o)
}

// CountCompanies counts the companies matching cond.
func (c *Client) CountCompanies(ctx context.Context, cond Condition) (int, error) {
	return c.count(ctx, companiesPath, cond)
}

// CompaniesByIdentifier reads the companies whose identifier is one of ids, keyed by the
// identifier as asked (identifiers compare case-insensitively, like the server's collation).
// Rows the server returns that do not match exactly are dropped, so a lenient condition
// parser cannot hand us a stranger's company. Unconfirmed: identifier case sensitivity.
func (c *Client) CompaniesByIdentifier(ctx context.Context, ids []string) (map[string][]Company, error) {
	out := map[string][]Company{}
	for _, chunk := range chunks(ids, inChunk) {
		rows, err := c.ListCompanies(ctx, ListOptions{Conditions: InStrings("identifier", chunk)})
		if err != nil {
			return nil, err
		}
		for _, co := range rows {
			for _, want := range chunk {
				if strings.EqualFold(co.Identifier, want) {
					out[want] = append(out[want], co)
				}
			}
		}
	}
	return out, nil
}

// CompanyByIdentifier reads the one company with that identifier: NotFound when there is
// none, Invalid when there are several.
func (c *Client) CompanyByIdentifier(ctx context.Context, identifier string) (Company, error) {
	m, err := c.CompaniesByIdentifier(ctx, []string{identifier})
	if err != nil {
		return Company{}, err
	}
	return exactlyOne(m[identifier], "GET "+companiesPath, "company", identifier)
}

// inChunk bounds `in (...)` lists so URLs stay far below common 8 KB limits.
const inChunk = 100

func chunks[T any](all []T, n int) [][]T {
	var out [][]T
	for len(all) > n {
		out = append(out, all[:n])
		all = all[n:]
	}
	if len(all) > 0 {
		out = append(out, all)
	}
	return out
}

func exactlyOne[T any](rows []T, op, what, key string) (T, error) {
	var zero T
	switch len(rows) {
	case 0:
		return zero, notFound(op, "no %s with identifier %q", what, key)
	case 1:
		return rows[0], nil
	default:
		return zero, invalid(op, "identifier", "%d records of %s share identifier %q", len(rows), what, key)
	}
}
