package connectwise

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// Faults returns the fault switches (also served at fault.ControlPath).
func (s *Server) Faults() *fault.Injector { return s.faults }

// SetMaxPageSize caps pageSize, so paging shows with a few rows.
func (s *Server) SetMaxPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || n > 1000 {
		n = 1000
	}
	s.maxPage = n
}

// SetCodebase moves the site to another codebase, as a hosted upgrade does: the old
// segment stops answering (the v4_6_release router keeps working).
func (s *Server) SetCodebase(cb string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cb = normalizeCodebase(cb); cb != "" {
		s.codebase = cb
	}
}

// Codebase returns the codebase company info reports.
func (s *Server) Codebase() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codebase
}

// SetCredentials replaces the accepted keys.
func (s *Server) SetCredentials(c Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = c
}

// BeforeCreate sets a function called before each POST creates a record of a collection
// (Additions, Configurations, …), outside the emulator's lock, so a test can hold a write
// back and line up concurrent clients. nil removes it.
func (s *Server) BeforeCreate(f func(collection string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeCreate = f
}

// Credentials returns the accepted keys.
func (s *Server) Credentials() Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creds
}

// AdditionState is an addition as the emulator holds it.
type AdditionState struct {
	ID, AgreementID, ProductID int64
	Product                    string // catalog identifier
	Quantity                   decimal.Decimal
	EffectiveDate              time.Time
	CancelledDate              time.Time
	Description                string
	InvoiceDescription         string
	LastUpdated                time.Time
	Writes                     int // accepted POST/PUT/PATCH
}

func additionState(rec *record) AdditionState {
	d := rec.doc
	a := AdditionState{ID: idOf(d["id"]), AgreementID: rec.parent, Writes: rec.writes}
	a.Quantity, _ = numberOf(d["quantity"])
	if p, ok := d["product"].(map[string]any); ok {
		a.ProductID = idOf(p["id"])
		a.Product, _ = p["identifier"].(string)
	}
	a.EffectiveDate = timeOf(d["effectiveDate"])
	a.CancelledDate = timeOf(d["cancelledDate"])
	a.Description, _ = d["description"].(string)
	a.InvoiceDescription, _ = d["invoiceDescription"].(string)
	if info, ok := d["_info"].(map[string]any); ok {
		a.LastUpdated = timeOf(info["lastUpdated"])
	}
	return a
}

func timeOf(v any) time.Time {
	s, _ := v.(string)
	t, _ := parseTime(s)
	return t
}

// Addition reads one addition directly, bypassing the API.
func (s *Server) Addition(agreementID, additionID int64) (AdditionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.store.get(Additions, additionID)
	if !ok || rec.parent != agreementID {
		return AdditionState{}, false
	}
	return additionState(rec), true
}

// Additions reads an agreement's additions directly, in id order.
func (s *Server) Additions(agreementID int64) []AdditionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AdditionState
	for _, rec := range s.store.list(Additions, agreementID) {
		out = append(out, additionState(rec))
	}
	return out
}

// Writes counts the writes the API accepted for one record of a collection.
func (s *Server) Writes(collection string, id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.store.get(collection, id); ok {
		return rec.writes
	}
	return 0
}

// Document returns a copy of one record as the API would show it.
func (s *Server) Document(collection string, id int64) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.store.get(collection, id)
	if !ok {
		return nil, false
	}
	return deepCopy(rec.doc).(map[string]any), true
}

// Documents returns copies of a collection's records in id order (all parents).
func (s *Server) Documents(collection string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, rec := range s.store.listAll(collection) {
		out = append(out, deepCopy(rec.doc).(map[string]any))
	}
	return out
}

// seedRecord seeds one record and panics on a fixture bug (the Seed helpers are for tests).
func (s *Server) seedRecord(coll string, parent, id int64, input map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, e := s.insert(s.store.res[coll], parent, input, id)
	if e != nil {
		panic(seedError(coll, id, e))
	}
	return idOf(rec.doc["id"])
}

// SeedCompany adds a company and returns its id.
func (s *Server) SeedCompany(c Company) int64 { return s.seedRecord(Companies, 0, c.ID, c.input()) }

// SeedAgreementType adds an agreement type and returns its id.
func (s *Server) SeedAgreementType(t AgreementType) int64 {
	return s.seedRecord(AgreementTypes, 0, t.ID, t.input())
}

// SeedAgreement adds an agreement and returns its id.
func (s *Server) SeedAgreement(a Agreement) int64 {
	return s.seedRecord(Agreements, 0, a.ID, a.input())
}

// SeedAddition adds an addition and returns its id.
func (s *Server) SeedAddition(a Addition) int64 {
	return s.seedRecord(Additions, a.AgreementID, a.ID, a.input())
}

// SeedCatalogItem adds a catalog item and returns its id.
func (s *Server) SeedCatalogItem(c CatalogItem) int64 {
	return s.seedRecord(CatalogItems, 0, c.ID, c.input())
}

// SeedConfigurationType adds a configuration type and returns its id.
func (s *Server) SeedConfigurationType(t ConfigurationType) int64 {
	id := s.seedRecord(ConfigurationTypes, 0, t.ID, t.input())
	for i, q := range t.Questions {
		s.seedRecord(ConfigurationTypeQuestions, id, q.ID, q.input(i+1))
	}
	return id
}

// SeedConfigurationTypeQuestion adds a question to a configuration type and returns its id.
func (s *Server) SeedConfigurationTypeQuestion(typeID int64, q ConfigurationTypeQuestion) int64 {
	return s.seedRecord(ConfigurationTypeQuestions, typeID, q.ID, q.input(int(q.ID%1000)))
}

// SeedConfiguration adds a configuration and returns its id.
func (s *Server) SeedConfiguration(c Configuration) int64 {
	return s.seedRecord(Configurations, 0, c.ID, c.input())
}
