package licenses

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeAccountsPage(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    []string // account/type=units
		next    string
		wantErr string
	}{
		{"numbers and strings", `{"data":[{"id":"a","name":"A","licenses":[{"type":"server","units":4},{"type":"cloud_gb","units":"512.50"}]}],"links":{"next":null}}`, []string{"a/server=4", "a/cloud_gb=512.5"}, "", ""},
		{"next page", `{"data":[{"id":"a","licenses":[]}],"links":{"next":"https://h/v1/accounts?page=3&per_page=2"}}`, []string{}, "3", ""},
		{"account without licences", `{"data":[{"id":"a"}]}`, []string{}, "", ""},
		{"no data", `{"accounts":[]}`, nil, "", "no data"},
		{"no id", `{"data":[{"name":"A"}]}`, nil, "", "no id"},
		{"no type", `{"data":[{"id":"a","licenses":[{"units":1}]}]}`, nil, "", "without type"},
		{"no units", `{"data":[{"id":"a","licenses":[{"type":"server"}]}]}`, nil, "", "no units"},
		{"negative", `{"data":[{"id":"a","licenses":[{"type":"server","units":-2}]}]}`, nil, "", "negative"},
		{"twice", `{"data":[{"id":"a","licenses":[{"type":"server","units":1},{"type":"server","units":2}]}]}`, nil, "", "twice"},
		{"account twice", `{"data":[{"id":"a","licenses":[{"type":"server","units":1}]},{"id":"a","licenses":[{"type":"server","units":1}]}]}`, nil, "", "twice"},
		{"next does not advance", `{"data":[],"links":{"next":"https://h/v1/accounts?page=2"}}`, nil, "", "does not move"},
		{"float text", `{"data":[{"id":"a","licenses":[{"type":"server","units":"NaN"}]}]}`, nil, "", "not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decodeAccountsPage([]byte(tc.body), 2)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			got := []string{}
			for _, c := range p.Counts {
				got = append(got, c.AccountID+"/"+c.LicenceType+"="+c.Units.String())
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.next, p.Next)
		})
	}
}

func TestDecodeProblemReadsCodeAndField(t *testing.T) {
	e := decodeProblem(400, http.Header{}, []byte(`{"type":"https://portal.example/problems/invalid-parameter","title":"Bad Request","status":400,"detail":"per_page too big","invalid_params":[{"name":"per_page","reason":"at most 100"}]}`))
	assert.Equal(t, "invalid-parameter", e.Code)
	assert.Equal(t, "per_page", e.Field)
	assert.Equal(t, "per_page too big: at most 100", e.Message)

	e = decodeProblem(502, http.Header{}, []byte("<html>bad gateway</html>"))
	assert.Equal(t, "unexpected answer: HTTP 502 Bad Gateway, 24 bytes (not shown)", e.Message, "a body not in the problem format is described, never quoted")
	assert.Empty(t, e.Code)
}

func FuzzDecodeAccountsPage(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"id":"acc_1","name":"A","status":"active","licenses":[{"type":"server","units":4},{"type":"cloud_gb","units":512.5}]}],"meta":{"page":1},"links":{"self":"x","next":"https://h/v1/accounts?page=2"}}`,
		`{"data":[],"links":{"next":"%zz"}}`,
		`{"data":[{"id":"a","licenses":[{"type":"t","units":"1e-30"}]}]}`,
		`null`,
	} {
		f.Add([]byte(s), 1)
	}
	f.Fuzz(func(t *testing.T, body []byte, page int) {
		p, err := decodeAccountsPage(body, page)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range p.Counts {
			key := c.AccountID + "\x00" + c.LicenceType
			if c.AccountID == "" || c.LicenceType == "" || c.Units.IsNegative() || seen[key] {
				t.Fatalf("accepted bad count %+v", c)
			}
			seen[key] = true
		}
		if p.Next != "" {
			if n, err := strconv.Atoi(p.Next); err != nil || n <= page {
				t.Fatalf("next %q does not move past page %d", p.Next, page)
			}
		}
	})
}
