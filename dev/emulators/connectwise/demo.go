package connectwise

import (
	"time"

	"github.com/shopspring/decimal"
)

// The demo MSP's clients, for the dev stack to map tenants and sources onto. Managed IDs
// are the companies' identifiers.
const (
	DemoCompanyNorthwind int64 = 250
	DemoCompanyContoso   int64 = 251
	DemoCompanyFabrikam  int64 = 252

	DemoAgreementNorthwind int64 = 1250
	DemoAgreementContoso   int64 = 1251
	DemoAgreementFabrikam  int64 = 1252

	DemoAdditionNorthwindBackup  int64 = 5001 // BKP-GB 100.5
	DemoAdditionNorthwindServer  int64 = 5002 // LIC-SERVER 4
	DemoAdditionNorthwindDesktop int64 = 5003 // LIC-DESKTOP 25
	DemoAdditionContosoBackup    int64 = 5011 // BKP-GB 250
	DemoAdditionContosoServer    int64 = 5012 // LIC-SERVER 2
	DemoAdditionContosoDesktop   int64 = 5013 // LIC-DESKTOP 40
	DemoAdditionFabrikamBackup   int64 = 5021 // BKP-GB 75.25
	DemoAdditionFabrikamDesktop  int64 = 5022 // LIC-DESKTOP 12
)

// DemoAddition is one billed product of a demo client.
type DemoAddition struct {
	ID        int64
	ProductID int64
	Product   string // catalog identifier
	Quantity  decimal.Decimal
}

// DemoClient is one client of the demo MSP, with everything needed to map it.
type DemoClient struct {
	ManagedID   string // the company identifier; basic publish mode resolves it
	CompanyName string
	CompanyID   int64
	AgreementID int64
	Agreement   string
	Backup      DemoAddition   // the "BKP-GB" backup storage addition
	Licences    []DemoAddition // licence additions
}

// DemoClients lists the demo MSP's three clients.
func DemoClients() []DemoClient {
	d := decimal.RequireFromString
	backup := func(id int64, q string) DemoAddition {
		return DemoAddition{ID: id, ProductID: ProductBackupGB, Product: "BKP-GB", Quantity: d(q)}
	}
	server := func(id int64, q string) DemoAddition {
		return DemoAddition{ID: id, ProductID: ProductServerLicence, Product: "LIC-SERVER", Quantity: d(q)}
	}
	desktop := func(id int64, q string) DemoAddition {
		return DemoAddition{ID: id, ProductID: ProductDesktopLicence, Product: "LIC-DESKTOP", Quantity: d(q)}
	}
	return []DemoClient{
		{ManagedID: "Northwind", CompanyName: "Northwind Traders", CompanyID: DemoCompanyNorthwind,
			AgreementID: DemoAgreementNorthwind, Agreement: "Northwind Traders - Managed Services",
			Backup:   backup(DemoAdditionNorthwindBackup, "100.5"),
			Licences: []DemoAddition{server(DemoAdditionNorthwindServer, "4"), desktop(DemoAdditionNorthwindDesktop, "25")}},
		{ManagedID: "Contoso", CompanyName: "Contoso Ltd", CompanyID: DemoCompanyContoso,
			AgreementID: DemoAgreementContoso, Agreement: "Contoso Ltd - Managed Services",
			Backup:   backup(DemoAdditionContosoBackup, "250"),
			Licences: []DemoAddition{server(DemoAdditionContosoServer, "2"), desktop(DemoAdditionContosoDesktop, "40")}},
		{ManagedID: "Fabrikam", CompanyName: "Fabrikam, Inc.", CompanyID: DemoCompanyFabrikam,
			AgreementID: DemoAgreementFabrikam, Agreement: "Fabrikam, Inc. - Managed Services",
			Backup:   backup(DemoAdditionFabrikamBackup, "75.25"),
			Licences: []DemoAddition{desktop(DemoAdditionFabrikamDesktop, "12")}},
	}
}

// DemoFixture is ReferenceFixture plus the demo clients: a company, an active agreement,
// backup and licence additions, a server or workstation each, and for Northwind an existing
// backup-stats record (so a first publish shows both "update" and "create").
func DemoFixture() Fixture {
	f := ReferenceFixture()
	prices := map[int64]decimal.Decimal{ProductBackupGB: decimal.RequireFromString("0.12"), ProductServerLicence: decimal.NewFromInt(25), ProductDesktopLicence: decimal.NewFromInt(5)}
	for i, c := range DemoClients() {
		f.Companies = append(f.Companies, Company{ID: c.CompanyID, Identifier: c.ManagedID, Name: c.CompanyName})
		f.Agreements = append(f.Agreements, Agreement{ID: c.AgreementID, CompanyID: c.CompanyID, TypeID: AgreementTypeManagedServices,
			Name: c.Agreement, StartDate: fixtureStart, ProrateFlag: true})
		for _, a := range append([]DemoAddition{c.Backup}, c.Licences...) {
			f.Additions = append(f.Additions, Addition{ID: a.ID, AgreementID: c.AgreementID, ProductID: a.ProductID,
				Quantity: a.Quantity, UnitPrice: prices[a.ProductID], EffectiveDate: fixtureStart})
		}
		typ := ConfigTypeServer
		if i == 2 {
			typ = ConfigTypeWorkstation
		}
		f.Configurations = append(f.Configurations, Configuration{ID: 7000 + int64(i)*10 + 1, CompanyID: c.CompanyID, TypeID: typ,
			Name: c.ManagedID + "-01"})
	}
	// The record the usage product left on Northwind: a "Backup Stats" configuration whose
	// questions (and backup fields) hold December 2024.
	space := decimal.RequireFromString("98.75")
	f.Configurations = append(f.Configurations, Configuration{ID: 7002, CompanyID: DemoCompanyNorthwind, TypeID: ConfigTypeBackupStats,
		Name: "Backup Stats", BackupBillableSpaceGB: &space, BackupYear: 2024, BackupMonth: int(time.December),
		Answers: map[int64]string{QuestionBillableSpace: "98.75", QuestionYear: "2024", QuestionMonth: "12"}})
	return f
}

// NewDemo returns an emulator holding DemoFixture and accepting DefaultCredentials.
func NewDemo() *Server {
	f := DemoFixture()
	return New(Options{Fixture: &f})
}
