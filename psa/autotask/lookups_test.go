package autotask

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// Autotask pages by nextPageUrl only, and may cap a page below MaxRecords: page N of a
// search is still the N-th slice of the matches, following nextPageUrl as far as needed.
func TestCompanySearchFollowsNextPageURLWhenTheServiceCapsPages(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	var ids []int64
	for i := range 8 {
		ids = append(ids, e.emu.AddCompanyWith(emu.Company{CompanyName: fmt.Sprintf("Paged Dental %d", i+1), IsActive: true}))
	}
	e.emu.SetMaxPageSize(2)
	p, err := e.client.SearchCompanies(testCtx(t), psa.CompanyQuery{Text: "paged dental", Page: 2, PageSize: 3})
	require.NoError(t, err)
	var got []int64
	for _, co := range p.Companies {
		got = append(got, co.ID)
	}
	assert.Equal(t, ids[3:6], got, "id order: Autotask queries have no sort")
	assert.True(t, p.HasMore)

	p, err = e.client.SearchCompanies(testCtx(t), psa.CompanyQuery{Text: "paged dental", Page: 3, PageSize: 3})
	require.NoError(t, err)
	require.Len(t, p.Companies, 2)
	assert.False(t, p.HasMore)
}

func TestContractsOfferedRunTodayAndAreRecurring(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	start, end := span(time.Now())
	co := e.emu.AddCompany("Wingtip Toys")
	k := e.emu.AddContract(co, "Wingtip Managed Services", start, end)
	future := e.emu.AddContract(co, "Wingtip Next Year", end, end.AddDate(1, 0, 0))
	svc := e.emu.AddService("Backup Storage GB", decimal.RequireFromString("0.10"))
	for _, id := range []int64{k, future} {
		_, err := e.emu.AddContractService(id, svc, 10)
		require.NoError(t, err)
	}
	got, err := e.client.BillableAgreements(testCtx(t), co)
	require.NoError(t, err)
	require.Len(t, got, 1, "a contract that starts later has no units today: DescribeTarget would refuse it")
	assert.Equal(t, psa.Agreement{ID: k, CompanyID: co, Name: "Wingtip Managed Services", Type: "Recurring Service",
		StartDate: start.Format(time.DateOnly), EndDate: end.Format(time.DateOnly)}, got[0])

	_, err = e.client.BillableAdditions(testCtx(t), future)
	require.NoError(t, err, "a contract that starts later is not closed; it just has nothing billing today")
	_, err = e.client.BillableAgreements(testCtx(t), 424242)
	assert.Equal(t, remote.NotFound, remote.KindOf(err), "%v", err)
}
