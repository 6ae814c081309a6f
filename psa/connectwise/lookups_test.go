package connectwise

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/psa"
)

func TestCompanySearchAsksForOnePageByNameWithoutDeletedOrInactive(t *testing.T) {
	e := startEnv(t, cwemu.Options{})
	e.emu.SeedCompany(cwemu.Company{Identifier: "Harbor2", Name: "Harbor Freight Two"})
	e.emu.SeedCompany(cwemu.Company{Identifier: "Harbor1", Name: "Harbor Freight One"})
	e.emu.SeedCompany(cwemu.Company{Identifier: "HarborX", Name: "Harbor Freight Deleted", Deleted: true})
	e.emu.SeedCompany(cwemu.Company{Identifier: "HarborI", Name: "Harbor Freight Former", Status: "Inactive"})
	e.emu.SeedCompany(cwemu.Company{Identifier: "HarborC", Name: "Harbor Freight On Hold", Status: "Credit Hold"})

	p, err := e.good.SearchCompanies(testCtx(t), psa.CompanyQuery{Text: " harbor ", Page: 1, PageSize: 2})
	require.NoError(t, err)
	assert.Equal(t, []psa.Company{{ID: p.Companies[0].ID, Name: "Harbor Freight On Hold", Identifier: "HarborC"},
		{ID: p.Companies[1].ID, Name: "Harbor Freight One", Identifier: "Harbor1"}}, p.Companies)
	assert.True(t, p.HasMore)
	p2, err := e.good.SearchCompanies(testCtx(t), psa.CompanyQuery{Text: "harbor", Page: 2, PageSize: 2})
	require.NoError(t, err)
	require.Len(t, p2.Companies, 1)
	assert.Equal(t, "Harbor Freight Two", p2.Companies[0].Name)
	assert.False(t, p2.HasMore)

	reqs := e.requests("/company/companies?")
	require.Len(t, reqs, 2, "one request per page")
	q := reqs[1].Query
	assert.Equal(t, `(name contains "harbor" or identifier contains "harbor") and deletedFlag = false and status/name != "Inactive"`, q.Get("conditions"))
	assert.Equal(t, "name asc", q.Get("orderBy"))
	assert.Equal(t, "2", q.Get("page"))
	assert.Equal(t, "2", q.Get("pageSize"))
}

func TestLookupsOfferAdditionsNotCancelledWithTheirCatalogNames(t *testing.T) {
	e := startEnv(t, cwemu.Options{})
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	co := e.emu.SeedCompany(cwemu.Company{Identifier: "Tailspin", Name: "Tailspin Toys"})
	ag := e.emu.SeedAgreement(cwemu.Agreement{CompanyID: co, TypeID: cwemu.AgreementTypeBackup, Name: "Tailspin Backup", StartDate: start})
	onlyCancelled := e.emu.SeedAgreement(cwemu.Agreement{CompanyID: co, TypeID: cwemu.AgreementTypeBackup, Name: "Tailspin Old Backup", StartDate: start})
	backup := e.emu.SeedAddition(cwemu.Addition{AgreementID: ag, ProductID: cwemu.ProductBackupGB, Quantity: decimal.RequireFromString("42.75"), EffectiveDate: start})
	server := e.emu.SeedAddition(cwemu.Addition{AgreementID: ag, ProductID: cwemu.ProductServerLicence, Quantity: decimal.NewFromInt(3), EffectiveDate: start})
	later := e.emu.SeedAddition(cwemu.Addition{AgreementID: ag, ProductID: cwemu.ProductDesktopLicence, Quantity: decimal.NewFromInt(9), EffectiveDate: start,
		CancelledDate: time.Now().UTC().AddDate(0, 1, 0).Truncate(24 * time.Hour)})
	e.emu.SeedAddition(cwemu.Addition{AgreementID: ag, ProductID: cwemu.ProductDesktopLicence, Quantity: decimal.NewFromInt(5), EffectiveDate: start,
		CancelledDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.emu.SeedAddition(cwemu.Addition{AgreementID: onlyCancelled, ProductID: cwemu.ProductBackupGB, Quantity: decimal.NewFromInt(5), EffectiveDate: start,
		CancelledDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})

	ags, err := e.good.BillableAgreements(testCtx(t), co)
	require.NoError(t, err)
	require.Len(t, ags, 1, "an agreement whose additions are all cancelled cannot hold a mapping: %+v", ags)
	assert.Equal(t, psa.Agreement{ID: ag, CompanyID: co, Name: "Tailspin Backup", Type: "Backup Services", StartDate: "2024-01-01"}, ags[0])

	adds, err := e.good.BillableAdditions(testCtx(t), ag)
	require.NoError(t, err)
	assert.Equal(t, []psa.Addition{
		{ID: backup, AgreementID: ag, ProductID: cwemu.ProductBackupGB, Product: "BKP-GB", Description: "Cloud backup storage (per GB)", Quantity: decimal.RequireFromString("42.75"), Unit: "GB"},
		{ID: later, AgreementID: ag, ProductID: cwemu.ProductDesktopLicence, Product: "LIC-DESKTOP", Description: "Backup licence - desktop", Quantity: decimal.NewFromInt(9), Unit: "Each"},
		{ID: server, AgreementID: ag, ProductID: cwemu.ProductServerLicence, Product: "LIC-SERVER", Description: "Backup licence - server", Quantity: decimal.NewFromInt(3), Unit: "Each"},
	}, adds, "by product; an addition cancelled from next month still bills today")
	assert.Len(t, e.requests("/procurement/catalog?"), 1, "products are read in one listing")
}
