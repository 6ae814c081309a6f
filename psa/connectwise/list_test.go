package connectwise

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseLinkReadsEveryRel(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   map[string]string
	}{
		{"recorded shape", []string{`<https://h/v4_6_release/apis/3.0/company/companies?pageSize=1000&page=2>; rel="next", <https://h/v4_6_release/apis/3.0/company/companies?pageSize=1000&page=5>; rel="last"`},
			map[string]string{"next": "https://h/v4_6_release/apis/3.0/company/companies?pageSize=1000&page=2", "last": "https://h/v4_6_release/apis/3.0/company/companies?pageSize=1000&page=5"}},
		{"several header lines", []string{`<u1>; rel="prev"`, `<u2>; rel="next"`}, map[string]string{"prev": "u1", "next": "u2"}},
		{"bare rel and other params", []string{`<u1>; title="a, b; c"; rel=next`}, map[string]string{"next": "u1"}},
		{"several rels on one link", []string{`<u1>; rel="next last"`}, map[string]string{"next": "u1", "last": "u1"}},
		{"case of rel", []string{`<u1>; REL="Next"`}, map[string]string{"next": "u1"}},
		{"comma inside the URL", []string{`<https://h/x?conditions=id%20in%20(1,2)&page=2>; rel="next"`}, map[string]string{"next": "https://h/x?conditions=id%20in%20(1,2)&page=2"}},
		{"first one wins", []string{`<u1>; rel="next", <u2>; rel="next"`}, map[string]string{"next": "u1"}},
		{"empty (last forward-only page)", []string{``}, map[string]string{}},
		{"garbage skipped", []string{`nonsense, <u1>; rel="next"`}, map[string]string{"next": "u1"}},
		{"unterminated", []string{`<u1; rel="next"`}, map[string]string{}},
		{"no rel", []string{`<u1>; title="x"`}, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ParseLink(tc.values))
		})
	}
}

func TestPageOfReadsTheNextPageNumber(t *testing.T) {
	n, err := pageOf("https://h/apis/3.0/x?conditions=a&pageSize=2&page=3")
	assert.NoError(t, err)
	assert.Equal(t, 3, n)
	for _, bad := range []string{"https://h/x?pageSize=2", "https://h/x?page=zero", "https://h/x?page=0", "%zz"} {
		_, err := pageOf(bad)
		assert.Error(t, err, bad)
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add(`<https://h/x?page=2>; rel="next", <https://h/x?page=9>; rel="last"`)
	f.Add(`<u>; rel=next; title="a\"b, c"`)
	f.Add(`,,,<`)
	f.Add(`"unterminated`)
	f.Fuzz(func(t *testing.T, v string) {
		for rel, u := range ParseLink([]string{v}) {
			if strings.ContainsAny(u, "<>") || rel == "" || strings.ToLower(rel) != rel {
				t.Fatalf("ParseLink(%q) gave %q -> %q", v, rel, u)
			}
		}
	})
}
