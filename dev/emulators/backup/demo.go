package backup

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Demo fixture: the key and clients NewDemo seeds. Other packages' demos and tests use these
// names instead of repeating the literals.
const (
	DemoAPIKey = "demo-backup-key"

	DemoClientAcme    = "cl_1001"
	DemoClientGlobex  = "cl_1002"
	DemoClientInitech = "cl_1003"

	DemoManagedIDAcme    = "ACME-001"
	DemoManagedIDGlobex  = "GLOBEX-002"
	DemoManagedIDInitech = "INITECH-003"
)

// DemoClients are the clients of NewDemo, each billed the same space in every month.
func DemoClients() []ClientRecord {
	return []ClientRecord{
		{ID: DemoClientAcme, Name: "Acme Corp", ManagedID: DemoManagedIDAcme, MonthlyGB: decimal.RequireFromString("120.75")},
		{ID: DemoClientGlobex, Name: "Globex Corporation", ManagedID: DemoManagedIDGlobex, MonthlyGB: decimal.RequireFromString("310.2")},
		{ID: DemoClientInitech, Name: "Initech", ManagedID: DemoManagedIDInitech, MonthlyGB: decimal.RequireFromString("88")},
	}
}

// NewDemo returns a service with DemoAPIKey and DemoClients.
func NewDemo() *Server {
	s := New(Options{APIKey: DemoAPIKey})
	for _, c := range DemoClients() {
		s.AddClient(c)
	}
	return s
}

// SeedClients adds n clients "cl_t0001"… with Managed IDs "MGD-0001"… billed gb every month
// and returns them in ID order.
func (s *Server) SeedClients(n int, gb decimal.Decimal) []ClientRecord {
	out := make([]ClientRecord, n)
	for i := range out {
		out[i] = ClientRecord{
			ID:        fmt.Sprintf("cl_t%04d", i+1),
			Name:      fmt.Sprintf("Test Client %04d", i+1),
			ManagedID: fmt.Sprintf("MGD-%04d", i+1),
			MonthlyGB: gb,
		}
		s.AddClient(out[i])
	}
	return out
}
