package connectwise

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

var _ psa.Catalog = (*Client)(nil)

// companyStatusInactive is the status ConnectWise gives companies that are no longer
// clients. Unconfirmed: status names are the MSP's own list; a site that renamed its
// inactive status sees those companies offered too (they are still real companies).
const companyStatusInactive = "Inactive"

// SearchCompanies reads one page of companies whose name or identifier contains q.Text,
// by name, with `contains` conditions, orderBy and the API's own page and pageSize; a
// Link rel="next" on the answer means more pages follow. Deleted companies and companies
// whose status is Inactive are left out by the conditions, so pages stay full.
// Unconfirmed: that `contains` ignores case; SQL Server's default collation does, and
// the emulator follows it.
func (c *Client) SearchCompanies(ctx context.Context, q psa.CompanyQuery) (psa.CompanyPage, error) {
	op := http.MethodGet + " " + companiesPath
	switch {
	case strings.TrimSpace(q.Text) == "":
		return psa.CompanyPage{}, invalid(op, "q", "a name fragment is required")
	case q.Page < 1:
		return psa.CompanyPage{}, invalid(op, "page", "page must be 1 or more")
	case q.PageSize < 1 || q.PageSize > DefaultPageSize:
		return psa.CompanyPage{}, invalid(op, "page_size", "page size must be 1–%d", DefaultPageSize)
	}
	text := strings.TrimSpace(q.Text)
	rows, more, err := listPage[Company](ctx, c, companiesPath, ListOptions{
		Conditions: And(
			Or(Contains("name", text), Contains("identifier", text)),
			Eq("deletedFlag", false),
			Ne("status/name", companyStatusInactive),
		),
		OrderBy:  Order{Field: "name"},
		Fields:   []string{"id", "identifier", "name"},
		PageSize: q.PageSize,
	}, q.Page)
	if err != nil {
		return psa.CompanyPage{}, fmt.Errorf("search companies: %w", err)
	}
	out := psa.CompanyPage{Companies: make([]psa.Company, 0, len(rows)), Page: q.Page, PageSize: q.PageSize, HasMore: more}
	for _, co := range rows {
		out.Companies = append(out.Companies, psa.Company{ID: co.ID, Name: co.Name, Identifier: co.Identifier})
	}
	return out, nil
}

// BillableAgreements lists the company's agreements that can hold a mapping, by name.
//
// An agreement qualifies when it belongs to the company, is not cancelled (cancelledFlag,
// or status Cancelled), has not ended (status Expired, or an end date before today without
// noEndingDateFlag) and has at least one addition that is not cancelled today — a mapping
// points at an addition, so an agreement without one cannot hold it. Agreements whose
// status is Inactive and agreements that start later are offered: DescribeTarget accepts
// them, and their additions bill once they start. This costs one company read, one
// agreements listing and one additions count per open agreement.
func (c *Client) BillableAgreements(ctx context.Context, companyID int64) ([]psa.Agreement, error) {
	co, err := c.GetCompany(ctx, companyID)
	if err != nil {
		return nil, fmt.Errorf("company %d: %w", companyID, err)
	}
	if co.DeletedFlag {
		return nil, notFound("GET "+itemPath(companiesPath, companyID), "company %d is deleted", companyID)
	}
	rows, err := c.ListAgreements(ctx, ListOptions{
		Conditions: And(Eq("company/id", companyID), Eq("cancelledFlag", false)),
		OrderBy:    Order{Field: "name"},
	})
	if err != nil {
		return nil, fmt.Errorf("agreements of company %d: %w", companyID, err)
	}
	now := c.now()
	var out []psa.Agreement
	for _, a := range rows {
		if a.Company.ID != companyID || a.unbillable(now) != "" {
			continue
		}
		n, err := c.CountAdditions(ctx, a.ID, openAdditions(now))
		if remote.KindOf(err) == remote.NotFound {
			continue // deleted between the two calls
		}
		if err != nil {
			return nil, fmt.Errorf("additions of agreement %d: %w", a.ID, err)
		}
		if n == 0 {
			continue
		}
		out = append(out, psa.Agreement{ID: a.ID, CompanyID: a.Company.ID, Name: a.Name, Type: a.Type.Name,
			StartDate: dateOf(a.StartDate), EndDate: endDateOf(a)})
	}
	return out, nil
}

// BillableAdditions lists the agreement's additions that are not cancelled today, by
// product identifier, with each product's description and unit of measure from the
// procurement catalog (read with `id in (...)`, not one call per product).
func (c *Client) BillableAdditions(ctx context.Context, agreementID int64) ([]psa.Addition, error) {
	op := "GET " + itemPath(agreementsPath, agreementID)
	a, err := c.GetAgreement(ctx, agreementID)
	if err != nil {
		return nil, fmt.Errorf("agreement %d: %w", agreementID, err)
	}
	now := c.now()
	if why := a.unbillable(now); why != "" {
		return nil, notFound(op, "agreement %d is %s", agreementID, why)
	}
	adds, err := c.ListAdditions(ctx, agreementID, ListOptions{Conditions: openAdditions(now)})
	if err != nil {
		return nil, fmt.Errorf("additions of agreement %d: %w", agreementID, err)
	}
	var productIDs []int64
	seen := map[int64]bool{}
	for _, ad := range adds {
		if id := ad.Product.ID; id > 0 && !seen[id] {
			seen[id] = true
			productIDs = append(productIDs, id)
		}
	}
	products := map[int64]CatalogItem{}
	for _, chunk := range chunks(productIDs, inChunk) {
		items, err := c.ListCatalogItems(ctx, ListOptions{Conditions: InInts("id", chunk)})
		if err != nil {
			return nil, fmt.Errorf("products of agreement %d: %w", agreementID, err)
		}
		for _, it := range items {
			products[it.ID] = it
		}
	}
	out := make([]psa.Addition, 0, len(adds))
	for _, ad := range adds {
		if ad.CancelledBy(now) || (ad.AgreementID != 0 && ad.AgreementID != agreementID) {
			continue
		}
		item := products[ad.Product.ID]
		add := psa.Addition{ID: ad.ID, AgreementID: agreementID, ProductID: ad.Product.ID,
			Product: cmp.Or(ad.Product.Identifier, item.Identifier), Description: cmp.Or(item.Description, ad.Description),
			Quantity: ad.Quantity.Decimal}
		if item.UnitOfMeasure != nil {
			add.Unit = item.UnitOfMeasure.Name
		}
		out = append(out, add)
	}
	slices.SortStableFunc(out, func(x, y psa.Addition) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.Product), strings.ToLower(y.Product)), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}

// unbillable says why no mapping can be made on the agreement ("" when one can): what
// closed refuses, and an end date already past.
func (a Agreement) unbillable(now time.Time) string {
	if why := a.closed(); why != "" {
		return why
	}
	if !a.NoEndingDateFlag && !a.EndDate.IsZero() && a.EndDate.Before(startOfDay(now)) {
		return "ended on " + a.EndDate.Format(time.DateOnly)
	}
	return ""
}

// openAdditions matches additions not cancelled by now: no cancelledDate, or one still
// ahead.
func openAdditions(now time.Time) Condition {
	return Or(Eq("cancelledDate", nil), Gt("cancelledDate", now.UTC().Truncate(time.Second)))
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func dateOf(t Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func endDateOf(a Agreement) string {
	if a.NoEndingDateFlag {
		return ""
	}
	return dateOf(a.EndDate)
}

// listPage reads one page of path: the rows and whether a Link rel="next" says more
// follow. Unlike list it does not walk on, so a person's page N costs one request.
// Unconfirmed: a server that caps pageSize below o.PageSize would shift page boundaries;
// the documented cap is 1000 and callers stay below it.
func listPage[T any](ctx context.Context, c *Client, path string, o ListOptions, page int) ([]T, bool, error) {
	op := http.MethodGet + " " + path
	q, err := o.query()
	if err != nil {
		return nil, false, invalid(op, "conditions", "%v", err)
	}
	q.Set("page", strconv.Itoa(page))
	var rows []T
	resp, err := c.getJSON(ctx, path, q, &rows)
	if err != nil {
		return nil, false, err
	}
	_, more := ParseLink(resp.Header.Values("Link"))["next"]
	return rows, more && len(rows) > 0, nil
}
