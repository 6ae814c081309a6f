package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/console"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// pendingFixture is a tenant with an open licence cycle of n pending updates, the console
// on a Gin engine and a signed-in approver's session cookie.
func pendingFixture(tb testing.TB, n int) (http.Handler, *http.Cookie, string) {
	st := testenv.Store(tb, nil)
	ctx := context.Background()
	tn, err := st.CreateTenant(ctx, tenant.Tenant{ID: "bench", Name: "Bench MSP", TimeZone: "Europe/London", Settings: tenant.Defaults()})
	if err != nil {
		tb.Fatal(err)
	}
	cy, _, err := st.CreateCycle(ctx, store.Cycle{ID: uuid.NewString(), TenantID: tn.ID, Kind: billing.LicenceSync, Period: "2026-11",
		Mode: "advanced", Trigger: billing.Manual, StartedBy: "ann@bench.example", WorkflowID: "billing-cycle/bench/2026-11"})
	if err != nil {
		tb.Fatal(err)
	}
	items := make([]store.Item, 0, n)
	for i := range n {
		old, new := decimal.NewFromInt(int64(10+i%7)), decimal.NewFromInt(int64(10+i%11))
		if old.Equal(new) {
			new = new.Add(decimal.NewFromInt(1))
		}
		items = append(items, store.Item{CycleID: cy.ID, TenantID: tn.ID, Seq: i, AccountID: fmt.Sprintf("acc_%05d", i),
			AccountName: fmt.Sprintf("Client %05d Ltd", i), Item: "server", MappingID: fmt.Sprintf("m%d", i),
			Target:      store.ItemTarget{Target: psa.Target{CompanyID: int64(i), AgreementID: int64(i), AdditionID: int64(i)}},
			TargetLabel: fmt.Sprintf("Client %05d Ltd / Managed Services / LIC-SERVER", i),
			OldQty:      decimal.NewNullDecimal(old), NewQty: decimal.NewNullDecimal(new), Delta: decimal.NewNullDecimal(new.Sub(old)),
			State: billing.Pending})
	}
	for len(items) > 0 {
		k := min(500, len(items))
		if err := st.InsertItems(ctx, items[:k]); err != nil {
			tb.Fatal(err)
		}
		items = items[k:]
	}
	tok, _, err := st.CreateToken(ctx, store.Token{TenantID: tn.ID, Role: store.RoleApprover, OwnerEmail: "ann@bench.example"})
	if err != nil {
		tb.Fatal(err)
	}
	id, _, err := st.CreateSession(ctx, tok.ID, time.Now(), console.IdleTimeout, "", "")
	if err != nil {
		tb.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	console.New(console.Deps{Store: st, Starter: &starter.Starter{Store: st}, Guard: access.NewGuard(st, 1e9, 0)}).Register(r)
	return r, &http.Cookie{Name: "meterbridge_session", Value: id}, "/tenants/" + tn.ID + "/pending"
}

func TestPendingPageShowsOnePageOfFiveThousandRows(t *testing.T) {
	h, cookie, path := pendingFixture(t, 5000)
	for _, c := range []struct{ query, first, last string }{
		{"", "Client 00000 Ltd", "Client 00099 Ltd"},
		{"?page=50", "Client 04900 Ltd", "Client 04999 Ltd"},
	} {
		req := httptest.NewRequest(http.MethodGet, path+c.query, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d\n%s", c.query, rec.Code, body)
		}
		if n := strings.Count(body, `name="id"`); n != console.PendingPageSize {
			t.Fatalf("%s: %d rows, want %d", c.query, n, console.PendingPageSize)
		}
		if !strings.Contains(body, c.first) || !strings.Contains(body, c.last) || !strings.Contains(body, "5000 pending updates") {
			t.Fatalf("%s: the page does not show rows %s … %s of 5000", c.query, c.first, c.last)
		}
	}
}

// BenchmarkPendingPageFiveThousandRows measures the server's time to answer one page of the
// pending grid while 5,000 updates wait (session check, counts, the page's rows, render).
func BenchmarkPendingPageFiveThousandRows(b *testing.B) {
	h, cookie, path := pendingFixture(b, 5000)
	for _, page := range []string{"1", "25", "50"} {
		b.Run("page="+page, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path+"?page="+page, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
