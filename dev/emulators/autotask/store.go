package autotask

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// maxPageSize is Autotask's most rows per query page.
const maxPageSize = 500

// entityDef is what the generic handlers need to know about one entity.
type entityDef struct {
	name   string // as in URLs: "ContractServices"
	schema schema
	// queryable is false for create-only entities (ContractServiceAdjustments).
	queryable bool
	// writable lists the lower-cased fields PATCH may change; nil means PATCH is refused.
	writable map[string]bool
	// list returns copies of every row sorted by id; get returns a pointer to one row or
	// nil. Both run with s.mu held.
	list func(s *Server) []any
	get  func(s *Server, id int64) any
	// create makes a row from a request body (parentID from a child path, else 0) with
	// s.mu held; nil means POST is refused.
	create func(s *Server, body []byte, parentID int64) (int64, error)
	// children maps a child path's lower-cased name to the child entity and the child's
	// field that holds the parent id.
	children map[string]child
}

type child struct {
	entity string
	field  string
}

func entityDefs() map[string]*entityDef {
	defs := []*entityDef{
		{
			name: "Companies", schema: schemaOf(Company{}), queryable: true,
			writable: set("companyname", "companynumber", "companytype", "isactive", "phone", "city"),
			list:     func(s *Server) []any { return anys(sortedValues(s.companies)) },
			get:      func(s *Server, id int64) any { return ptrOrNil(s.companies[id]) },
			create:   createCompany,
		},
		{
			name: "Contracts", schema: schemaOf(Contract{}), queryable: true,
			writable: set("contractname", "status", "enddate", "contractcategory", "isdefaultcontract"),
			list:     func(s *Server) []any { return anys(sortedValues(s.contracts)) },
			get:      func(s *Server, id int64) any { return ptrOrNil(s.contracts[id]) },
			create:   createContract,
			children: map[string]child{
				"services":           {entity: "contractservices", field: "contractID"},
				"serviceadjustments": {entity: "contractserviceadjustments", field: "contractID"},
				"serviceunits":       {entity: "contractserviceunits", field: "contractID"},
			},
		},
		{
			name: "Services", schema: schemaOf(Service{}), queryable: true,
			writable: set("name", "description", "unitprice", "unitcost", "isactive"),
			list:     func(s *Server) []any { return anys(sortedValues(s.services)) },
			get:      func(s *Server, id int64) any { return ptrOrNil(s.services[id]) },
			create:   createService,
		},
		{
			// Only these fields may change on a contract service, per Autotask's entity notes.
			name: "ContractServices", schema: schemaOf(ContractService{}), queryable: true,
			writable: set("invoicedescription", "internalcurrencyadjustedprice"),
			list:     func(s *Server) []any { return anys(sortedValues(s.contractServices)) },
			get:      func(s *Server, id int64) any { return ptrOrNil(s.contractServices[id]) },
			create:   createContractService,
		},
		{
			name: "ContractServiceUnits", schema: schemaOf(ContractServiceUnit{}), queryable: true,
			list: func(s *Server) []any { return anys(sortedValues(s.units)) },
			get:  func(s *Server, id int64) any { return ptrOrNil(s.units[id]) },
		},
		{
			name: "ContractServiceAdjustments", schema: schemaOf(Adjustment{}),
			create: createAdjustment,
		},
	}
	m := make(map[string]*entityDef, len(defs))
	for _, d := range defs {
		m[strings.ToLower(d.name)] = d
	}
	return m
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// ptrOrNil keeps a typed nil pointer from becoming a non-nil interface.
func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

func sortedValues[T any](m map[int64]*T) []T {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = *m[id]
	}
	return out
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// Fixture is initial state. Rows with ID 0 get the next free id.
type Fixture struct {
	Companies        []Company
	Services         []Service
	Contracts        []Contract
	ContractServices []SeedContractService
}

// SeedContractService is a contract service with the units every billing period starts with.
type SeedContractService struct {
	ContractService
	Units int64
}

// Seed adds a fixture's rows. Contract services get monthly unit periods across their
// contract.
func (s *Server) Seed(f Fixture) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Reserve every explicit id first, so ids handed out while seeding (unit periods) cannot
	// collide with rows seeded later.
	reserved := map[int64]bool{}
	for _, id := range f.ids() {
		if s.taken(id) || reserved[id] {
			return fmt.Errorf("id %d is used twice", id)
		}
		reserved[id] = true
		s.idFor(id)
	}
	for _, c := range f.Companies {
		c.ID = s.idFor(c.ID)
		if c.CompanyType == 0 {
			c.CompanyType = 1
		}
		s.companies[c.ID] = &c
	}
	for _, v := range f.Services {
		v.ID = s.idFor(v.ID)
		s.services[v.ID] = &v
	}
	for _, k := range f.Contracts {
		if s.companies[k.CompanyID] == nil {
			return fmt.Errorf("contract %q: no company %d", k.ContractName, k.CompanyID)
		}
		if !k.StartDate.Before(k.EndDate.Time) {
			return fmt.Errorf("contract %q: start must be before end", k.ContractName)
		}
		k.ID = s.idFor(k.ID)
		if k.ContractType == 0 {
			k.ContractType = contractTypeRecurringService
		}
		if k.Status == 0 {
			k.Status = 1
		}
		s.contracts[k.ID] = &k
	}
	for _, cs := range f.ContractServices {
		if _, err := s.addContractServiceLocked(cs.ContractService, cs.Units); err != nil {
			return err
		}
	}
	return nil
}

func (f Fixture) ids() []int64 {
	var ids []int64
	for _, c := range f.Companies {
		ids = append(ids, c.ID)
	}
	for _, v := range f.Services {
		ids = append(ids, v.ID)
	}
	for _, k := range f.Contracts {
		ids = append(ids, k.ID)
	}
	for _, cs := range f.ContractServices {
		ids = append(ids, cs.ID)
	}
	return slices.DeleteFunc(ids, func(id int64) bool { return id == 0 })
}

func (s *Server) taken(id int64) bool {
	return s.companies[id] != nil || s.services[id] != nil || s.contracts[id] != nil ||
		s.contractServices[id] != nil || s.units[id] != nil
}

func (s *Server) idFor(id int64) int64 {
	if id == 0 {
		s.nextID++
		return s.nextID
	}
	if id > s.nextID {
		s.nextID = id
	}
	return id
}

const contractTypeRecurringService = 7

// AddCompany adds a customer company and returns its id.
func (s *Server) AddCompany(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.idFor(0)
	s.companies[id] = &Company{ID: id, CompanyName: name, CompanyNumber: fmt.Sprintf("C%d", id), CompanyType: 1, IsActive: true, CreateDate: Time{s.now().UTC()}}
	return id
}

// AddService adds a recurring service to the catalog and returns its id.
func (s *Server) AddService(name string, unitPrice decimal.Decimal) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.idFor(0)
	s.services[id] = &Service{ID: id, Name: name, UnitPrice: Money{unitPrice}, UnitCost: Money{unitPrice.Div(decimal.NewFromInt(2))}, IsActive: true}
	return id
}

// AddContract adds an active recurring service contract running [start, end) and returns its id.
func (s *Server) AddContract(companyID int64, name string, start, end time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.idFor(0)
	s.contracts[id] = &Contract{ID: id, ContractName: name, CompanyID: companyID, ContractType: contractTypeRecurringService,
		Status: 1, StartDate: Time{day(start)}, EndDate: Time{day(end)}}
	return id
}

// AddContractService puts a service on a contract with the given units in every monthly
// period of the contract, and returns the contract service's id.
func (s *Server) AddContractService(contractID, serviceID, units int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addContractServiceLocked(ContractService{ContractID: contractID, ServiceID: serviceID}, units)
}

// AddContractServiceFrom puts a service on a contract from day `from` on, as when someone
// adds it to a running contract mid-month: the first units row runs from that day to the
// end of its contract period, then one row per period; no row exists before it.
func (s *Server) AddContractServiceFrom(contractID, serviceID, units int64, from time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addContractServiceFromLocked(ContractService{ContractID: contractID, ServiceID: serviceID}, units, from)
}

// AdjustUnits changes a contract service's units by change from day effective on, as a person
// does on the contract's Adjust Service page; it is recorded like an adjustment posted to the
// API.
func (s *Server) AdjustUnits(csID, change int64, effective time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.contractServices[csID]
	if cs == nil {
		return fmt.Errorf("no contract service %d", csID)
	}
	e := day(effective)
	if err := s.applyAdjustmentLocked(cs, e, change, nil, nil); err != nil {
		return err
	}
	s.adjustments = append(s.adjustments, Adjustment{ID: s.idFor(0), ContractID: cs.ContractID, ContractServiceID: cs.ID,
		ServiceID: cs.ServiceID, UnitChange: change, EffectiveDate: Time{e}})
	return nil
}

func (s *Server) addContractServiceLocked(cs ContractService, units int64) (int64, error) {
	return s.addContractServiceFromLocked(cs, units, time.Time{})
}

// addContractServiceFromLocked adds cs with units in every contract period from day `from`
// (the contract's start when zero or earlier).
func (s *Server) addContractServiceFromLocked(cs ContractService, units int64, from time.Time) (int64, error) {
	k := s.contracts[cs.ContractID]
	if k == nil {
		return 0, fmt.Errorf("no contract %d", cs.ContractID)
	}
	svc := s.services[cs.ServiceID]
	if svc == nil {
		return 0, fmt.Errorf("no service %d", cs.ServiceID)
	}
	if units < 0 {
		return 0, fmt.Errorf("units cannot be negative")
	}
	if cs.UnitPrice.IsZero() {
		cs.UnitPrice = svc.UnitPrice
	}
	if cs.UnitCost.IsZero() {
		cs.UnitCost = svc.UnitCost
	}
	from = day(from)
	if from.Before(k.StartDate.Time) {
		from = k.StartDate.Time
	}
	if !from.Before(k.EndDate.Time) {
		return 0, fmt.Errorf("contract %d has ended by %s", k.ID, from.Format(time.DateOnly))
	}
	cs.ID = s.idFor(cs.ID)
	s.contractServices[cs.ID] = &cs
	// One row per month of the contract, each ending where the next starts; a service added
	// inside a period starts with a row from that day to the period's end.
	// Unconfirmed: Autotask's period length follows the contract's billing period; monthly is
	// the common case and the only one emulated.
	for start := k.StartDate.Time; start.Before(k.EndDate.Time); start = start.AddDate(0, 1, 0) {
		end := start.AddDate(0, 1, 0)
		if end.After(k.EndDate.Time) {
			end = k.EndDate.Time
		}
		if !end.After(from) {
			continue
		}
		rowStart := start
		if from.After(start) {
			rowStart = from
		}
		id := s.idFor(0)
		s.units[id] = &ContractServiceUnit{ID: id, ContractID: k.ID, ContractServiceID: cs.ID, ServiceID: cs.ServiceID,
			StartDate: Time{rowStart}, EndDate: Time{end}, Units: units, Price: cs.UnitPrice, Cost: cs.UnitCost, InternalCurrencyPrice: cs.UnitPrice}
	}
	return cs.ID, nil
}

// unitRowsLocked returns pointers to a contract service's rows, by start date.
func (s *Server) unitRowsLocked(csID int64) []*ContractServiceUnit {
	var rows []*ContractServiceUnit
	for _, u := range s.units {
		if u.ContractServiceID == csID {
			rows = append(rows, u)
		}
	}
	slices.SortFunc(rows, func(a, b *ContractServiceUnit) int { return a.StartDate.Compare(b.StartDate.Time) })
	return rows
}

// UnitRows returns a contract service's unit periods, by start date.
func (s *Server) UnitRows(csID int64) []ContractServiceUnit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ContractServiceUnit
	for _, r := range s.unitRowsLocked(csID) {
		out = append(out, *r)
	}
	return out
}

// UnitsOn returns the units in force on day d: the row with startDate <= d < endDate.
func (s *Server) UnitsOn(csID int64, d time.Time) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d = day(d)
	for _, r := range s.unitRowsLocked(csID) {
		if !r.StartDate.After(d) && r.EndDate.After(d) {
			return r.Units, true
		}
	}
	return 0, false
}

// CurrentUnits returns the units in force today, by the emulator's clock.
func (s *Server) CurrentUnits(csID int64) (int64, bool) { return s.UnitsOn(csID, s.now()) }

// AdjustmentCount is how many adjustments were accepted for a contract service.
func (s *Server) AdjustmentCount(csID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.adjustments {
		if a.ContractServiceID == csID {
			n++
		}
	}
	return n
}

// Adjustments returns every accepted adjustment in order.
func (s *Server) Adjustments() []Adjustment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.adjustments)
}

// ContractServiceOf returns a contract service row.
func (s *Server) ContractServiceOf(id int64) (ContractService, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.contractServices[id]
	if cs == nil {
		return ContractService{}, false
	}
	return *cs, true
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
