package connectwise

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConditionsRenderValuesTheWayTheAPIParsesThem(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		c    Condition
		want string
	}{
		{"string", Eq("name", "Help Desk"), `name = "Help Desk"`},
		{"double quote escaped", Eq("name", `Bob "The" Builder`), `name = "Bob \"The\" Builder"`},
		{"backslash escaped", Eq("name", `C:\temp`), `name = "C:\\temp"`},
		{"backslash then quote", Eq("name", `a\"b`), `name = "a\\\"b"`},
		{"percent kept (URL encoding handles it)", Eq("name", "100%"), `name = "100%"`},
		{"single quote kept", Eq("name", "Bob's"), `name = "Bob's"`},
		{"unicode kept", Eq("name", "Ünïcødé"), `name = "Ünïcødé"`},
		{"int", Eq("company/id", 250), `company/id = 250`},
		{"int64", Ne("id", int64(-7)), `id != -7`},
		{"decimal exact", Gt("quantity", decimal.RequireFromString("0.30")), `quantity > 0.3`},
		{"number", Ge("quantity", NewNumber(decimal.RequireFromString("1234567.891"))), `quantity >= 1234567.891`},
		{"bool", Eq("cancelledFlag", false), `cancelledFlag = false`},
		{"null", Eq("parentTicketId", nil), `parentTicketId = null`},
		{"datetime", Gt("lastUpdated", day), `lastUpdated > [2024-01-01T00:00:00Z]`},
		{"datetime in UTC whole seconds", Lt("lastUpdated", time.Date(2024, 1, 1, 12, 30, 15, 999, time.FixedZone("X", 3600))), `lastUpdated < [2024-01-01T11:30:15Z]`},
		{"Time", Le("effectiveDate", NewTime(day)), `effectiveDate <= [2024-01-01T00:00:00Z]`},
		{"in ints", InInts("id", []int64{1, 2, 3}), `id in (1, 2, 3)`},
		{"in strings", InStrings("identifier", []string{"a", `b"c`}), `identifier in ("a", "b\"c")`},
		{"not in", NotIn("status/name", "Closed", "Cancelled"), `status/name not in ("Closed", "Cancelled")`},
		{"contains", Contains("name", "Managed"), `name contains "Managed"`},
		{"like", Like("type/name", "%Managed%"), `type/name like "%Managed%"`},
		{"and", And(Eq("a", 1), Eq("b", 2)), `a = 1 and b = 2`},
		{"or inside and is parenthesised", And(Eq("a", 1), Or(Eq("b", 2), Eq("c", 3))), `a = 1 and (b = 2 or c = 3)`},
		{"and inside or is parenthesised", Or(And(Eq("a", 1), Eq("b", 2)), Eq("c", 3)), `(a = 1 and b = 2) or c = 3`},
		{"zero conditions skipped", And(Condition{}, Eq("a", 1), Condition{}), `a = 1`},
		{"single keeps its own parens", And(InInts("id", []int64{1})), `id in (1)`},
		{"method form", Eq("a", 1).And(Eq("b", 2)).Or(Eq("c", 3)), `(a = 1 and b = 2) or c = 3`},
		{"not", Not(Or(Eq("a", 1), Eq("b", 2))), `not (a = 1 or b = 2)`},
		{"empty", And(), ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Build()
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConditionsRefuseWhatCannotBeSentSafely(t *testing.T) {
	cases := map[string]Condition{
		"control character":      Eq("name", "line\nbreak"),
		"invalid UTF-8":          Eq("name", "\xff"),
		"field with a space":     Eq("name or 1", 1),
		"field with a quote":     Eq(`name"`, 1),
		"empty field":            Eq("", 1),
		"empty in list":          In("id"),
		"unsupported type":       Eq("id", struct{}{}),
		"zero time":              Gt("lastUpdated", time.Time{}),
		"error survives and":     And(Eq("a", 1), Eq("b", "x\x00")),
		"error survives not":     Not(Eq("b", "x\x00")),
		"not of nothing":         Not(Condition{}),
		"bad value inside in":    In("name", "ok", "bad\r"),
		"slash path leading":     Eq("/company/id", 1),
		"slash path trailing":    Eq("company/", 1),
		"injected operator path": Eq("id=1", 1),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Build()
			assert.Error(t, err)
			assert.Contains(t, c.String(), "invalid condition")
		})
	}
}

func TestListOptionsEncodeTheQuery(t *testing.T) {
	q, err := ListOptions{
		Conditions: Eq("name", `A&B + "C" 100%`),
		OrderBy:    Order{Field: "name", Desc: true},
		Fields:     []string{"id", "company/id"},
	}.query()
	require.NoError(t, err)
	enc := encodeQuery(q)
	assert.Equal(t, "conditions=name%20%3D%20%22A%26B%20%2B%20%5C%22C%5C%22%20100%25%22&fields=id%2Ccompany%2Fid&orderBy=name%20desc&pageSize=1000", enc)
	assert.NotContains(t, enc, "+", "a literal + would read as a space")

	_, err = ListOptions{OrderBy: Order{Field: "name; drop"}}.query()
	assert.Error(t, err)
	_, err = ListOptions{Fields: []string{"id,name"}}.query()
	assert.Error(t, err)
}

// unquote reverses Quote, failing on anything Quote cannot have produced.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		switch in[i] {
		case '\\':
			if i+1 >= len(in) || (in[i+1] != '\\' && in[i+1] != '"') {
				return "", false
			}
			i++
			b.WriteByte(in[i])
		case '"':
			return "", false // an unescaped quote would end the string early
		default:
			b.WriteByte(in[i])
		}
	}
	return b.String(), true
}

func FuzzConditions(f *testing.F) {
	for _, s := range []string{"", "plain", `a"b`, `a\b`, `\"`, `" or 1=1 or "`, "100%", "x\ny", "Ünïcødé", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Quote(s)
		if err != nil {
			if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("Quote(%q) refused a string without control characters: %v", s, err)
			}
			return
		}
		back, ok := unquote(q)
		if !ok || back != s {
			t.Fatalf("Quote(%q) = %s, which does not read back (got %q, %v)", s, q, back, ok)
		}
		// The value can never end the string early: every quote inside is escaped.
		expr, err := Eq("name", s).And(Eq("id", 1)).Build()
		if err != nil {
			t.Fatalf("Eq: %v", err)
		}
		if !strings.HasSuffix(expr, ` and id = 1`) || !strings.HasPrefix(expr, `name = "`) {
			t.Fatalf("condition shape broken: %s", expr)
		}
	})
}
