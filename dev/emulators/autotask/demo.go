package autotask

import "time"

// DemoCredentials are the credentials NewDemo accepts; they are not secret.
var DemoCredentials = Credentials{
	UserName:        "demo-api@meterbridge.example",
	Secret:          "demo-autotask-secret",
	IntegrationCode: "DEMOMETERBRIDGEINTEGRATION",
}

// Catalog services of the demo MSP.
const (
	DemoServiceBackupGB int64 = 30001 // "Backup Storage GB"
	DemoServiceServer   int64 = 30002 // "Server Licence"
	DemoServiceDesktop  int64 = 30003 // "Desktop Licence"
)

// Client companies of the demo MSP.
const (
	DemoCompanyNorthwind int64 = 10001 // "Northwind Dental"
	DemoCompanyContoso   int64 = 10002 // "Contoso Legal"
	DemoCompanyFabrikam  int64 = 10003 // "Fabrikam Builders"
)

// Recurring service contracts, one per company.
const (
	DemoContractNorthwind int64 = 20001
	DemoContractContoso   int64 = 20002
	DemoContractFabrikam  int64 = 20003
)

// Contract services (the ids mappings point at as psa.Target.AdditionID).
const (
	DemoCSNorthwindBackup  int64 = 40001
	DemoCSNorthwindServer  int64 = 40002
	DemoCSNorthwindDesktop int64 = 40003
	DemoCSContosoBackup    int64 = 40004
	DemoCSContosoDesktop   int64 = 40005
	DemoCSFabrikamBackup   int64 = 40006
	DemoCSFabrikamServer   int64 = 40007
	DemoCSFabrikamDesktop  int64 = 40008
)

// DemoTarget is one billable contract service of the demo MSP.
type DemoTarget struct {
	CompanyID, ContractID, ContractServiceID, ServiceID int64
	Company, Contract, Service                          string
	Units                                               int64
}

// DemoTargets lists the demo's contract services with their starting units.
func DemoTargets() []DemoTarget {
	companies := map[int64]string{DemoCompanyNorthwind: "Northwind Dental", DemoCompanyContoso: "Contoso Legal", DemoCompanyFabrikam: "Fabrikam Builders"}
	contracts := map[int64]int64{DemoContractNorthwind: DemoCompanyNorthwind, DemoContractContoso: DemoCompanyContoso, DemoContractFabrikam: DemoCompanyFabrikam}
	services := map[int64]string{DemoServiceBackupGB: "Backup Storage GB", DemoServiceServer: "Server Licence", DemoServiceDesktop: "Desktop Licence"}
	rows := []struct{ cs, contract, service, units int64 }{
		{DemoCSNorthwindBackup, DemoContractNorthwind, DemoServiceBackupGB, 250},
		{DemoCSNorthwindServer, DemoContractNorthwind, DemoServiceServer, 2},
		{DemoCSNorthwindDesktop, DemoContractNorthwind, DemoServiceDesktop, 18},
		{DemoCSContosoBackup, DemoContractContoso, DemoServiceBackupGB, 1200},
		{DemoCSContosoDesktop, DemoContractContoso, DemoServiceDesktop, 42},
		{DemoCSFabrikamBackup, DemoContractFabrikam, DemoServiceBackupGB, 75},
		{DemoCSFabrikamServer, DemoContractFabrikam, DemoServiceServer, 1},
		{DemoCSFabrikamDesktop, DemoContractFabrikam, DemoServiceDesktop, 9},
	}
	out := make([]DemoTarget, len(rows))
	for i, r := range rows {
		company := contracts[r.contract]
		out[i] = DemoTarget{CompanyID: company, ContractID: r.contract, ContractServiceID: r.cs, ServiceID: r.service,
			Company: companies[company], Contract: companies[company] + " – Managed Services", Service: services[r.service], Units: r.units}
	}
	return out
}

// DemoFixture is the demo MSP: three companies, each with a recurring service contract
// running from a year before now to two years after, billing backup storage and licences.
func DemoFixture(now time.Time) Fixture {
	y, m, _ := now.UTC().Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(-1, 0, 0)
	end := start.AddDate(3, 0, 0)
	f := Fixture{
		Services: []Service{
			{ID: DemoServiceBackupGB, Name: "Backup Storage GB", Description: "Cloud backup storage per GB", UnitPrice: M("0.12"), UnitCost: M("0.04"), IsActive: true},
			{ID: DemoServiceServer, Name: "Server Licence", Description: "Backup agent licence per server", UnitPrice: M("45.00"), UnitCost: M("20.00"), IsActive: true},
			{ID: DemoServiceDesktop, Name: "Desktop Licence", Description: "Backup agent licence per desktop", UnitPrice: M("8.50"), UnitCost: M("3.00"), IsActive: true},
		},
	}
	seen := map[int64]bool{}
	for _, t := range DemoTargets() {
		if !seen[t.CompanyID] {
			seen[t.CompanyID] = true
			f.Companies = append(f.Companies, Company{ID: t.CompanyID, CompanyName: t.Company, CompanyNumber: "DEMO-" + t.Company[:3], CompanyType: 1, IsActive: true, CreateDate: Time{start}})
			f.Contracts = append(f.Contracts, Contract{ID: t.ContractID, ContractName: t.Contract, CompanyID: t.CompanyID,
				ContractType: contractTypeRecurringService, Status: 1, StartDate: Time{start}, EndDate: Time{end}})
		}
		f.ContractServices = append(f.ContractServices, SeedContractService{
			ContractService: ContractService{ID: t.ContractServiceID, ContractID: t.ContractID, ServiceID: t.ServiceID},
			Units:           t.Units,
		})
	}
	return f
}

// NewDemo returns an emulator holding the demo MSP and accepting DemoCredentials.
func NewDemo() *Server {
	f := DemoFixture(time.Now())
	return New(Options{Credentials: DemoCredentials, Fixture: &f, ZoneName: "Demo Zone"})
}
