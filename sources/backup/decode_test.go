package backup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeUsagePage(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		wantGB  []string
		next    string
		wantErr string
	}{
		{"numbers", `{"data":[{"client_id":"a","managed_id":"A-1","billable_gb":310.2},{"client_id":"b","billable_gb":0.1}]}`, []string{"310.2", "0.1"}, "", ""},
		{"strings", `{"data":[{"client_id":"a","billable_gb":"120.750"}],"paging":{"next_cursor":"c2"}}`, []string{"120.75"}, "c2", ""},
		{"exponent", `{"data":[{"client_id":"a","billable_gb":1.5e2}]}`, []string{"150"}, "", ""},
		{"cursor from link only", `{"data":[],"paging":{"next":"https://h/v1/usage?cursor=abc%3D&year=2026"}}`, []string{}, "abc=", ""},
		{"empty month", `{"data":[]}`, []string{}, "", ""},
		{"no data", `{"clients":[]}`, nil, "", "no data"},
		{"missing billable", `{"data":[{"client_id":"a"}]}`, nil, "", "no billable_gb"},
		{"null billable", `{"data":[{"client_id":"a","billable_gb":null}]}`, nil, "", "no billable_gb"},
		{"negative", `{"data":[{"client_id":"a","billable_gb":-1}]}`, nil, "", "negative"},
		{"not a number", `{"data":[{"client_id":"a","billable_gb":"12 GB"}]}`, nil, "", "not a number"},
		{"huge exponent", `{"data":[{"client_id":"a","billable_gb":1e999999999}]}`, nil, "", "1e999999999"},
		{"exponent past scale", `{"data":[{"client_id":"a","billable_gb":"1e40"}]}`, nil, "", "out of range"},
		{"other month", `{"data":[{"client_id":"a","billable_gb":1,"year":2026,"month":10}]}`, nil, "", "asked for 2026-11"},
		{"no client id", `{"data":[{"billable_gb":1}]}`, nil, "", "no client_id"},
		{"link without cursor", `{"data":[],"paging":{"next":"https://h/v1/usage?page=2"}}`, nil, "", "no cursor"},
		{"html", `<html>502 Bad Gateway</html>`, nil, "", "decode usage page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decodeUsagePage([]byte(tc.body), 2026, time.November)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			got := []string{}
			for _, c := range p.Clients {
				got = append(got, c.BillableGB.String())
			}
			assert.Equal(t, tc.wantGB, got)
			assert.Equal(t, tc.next, p.Next)
		})
	}
}

func FuzzDecodeUsagePage(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"client_id":"a","name":"A","managed_id":"A-1","billable_gb":120.75,"year":2026,"month":11}],"paging":{"next_cursor":"x","next":"https://h/v1/usage?cursor=x"}}`,
		`{"data":[{"client_id":"a","billable_gb":"0.000000000000000000000000000001"}]}`,
		`{"data":[],"paging":{"next":"::"}}`,
		`{"data":null}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeUsagePage(body, 2026, time.November)
		if err != nil {
			return
		}
		for _, c := range p.Clients {
			if c.ClientID == "" || c.BillableGB.IsNegative() {
				t.Fatalf("accepted bad row %+v", c)
			}
			if len(c.BillableGB.String()) > 2*64 {
				t.Fatalf("decimal grew to %d characters", len(c.BillableGB.String()))
			}
		}
	})
}
