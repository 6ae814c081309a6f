package autotask

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/psa"
)

var _ psa.Catalog = (*Client)(nil)

// ContractStatusActive is the contract status picklist value of an active contract.
const ContractStatusActive = 1

// SearchCompanies reads one page of active companies whose name or company number contains
// q.Text. Autotask's query has no sort and no page number: rows come in id order, a page is
// at most MaxRecords rows, and nextPageUrl leads on. Page N is therefore read as the first
// N×size rows — one request while that is at most 500, following nextPageUrl beyond — and
// its last size rows are kept; HasMore is whether rows were left unread.
// Unconfirmed: that `contains` ignores case (SQL Server's usual collation; the emulator
// follows it).
func (c *Client) SearchCompanies(ctx context.Context, q psa.CompanyQuery) (psa.CompanyPage, error) {
	op := "POST /v1.0/Companies/query"
	text := strings.TrimSpace(q.Text)
	switch {
	case text == "":
		return psa.CompanyPage{}, invalid(op, "q", "a name fragment is required")
	case q.Page < 1:
		return psa.CompanyPage{}, invalid(op, "page", "page must be 1 or more")
	case q.PageSize < 1 || q.PageSize > MaxPageSize:
		return psa.CompanyPage{}, invalid(op, "page_size", fmt.Sprintf("page size must be 1–%d", MaxPageSize))
	}
	skip := (q.Page - 1) * q.PageSize
	want := skip + q.PageSize
	var rows []Company
	query := Query{
		Filter: []Filter{
			Or(Contains("companyName", text), Contains("companyNumber", text)),
			Eq("isActive", true),
		},
		IncludeFields: []string{"id", "companyName", "companyNumber", "isActive"},
		MaxRecords:    min(want, MaxPageSize),
	}
	more, err := queryPages(ctx, c, "Companies", query, func(items []Company) bool {
		rows = append(rows, items...)
		return len(rows) < want
	})
	if err != nil {
		return psa.CompanyPage{}, fmt.Errorf("search companies: %w", err)
	}
	if len(rows) > want {
		rows, more = rows[:want], true
	}
	out := psa.CompanyPage{Companies: []psa.Company{}, Page: q.Page, PageSize: q.PageSize, HasMore: more}
	if skip < len(rows) {
		for _, co := range rows[skip:] {
			out.Companies = append(out.Companies, psa.Company{ID: co.ID, Name: co.CompanyName, Identifier: co.CompanyNumber})
		}
	}
	return out, nil
}

// BillableAgreements lists the company's contracts that can hold a mapping, by name: active
// (status 1) Recurring Service contracts (the only type with contract services) that have
// not ended and have at least one contract service with a ContractServiceUnits row covering
// today — what DescribeTarget accepts. A contract without services is not offered.
func (c *Client) BillableAgreements(ctx context.Context, companyID int64) ([]psa.Agreement, error) {
	if _, err := c.Company(ctx, companyID); err != nil {
		return nil, err
	}
	today := c.today()
	contracts, err := c.QueryContracts(ctx,
		Eq("companyID", companyID),
		Eq("contractType", ContractTypeRecurringService),
		Eq("status", ContractStatusActive),
		Gte("endDate", formatTime(today)),
	)
	if err != nil {
		return nil, fmt.Errorf("contracts of company %d: %w", companyID, err)
	}
	byID := map[int64]Contract{}
	var ids []int64
	for _, k := range contracts {
		if k.CompanyID == companyID && k.unbillable(today) == "" {
			byID[k.ID] = k
			ids = append(ids, k.ID)
		}
	}
	billing, err := c.billingServices(ctx, ids, today)
	if err != nil {
		return nil, err
	}
	var out []psa.Agreement
	for _, id := range ids {
		if len(billing[id]) == 0 {
			continue
		}
		k := byID[id]
		out = append(out, psa.Agreement{ID: k.ID, CompanyID: k.CompanyID, Name: k.ContractName,
			Type:      c.picklistLabel(ctx, "Contracts", "contractType", k.ContractType, contractTypeName(k.ContractType)),
			StartDate: dateOnly(k.StartDate), EndDate: dateOnly(k.EndDate)})
	}
	slices.SortStableFunc(out, func(x, y psa.Agreement) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}

// BillableAdditions lists the contract's services that bill today, by service name, with
// the units in force today and the service's name and description from Services.
func (c *Client) BillableAdditions(ctx context.Context, contractID int64) ([]psa.Addition, error) {
	op := fmt.Sprintf("GET /v1.0/Contracts/%d", contractID)
	k, err := c.Contract(ctx, contractID)
	if err != nil {
		return nil, err
	}
	today := c.today()
	if why := k.unbillable(today); why != "" {
		return nil, notFound(op, fmt.Sprintf("contract %d %s", contractID, why))
	}
	billing, err := c.billingServices(ctx, []int64{contractID}, today)
	if err != nil {
		return nil, err
	}
	rows := billing[contractID]
	var serviceIDs []int64
	for _, r := range rows {
		if !slices.Contains(serviceIDs, r.service.ServiceID) {
			serviceIDs = append(serviceIDs, r.service.ServiceID)
		}
	}
	services := map[int64]Service{}
	for start := 0; start < len(serviceIDs); start += inChunk {
		part := serviceIDs[start:min(start+inChunk, len(serviceIDs))]
		found, err := c.QueryServices(ctx, In("id", part))
		if err != nil {
			return nil, fmt.Errorf("services of contract %d: %w", contractID, err)
		}
		for _, s := range found {
			services[s.ID] = s
		}
	}
	out := make([]psa.Addition, 0, len(rows))
	for _, r := range rows {
		svc := services[r.service.ServiceID]
		out = append(out, psa.Addition{ID: r.service.ID, AgreementID: contractID, ProductID: r.service.ServiceID,
			Product:     cmp.Or(svc.Name, fmt.Sprintf("service %d", r.service.ServiceID)),
			Description: cmp.Or(svc.Description, r.service.InvoiceDescription),
			Quantity:    r.units.Units, WholeUnits: true})
	}
	slices.SortStableFunc(out, func(x, y psa.Addition) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.Product), strings.ToLower(y.Product)), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}

// billingService is a contract service with its units row in force on a day.
type billingService struct {
	service ContractService
	units   ContractServiceUnit
}

// billingServices reads the contracts' services and keeps, per contract, those with a
// units row covering day.
func (c *Client) billingServices(ctx context.Context, contractIDs []int64, day time.Time) (map[int64][]billingService, error) {
	var services []ContractService
	for start := 0; start < len(contractIDs); start += inChunk {
		part := contractIDs[start:min(start+inChunk, len(contractIDs))]
		found, err := c.QueryContractServices(ctx, In("contractID", part))
		if err != nil {
			return nil, fmt.Errorf("services of %d contracts: %w", len(part), err)
		}
		services = append(services, found...)
	}
	ids := make([]int64, len(services))
	for i, s := range services {
		ids[i] = s.ID
	}
	units, err := c.UnitsOn(ctx, ids, day)
	if err != nil {
		return nil, fmt.Errorf("units of %d contract services: %w", len(ids), err)
	}
	out := map[int64][]billingService{}
	for _, s := range services {
		if u, ok := units[s.ID]; ok && u.ContractID == s.ContractID {
			out[s.ContractID] = append(out[s.ContractID], billingService{service: s, units: u})
		}
	}
	return out, nil
}

// unbillable says why no mapping can be made on the contract ("" when one can).
// Unconfirmed: whether a contract's endDate is its last day (inclusive); it is read so, and
// the units rows decide at the boundary.
func (k Contract) unbillable(today time.Time) string {
	switch {
	case k.ContractType != ContractTypeRecurringService:
		return "is not a Recurring Service contract, so it has no contract services"
	case k.Status != ContractStatusActive:
		return "is not active"
	case !k.EndDate.IsZero() && k.EndDate.Before(today):
		return "ended on " + k.EndDate.Format(time.DateOnly)
	}
	return ""
}

// contractTypeName names a contract type when the contractType picklist cannot be read.
func contractTypeName(t int) string {
	if t == ContractTypeRecurringService {
		return "Recurring Service"
	}
	return fmt.Sprintf("contract type %d", t)
}

func dateOnly(d DateTime) string {
	if d.IsZero() {
		return ""
	}
	return d.UTC().Format(time.DateOnly)
}
