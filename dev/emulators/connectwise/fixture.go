package connectwise

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Fixture is a starting state. Records are seeded through the same validation as POSTs;
// an ID of 0 is assigned, any other is kept (IDs are unique across collections).
type Fixture struct {
	AgreementTypes             []AgreementType
	CatalogItems               []CatalogItem
	ConfigurationTypes         []ConfigurationType
	Companies                  []Company
	Agreements                 []Agreement
	Additions                  []Addition
	Configurations             []Configuration
	ManagementItSolutions      []ManagementItSolution
	ManagedDevicesIntegrations []ManagedDevicesIntegration
	ManagementBackups          []ManagementBackup
}

// Company seeds a company.
type Company struct {
	ID         int64
	Identifier string // also the Managed ID meterbridge resolves in basic publish mode
	Name       string
	Deleted    bool
	// Status is the company status's name; "" means Active. "Inactive" is what
	// ConnectWise sets for former clients.
	Status string
}

// companyStatuses are the company status records the emulator knows (ConnectWise's
// defaults; an MSP can add its own).
var companyStatuses = map[string]int64{"Active": 1, "Inactive": 2, "Not-Approved": 3, "Credit Hold": 4}

// AgreementType seeds an agreement type.
type AgreementType struct {
	ID   int64
	Name string
}

// Agreement seeds an agreement.
type Agreement struct {
	ID, CompanyID, TypeID int64
	Name                  string
	StartDate             time.Time // zero: none
	EndDate               time.Time // zero: no ending date
	Cancelled             bool
	ProrateFlag           bool
	// NextInvoiceDate, when set on a non-prorated agreement, refuses addition effective
	// dates before it (an already-invoiced period).
	NextInvoiceDate time.Time
}

// CatalogItem seeds a catalog item.
type CatalogItem struct {
	ID            int64
	Identifier    string
	Description   string
	ProductClass  string // "" means Service
	Price, Cost   decimal.Decimal
	UnitOfMeasure string
}

// Addition seeds an agreement addition.
type Addition struct {
	ID, AgreementID, ProductID int64
	Quantity                   decimal.Decimal
	UnitPrice                  decimal.Decimal
	BillCustomer               string    // "" means Billable
	EffectiveDate              time.Time // zero: none
	CancelledDate              time.Time // zero: not cancelled
	Description                string
	InvoiceDescription         string
}

// ConfigurationType seeds a configuration type and the questions it asks.
type ConfigurationType struct {
	ID        int64
	Name      string
	Questions []ConfigurationTypeQuestion
}

// ConfigurationTypeQuestion seeds one question of a configuration type.
type ConfigurationTypeQuestion struct {
	ID        int64
	Question  string
	FieldType string // "Number", "Text", …; "" is Text
}

// Configuration seeds a configuration, optionally with backup stats.
type Configuration struct {
	ID, CompanyID, TypeID int64
	Name                  string
	DeviceIdentifier      string
	BackupBillableSpaceGB *decimal.Decimal
	BackupYear            int // 0: unset
	BackupMonth           int // 0: unset
	// Answers answer questions of the type, by question id.
	Answers map[int64]string
}

// ManagementItSolution seeds a management IT solution.
type ManagementItSolution struct {
	ID                   int64
	Name, Type, Solution string
}

// ManagedDevicesIntegration seeds a managed devices integration and its cross-references.
type ManagedDevicesIntegration struct {
	ID                        int64
	Name, Solution, PortalURL string
	CrossReferences           []CrossReference
}

// CrossReference seeds one (vendor type, level) → (agreement type, product, config type) row.
type CrossReference struct {
	ID                                       int64
	VendorType, VendorLevel                  string
	AgreementTypeID, ProductID, ConfigTypeID int64
}

// ManagementBackup seeds a management backup setting.
type ManagementBackup struct {
	ID, AgreementTypeID, ProductID int64
	BillingLevel                   string
}

func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }
func idRef(id int64) map[string]any     { return map[string]any{"id": jsonInt(id)} }

func putTime(m map[string]any, key string, t time.Time) {
	if !t.IsZero() {
		m[key] = t.UTC().Format(wireTime)
	}
}

func (c Company) input() map[string]any {
	status := c.Status
	if status == "" {
		status = "Active"
	}
	ref := map[string]any{"name": status}
	if id, ok := companyStatuses[status]; ok {
		ref["id"] = jsonInt(id)
	}
	return map[string]any{"identifier": c.Identifier, "name": c.Name, "deletedFlag": c.Deleted,
		"status": ref, "addressLine1": "1 Main Street"}
}

func (a Agreement) input() map[string]any {
	m := map[string]any{"name": a.Name, "type": idRef(a.TypeID), "company": idRef(a.CompanyID),
		"cancelledFlag": a.Cancelled, "prorateFlag": a.ProrateFlag, "noEndingDateFlag": a.EndDate.IsZero(),
		"billTime": "Billable", "billExpenses": "Billable", "billProducts": "Billable",
		"invoicingCycle": "ContractYear", "employeeCompRate": "Actual", "periodType": "Current",
		"billingCycle": map[string]any{"id": jsonInt(1), "name": "Monthly"}}
	putTime(m, "startDate", a.StartDate)
	putTime(m, "endDate", a.EndDate)
	putTime(m, "nextInvoiceDate", a.NextInvoiceDate)
	return m
}

func (c CatalogItem) input() map[string]any {
	class := c.ProductClass
	if class == "" {
		class = "Service"
	}
	m := map[string]any{"identifier": c.Identifier, "description": c.Description, "customerDescription": c.Description,
		"productClass": class, "price": num(c.Price), "cost": num(c.Cost), "recurringFlag": true, "inactiveFlag": false}
	if c.UnitOfMeasure != "" {
		m["unitOfMeasure"] = map[string]any{"name": c.UnitOfMeasure}
	}
	return m
}

func (a Addition) input() map[string]any {
	bill := a.BillCustomer
	if bill == "" {
		bill = "Billable"
	}
	m := map[string]any{"product": idRef(a.ProductID), "quantity": num(a.Quantity), "unitPrice": num(a.UnitPrice),
		"billCustomer": bill, "lessIncluded": json.Number("0"), "taxableFlag": false}
	if a.Description != "" {
		m["description"] = a.Description
	}
	if a.InvoiceDescription != "" {
		m["invoiceDescription"] = a.InvoiceDescription
	}
	putTime(m, "effectiveDate", a.EffectiveDate)
	putTime(m, "cancelledDate", a.CancelledDate)
	return m
}

func (c Configuration) input() map[string]any {
	m := map[string]any{"name": c.Name, "type": idRef(c.TypeID), "company": idRef(c.CompanyID), "activeFlag": true}
	if c.DeviceIdentifier != "" {
		m["deviceIdentifier"] = c.DeviceIdentifier
	}
	if c.BackupBillableSpaceGB != nil {
		m["backupBillableSpaceGb"] = num(*c.BackupBillableSpaceGB)
	}
	if c.BackupYear != 0 {
		m["backupYear"] = jsonInt(int64(c.BackupYear))
	}
	if c.BackupMonth != 0 {
		m["backupMonth"] = jsonInt(int64(c.BackupMonth))
	}
	if len(c.Answers) > 0 {
		var qs []any
		for id, a := range c.Answers {
			qs = append(qs, map[string]any{"questionId": jsonInt(id), "answer": a})
		}
		m["questions"] = qs
	}
	return m
}

func (q ConfigurationTypeQuestion) input(seq int) map[string]any {
	ft := q.FieldType
	if ft == "" {
		ft = "Text"
	}
	return map[string]any{"question": q.Question, "fieldType": ft, "entryType": "EntryField", "sequenceNumber": jsonInt(int64(seq)),
		"numberOfDecimals": jsonInt(0), "requiredFlag": false, "inactiveFlag": false}
}

func (t AgreementType) input() map[string]any {
	return map[string]any{"name": t.Name, "inactiveFlag": false, "defaultFlag": false}
}

func (t ConfigurationType) input() map[string]any {
	return map[string]any{"name": t.Name, "inactiveFlag": false}
}

func (m ManagementItSolution) input() map[string]any {
	return map[string]any{"name": m.Name, "managementItSolutionType": m.Type, "managementSolutionName": m.Solution}
}

func (m ManagedDevicesIntegration) input() map[string]any {
	return map[string]any{"name": m.Name, "solution": m.Solution, "portalUrl": m.PortalURL,
		"loginBy": "Global", "defaultBillingLevel": "Summary", "matchOnSerialNumberFlag": false}
}

func (x CrossReference) input() map[string]any {
	in := map[string]any{"vendorType": x.VendorType, "vendorLevel": x.VendorLevel, "inactiveFlag": false}
	if x.AgreementTypeID != 0 {
		in["agreementType"] = idRef(x.AgreementTypeID)
	}
	if x.ProductID != 0 {
		in["product"] = idRef(x.ProductID)
	}
	if x.ConfigTypeID != 0 {
		in["configurationType"] = idRef(x.ConfigTypeID)
	}
	return in
}

func (m ManagementBackup) input() map[string]any {
	return map[string]any{"type": idRef(m.AgreementTypeID), "item": idRef(m.ProductID), "billingLevel": m.BillingLevel}
}

// seedItem is one record of a fixture in seeding order.
type seedItem struct {
	coll       string
	parent, id int64
	input      map[string]any
}

// items lists the fixture's records parents first.
func (f Fixture) items() []seedItem {
	var out []seedItem
	add := func(coll string, parent, id int64, in map[string]any) {
		out = append(out, seedItem{coll, parent, id, in})
	}
	for _, t := range f.AgreementTypes {
		add(AgreementTypes, 0, t.ID, t.input())
	}
	for _, c := range f.CatalogItems {
		add(CatalogItems, 0, c.ID, c.input())
	}
	for _, t := range f.ConfigurationTypes {
		add(ConfigurationTypes, 0, t.ID, t.input())
		for i, q := range t.Questions {
			add(ConfigurationTypeQuestions, t.ID, q.ID, q.input(i+1))
		}
	}
	for _, c := range f.Companies {
		add(Companies, 0, c.ID, c.input())
	}
	for _, a := range f.Agreements {
		add(Agreements, 0, a.ID, a.input())
	}
	for _, a := range f.Additions {
		add(Additions, a.AgreementID, a.ID, a.input())
	}
	for _, c := range f.Configurations {
		add(Configurations, 0, c.ID, c.input())
	}
	for _, m := range f.ManagementItSolutions {
		add(ManagementItSolutions, 0, m.ID, m.input())
	}
	for _, m := range f.ManagedDevicesIntegrations {
		add(ManagedDevicesIntegrations, 0, m.ID, m.input())
		for _, x := range m.CrossReferences {
			add(CrossReferences, m.ID, x.ID, x.input())
		}
	}
	for _, m := range f.ManagementBackups {
		add(ManagementBackups, 0, m.ID, m.input())
	}
	return out
}

// Seed adds a fixture's records to the emulator, stopping at the first invalid one.
func (s *Server) Seed(f Fixture) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range f.items() {
		if _, e := s.insert(s.store.res[it.coll], it.parent, it.input, it.id); e != nil {
			return seedError(it.coll, it.id, e)
		}
	}
	return nil
}

func seedError(coll string, id int64, e *apiError) error {
	b, _ := json.Marshal(e)
	return fmt.Errorf("seed %s %d: %s", coll, id, b)
}

// Reference records every fixture here shares.
const (
	AgreementTypeManagedServices int64 = 101
	AgreementTypeBackup          int64 = 102
	ProductBackupGB              int64 = 201 // "BKP-GB"
	ProductServerLicence         int64 = 202 // "LIC-SERVER"
	ProductDesktopLicence        int64 = 203 // "LIC-DESKTOP"
	ProductStarterBundle         int64 = 204 // a Bundle: cannot be an addition
	ConfigTypeBackup             int64 = 301 // "Backup": where meterbridge kept basic-mode stats before they were settings
	ConfigTypeServer             int64 = 302
	ConfigTypeWorkstation        int64 = 303
	ConfigTypeBackupStats        int64 = 304 // "Backup Stats": the usage product's type, with its three questions

	QuestionBillableSpace int64 = 3041 // "Billable Space" (Number)
	QuestionYear          int64 = 3042 // "Year" (Number)
	QuestionMonth         int64 = 3043 // "Month" (Number)
)

// BackupStatsType is the usage product's configuration type: "Backup Stats", asking
// "Billable Space", "Year" and "Month" (the names meterbridge's settings default to).
func BackupStatsType() ConfigurationType {
	return ConfigurationType{ID: ConfigTypeBackupStats, Name: "Backup Stats", Questions: []ConfigurationTypeQuestion{
		{ID: QuestionBillableSpace, Question: "Billable Space", FieldType: "Number"},
		{ID: QuestionYear, Question: "Year", FieldType: "Number"},
		{ID: QuestionMonth, Question: "Month", FieldType: "Number"},
	}}
}

// BackupDeviceIdentifier is the deviceIdentifier of the configuration meterbridge keeps
// backup stats on (the client's constant of the same name; kept apart so the emulator does
// not import the client it tests).
const BackupDeviceIdentifier = "meterbridge-backup-stats"

// ReferenceFixture holds the setup an MSP has before any client: agreement types, catalog,
// configuration types and the managed-services tables.
func ReferenceFixture() Fixture {
	d := decimal.RequireFromString
	return Fixture{
		AgreementTypes: []AgreementType{{ID: AgreementTypeManagedServices, Name: "Managed Services"}, {ID: AgreementTypeBackup, Name: "Backup Services"}},
		CatalogItems: []CatalogItem{
			{ID: ProductBackupGB, Identifier: "BKP-GB", Description: "Cloud backup storage (per GB)", Price: d("0.12"), Cost: d("0.04"), UnitOfMeasure: "GB"},
			{ID: ProductServerLicence, Identifier: "LIC-SERVER", Description: "Backup licence - server", Price: d("25"), Cost: d("11.5"), UnitOfMeasure: "Each"},
			{ID: ProductDesktopLicence, Identifier: "LIC-DESKTOP", Description: "Backup licence - desktop", Price: d("5"), Cost: d("2.25"), UnitOfMeasure: "Each"},
			{ID: ProductStarterBundle, Identifier: "BUNDLE-STARTER", Description: "Starter bundle", ProductClass: "Bundle", Price: d("99"), Cost: d("40")},
		},
		ConfigurationTypes: []ConfigurationType{{ID: ConfigTypeBackup, Name: "Backup"}, {ID: ConfigTypeServer, Name: "Server"},
			{ID: ConfigTypeWorkstation, Name: "Workstation"}, BackupStatsType()},
		ManagementItSolutions: []ManagementItSolution{{ID: 401, Name: "Meterbridge Backup", Type: "Custom", Solution: "Meterbridge Backup"}},
		ManagedDevicesIntegrations: []ManagedDevicesIntegration{{ID: 411, Name: "Meterbridge", Solution: "Meterbridge Backup", PortalURL: "https://backup.example.com",
			CrossReferences: []CrossReference{{ID: 421, VendorType: "BackupUsage", VendorLevel: "Standard", AgreementTypeID: AgreementTypeBackup, ProductID: ProductBackupGB, ConfigTypeID: ConfigTypeBackup}}}},
		ManagementBackups: []ManagementBackup{{ID: 431, AgreementTypeID: AgreementTypeBackup, ProductID: ProductBackupGB, BillingLevel: "Summary"}},
	}
}

// fixtureStart is when fixture agreements and additions start.
var fixtureStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultFixture is ReferenceFixture plus two small clients, what New starts with.
func DefaultFixture() Fixture {
	f := ReferenceFixture()
	d := decimal.RequireFromString
	f.Companies = []Company{{ID: 1001, Identifier: "Adatum", Name: "Adatum Corporation"}, {ID: 1002, Identifier: "Litware", Name: "Litware, Inc."}}
	f.Agreements = []Agreement{
		{ID: 1101, CompanyID: 1001, TypeID: AgreementTypeManagedServices, Name: "Adatum - Managed Services", StartDate: fixtureStart},
		{ID: 1102, CompanyID: 1002, TypeID: AgreementTypeManagedServices, Name: "Litware - Managed Services", StartDate: fixtureStart},
	}
	f.Additions = []Addition{
		{ID: 1201, AgreementID: 1101, ProductID: ProductBackupGB, Quantity: d("10"), UnitPrice: d("0.12"), EffectiveDate: fixtureStart},
		{ID: 1202, AgreementID: 1101, ProductID: ProductServerLicence, Quantity: d("3"), UnitPrice: d("25"), EffectiveDate: fixtureStart},
		{ID: 1203, AgreementID: 1102, ProductID: ProductBackupGB, Quantity: d("42.5"), UnitPrice: d("0.12"), EffectiveDate: fixtureStart},
	}
	f.Configurations = []Configuration{{ID: 1301, CompanyID: 1001, TypeID: ConfigTypeServer, Name: "ADATUM-DC01"}}
	return f
}
