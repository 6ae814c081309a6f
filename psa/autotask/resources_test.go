package autotask

import (
	"testing"

	"github.com/shopspring/decimal"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/remote"
)

func TestResourcesReadAndCreateThroughTheEmulator(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	tg := e.target(t, 4)
	ctx := testCtx(t)
	k, err := e.client.Contract(ctx, tg.AgreementID)
	if err != nil || k.CompanyID != tg.CompanyID || k.ContractType != ContractTypeRecurringService || k.StartDate.IsZero() {
		t.Fatalf("contract = %+v, %v", k, err)
	}
	co, err := e.client.Company(ctx, tg.CompanyID)
	if err != nil || co.CompanyName != "Acme Dental" || !co.IsActive {
		t.Fatalf("company = %+v, %v", co, err)
	}
	svcID := e.emu.AddService("Server Licence", decimal.RequireFromString("45.50"))
	svcs, err := e.client.QueryServices(ctx, Eq("name", "Server Licence"))
	if err != nil || len(svcs) != 1 || !svcs[0].UnitPrice.Equal(decimal.RequireFromString("45.5")) {
		t.Fatalf("services = %+v, %v", svcs, err)
	}
	id, err := e.client.CreateContractService(ctx, tg.AgreementID, NewContractService{ServiceID: svcID, UnitPrice: decimal.RequireFromString("45.50"), InvoiceDescription: "Servers"})
	if err != nil || id == 0 {
		t.Fatalf("create contract service = %d, %v", id, err)
	}
	list, err := e.client.ContractServicesOf(ctx, tg.AgreementID)
	if err != nil || len(list) != 2 {
		t.Fatalf("contract services = %+v, %v", list, err)
	}
	cs, err := e.client.ContractService(ctx, id)
	if err != nil || cs.ServiceID != svcID || cs.InvoiceDescription != "Servers" {
		t.Fatalf("contract service = %+v, %v", cs, err)
	}
	rows, err := e.client.QueryContractServiceUnits(ctx, Eq("contractServiceID", tg.AdditionID))
	if err != nil || len(rows) != 36 || !rows[0].Units.Equal(decimal.NewFromInt(4)) {
		t.Fatalf("%d unit rows, %v", len(rows), err)
	}
	th, err := e.client.ThresholdInformation(ctx)
	if err != nil || th.ExternalRequestThreshold != 10000 || th.CurrentTimeframeRequestCount == 0 {
		t.Fatalf("threshold = %+v, %v", th, err)
	}
	if _, err := e.client.Service(ctx, 424242); remote.KindOf(err) != remote.NotFound {
		t.Errorf("missing service err = %v, want NotFound", err)
	}
	if _, err := e.client.QueryCompanies(ctx); remote.KindOf(err) != remote.Invalid {
		t.Errorf("query without a filter err = %v, want Invalid before sending", err)
	}
}
