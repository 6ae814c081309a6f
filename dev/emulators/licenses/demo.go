package licenses

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Licence types the demo portal uses.
const (
	TypeServer  = "server"
	TypeDesktop = "desktop"
	TypeCloudGB = "cloud_gb"
)

// Demo fixture: the token and accounts NewDemo seeds.
const (
	DemoAPIToken = "demo-licenses-token"

	DemoAccountAcme     = "acc_1001"
	DemoAccountGlobex   = "acc_1002"
	DemoAccountInitech  = "acc_1003"
	DemoAccountUmbrella = "acc_1004"
)

// DemoLicence is one seeded figure of the demo portal.
type DemoLicence struct {
	AccountID   string
	AccountName string
	Type        string
	Units       decimal.Decimal
}

// DemoAccounts lists the demo portal's figures in the order the API returns them.
func DemoAccounts() []DemoLicence {
	d := decimal.RequireFromString
	return []DemoLicence{
		{DemoAccountAcme, "Acme Corp", TypeCloudGB, d("512.5")},
		{DemoAccountAcme, "Acme Corp", TypeDesktop, d("25")},
		{DemoAccountAcme, "Acme Corp", TypeServer, d("4")},
		{DemoAccountGlobex, "Globex Corporation", TypeCloudGB, d("1024")},
		{DemoAccountGlobex, "Globex Corporation", TypeDesktop, d("40")},
		{DemoAccountGlobex, "Globex Corporation", TypeServer, d("2")},
		{DemoAccountInitech, "Initech", TypeCloudGB, d("250.25")},
		{DemoAccountInitech, "Initech", TypeDesktop, d("12")},
		{DemoAccountInitech, "Initech", TypeServer, d("1")},
		{DemoAccountUmbrella, "Umbrella Health", TypeDesktop, d("80")},
		{DemoAccountUmbrella, "Umbrella Health", TypeServer, d("6")},
	}
}

// NewDemo returns a portal with DemoAPIToken and DemoAccounts.
func NewDemo() *Server {
	s := New(Options{APIToken: DemoAPIToken})
	for _, l := range DemoAccounts() {
		s.AddAccount(Account{ID: l.AccountID, Name: l.AccountName})
		_ = s.SetUnits(l.AccountID, l.Type, l.Units)
	}
	return s
}

// SeedAccounts adds n accounts "acc_t0001"… each holding units of every given type and
// returns their IDs in order.
func (s *Server) SeedAccounts(n int, units map[string]decimal.Decimal) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("acc_t%04d", i+1)
		s.AddAccount(Account{ID: ids[i], Name: fmt.Sprintf("Test Account %04d", i+1)})
		for t, u := range units {
			_ = s.SetUnits(ids[i], t, u)
		}
	}
	return ids
}
