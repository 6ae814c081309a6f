package psatest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// AgreementState is how an agreement (Autotask: contract) is seeded.
type AgreementState int

const (
	// AgreementOpen bills today.
	AgreementOpen AgreementState = iota
	// AgreementEnded ended before today.
	AgreementEnded
	// AgreementCancelled was cancelled (ConnectWise) or set inactive (Autotask).
	AgreementCancelled
)

// CatalogSeeder seeds what the look-ups read, in each PSA's own terms.
type CatalogSeeder interface {
	// SeedCompany adds a company; an inactive one is never offered.
	SeedCompany(t *testing.T, name, identifier string, active bool) int64
	// SeedAgreement adds an agreement (Autotask: a Recurring Service contract) to a company.
	SeedAgreement(t *testing.T, companyID int64, name string, state AgreementState) int64
	// SeedAddition adds an addition (Autotask: a contract service) billing qty today and
	// returns its id and the product name the PSA shows for it.
	SeedAddition(t *testing.T, agreementID int64, qty decimal.Decimal) (int64, string)
}

// runCatalog is the contract of psa.Catalog.
func runCatalog(t *testing.T, h Harness) {
	t.Run("CompanySearchPagesThroughEveryMatchOnce", func(t *testing.T) {
		env := h.Start(t)
		want := map[int64]string{}
		for i := range 7 {
			name := fmt.Sprintf("Lookup Alpha %d", i+1)
			want[env.SeedCompany(t, name, fmt.Sprintf("LA%d", i+1), true)] = name
		}
		env.SeedCompany(t, "Unrelated Beta", "UB1", true)
		gone := env.SeedCompany(t, "Lookup Alpha Former", "LAF", false)

		got := map[int64]string{}
		var pages []bool
		for page := 1; page <= 4; page++ {
			p, err := env.Client().SearchCompanies(ctx(t), psa.CompanyQuery{Text: "lookup alpha", Page: page, PageSize: 3})
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if p.Page != page || p.PageSize != 3 {
				t.Errorf("page %d answered as page %d of size %d", page, p.Page, p.PageSize)
			}
			for _, co := range p.Companies {
				if _, dup := got[co.ID]; dup {
					t.Errorf("company %d (%s) on two pages", co.ID, co.Name)
				}
				got[co.ID] = co.Name
				if co.Identifier == "" {
					t.Errorf("company %d has no identifier", co.ID)
				}
			}
			pages = append(pages, p.HasMore)
			if n := len(p.Companies); (page < 3 && n != 3) || (page == 3 && n != 1) || (page == 4 && n != 0) {
				t.Errorf("page %d has %d companies", page, n)
			}
		}
		if !slices.Equal(pages, []bool{true, true, false, false}) {
			t.Errorf("has_more per page = %v, want [true true false false]", pages)
		}
		if len(got) != len(want) {
			t.Errorf("found %v, want %v", got, want)
		}
		for id, name := range want {
			if got[id] != name {
				t.Errorf("company %d = %q, want %q", id, got[id], name)
			}
		}
		if _, ok := got[gone]; ok {
			t.Errorf("an inactive company was offered")
		}
	})

	t.Run("CompanySearchIgnoresCaseAndMatchesInsideNames", func(t *testing.T) {
		env := h.Start(t)
		north := env.SeedCompany(t, "Northwind Traders", "NWT", true)
		env.SeedCompany(t, "Contoso Ltd", "CON", true)
		for _, q := range []string{"northwind", "NORTHWIND", "wind trad", "nWt"} {
			p, err := env.Client().SearchCompanies(ctx(t), psa.CompanyQuery{Text: q, Page: 1, PageSize: 10})
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			if len(p.Companies) != 1 || p.Companies[0].ID != north || p.Companies[0].Name != "Northwind Traders" || p.HasMore {
				t.Errorf("%q found %+v", q, p)
			}
		}
		p, err := env.Client().SearchCompanies(ctx(t), psa.CompanyQuery{Text: "no such company", Page: 1, PageSize: 10})
		if err != nil || len(p.Companies) != 0 || p.HasMore || p.Companies == nil {
			t.Errorf("a fragment matching nothing = %+v, %v; want an empty (not null) page", p, err)
		}
	})

	t.Run("OffersOnlyAgreementsThatCanHoldAMapping", func(t *testing.T) {
		env := h.Start(t)
		co := env.SeedCompany(t, "Agreement Holder", "AH", true)
		other := env.SeedCompany(t, "Someone Else", "SE", true)
		open := env.SeedAgreement(t, co, "B Managed Services", AgreementOpen)
		open2 := env.SeedAgreement(t, co, "A Backup Services", AgreementOpen)
		ended := env.SeedAgreement(t, co, "Old Managed Services", AgreementEnded)
		cancelled := env.SeedAgreement(t, co, "Cancelled Services", AgreementCancelled)
		empty := env.SeedAgreement(t, co, "Nothing Billed", AgreementOpen)
		foreign := env.SeedAgreement(t, other, "Other Company Services", AgreementOpen)
		for _, ag := range []int64{open, open2, ended, cancelled, foreign} {
			env.SeedAddition(t, ag, decimal.NewFromInt(3))
		}
		_ = empty // no addition: a mapping could not point anywhere on it

		got, err := env.Client().BillableAgreements(ctx(t), co)
		if err != nil {
			t.Fatalf("BillableAgreements: %v", err)
		}
		var ids []int64
		for _, a := range got {
			ids = append(ids, a.ID)
			if a.CompanyID != co || a.Name == "" || a.Type == "" || a.StartDate == "" {
				t.Errorf("agreement %+v lacks what people recognise it by", a)
			}
		}
		if !slices.Equal(ids, []int64{open2, open}) {
			t.Errorf("offered agreements %v, want %v (open ones by name; not ended %d, cancelled %d, empty %d or another company's %d)",
				ids, []int64{open2, open}, ended, cancelled, empty, foreign)
		}
	})

	t.Run("ListsAdditionsWithNamesAndTodaysQuantities", func(t *testing.T) {
		env := h.Start(t)
		co := env.SeedCompany(t, "Addition Holder", "ADH", true)
		ag := env.SeedAgreement(t, co, "Managed Services", AgreementOpen)
		a1, p1 := env.SeedAddition(t, ag, decimal.NewFromInt(7))
		a2, p2 := env.SeedAddition(t, ag, decimal.NewFromInt(12))
		got, err := env.Client().BillableAdditions(ctx(t), ag)
		if err != nil {
			t.Fatalf("BillableAdditions: %v", err)
		}
		want := map[int64]struct {
			product string
			qty     int64
		}{a1: {p1, 7}, a2: {p2, 12}}
		if len(got) != 2 {
			t.Fatalf("got %d additions, want 2: %+v", len(got), got)
		}
		for _, a := range got {
			w, ok := want[a.ID]
			switch {
			case !ok:
				t.Errorf("unexpected addition %+v", a)
			case a.AgreementID != ag || a.Product != w.product || a.ProductID == 0:
				t.Errorf("addition %+v, want agreement %d and product %q", a, ag, w.product)
			case !a.Quantity.Equal(decimal.NewFromInt(w.qty)):
				t.Errorf("addition %d quantity %s, want %d", a.ID, a.Quantity, w.qty)
			case a.WholeUnits != env.WholeUnits():
				t.Errorf("addition %d whole units %v, want %v", a.ID, a.WholeUnits, env.WholeUnits())
			}
		}
		// What the look-up offers, DescribeTarget accepts: the mapping page never offers a
		// target the mapping check then refuses.
		for _, a := range got {
			if _, err := env.Client().DescribeTarget(ctx(t), psa.Target{CompanyID: co, AgreementID: ag, AdditionID: a.ID}); err != nil {
				t.Errorf("DescribeTarget refuses offered addition %d: %v", a.ID, err)
			}
		}
	})

	t.Run("UnknownAndClosedIDsAreNotFound", func(t *testing.T) {
		env := h.Start(t)
		co := env.SeedCompany(t, "Closed Holder", "CH", true)
		ended := env.SeedAgreement(t, co, "Old Services", AgreementEnded)
		env.SeedAddition(t, ended, decimal.NewFromInt(1))
		cancelled := env.SeedAgreement(t, co, "Cancelled Services", AgreementCancelled)
		env.SeedAddition(t, cancelled, decimal.NewFromInt(1))
		if _, err := env.Client().BillableAgreements(ctx(t), 987654321); remote.KindOf(err) != remote.NotFound {
			t.Errorf("agreements of an unknown company: err = %v, want not found", err)
		}
		for name, id := range map[string]int64{"unknown": 987654321, "ended": ended, "cancelled": cancelled} {
			if _, err := env.Client().BillableAdditions(ctx(t), id); remote.KindOf(err) != remote.NotFound {
				t.Errorf("additions of the %s agreement %d: err = %v, want not found", name, id, err)
			}
		}
	})

	t.Run("LookupsWithBadCredentialsFailFast", func(t *testing.T) {
		env := h.Start(t)
		co := env.SeedCompany(t, "Credential Check", "CC", true)
		before := env.Faults().Counts().Requests
		_, err := env.ClientWithBadCredentials().SearchCompanies(ctx(t), psa.CompanyQuery{Text: "credential", Page: 1, PageSize: 5})
		if remote.KindOf(err) != remote.Credentials {
			t.Errorf("SearchCompanies err = %v, want a credentials error", err)
		}
		if _, err := env.ClientWithBadCredentials().BillableAgreements(ctx(t), co); remote.KindOf(err) != remote.Credentials {
			t.Errorf("BillableAgreements err = %v, want a credentials error", err)
		}
		if n := env.Faults().Counts().Requests - before; n > 4 {
			t.Errorf("client sent %d requests with bad credentials; a credentials error must not be retried", n)
		}
	})
}
