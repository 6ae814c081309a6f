package connectwise

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConditionsMatchLikeTheAPI(t *testing.T) {
	res := newStore().res[Additions]
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{
		"id": 7, "quantity": 100.5, "description": "Backup [meterbridge:t/1] 100% \"quoted\"",
		"product": {"id": 201, "identifier": "BKP-GB", "name": "Cloud backup"},
		"effectiveDate": "2024-01-01T00:00:00Z", "cancelledDate": null, "taxableFlag": false,
		"_info": {"lastUpdated": "2025-02-03T04:05:06Z"}}`), &d))
	d = normalizeNumbers(d)
	cases := map[string]bool{
		`id = 7`:  true,
		`ID = 7`:  true,
		`id != 7`: false,
		`id <> 8`: true,
		`quantity > 100.49 and quantity < 100.51`:        true,
		`quantity >= 100.5 AND quantity <= 100.5`:        true,
		`product/id = 201`:                               true,
		`product/identifier = "bkp-gb"`:                  true,
		`product/identifier = 'BKP-GB'`:                  true,
		`product/name like "cloud%"`:                     true,
		`product/name like "*backup"`:                    true,
		`product/identifier like "BKP_GB"`:               true,
		`product/identifier like "BKP_"`:                 false,
		`description contains "100%"`:                    true,
		`description contains "\"quoted\""`:              true,
		`description like "%[[]meterbridge:t/1]%"`:       true,
		`description not contains "nope"`:                true,
		`description not like "Backup%"`:                 false,
		`cancelledDate = null`:                           true,
		`cancelledDate != null`:                          false,
		`effectiveDate != null`:                          true,
		`cancelledDate > [2020-01-01T00:00:00Z]`:         false,
		`effectiveDate < [2024-01-01T00:00:01Z]`:         true,
		`effectiveDate = [2024-01-01]`:                   true,
		`lastUpdated > [2025-01-01T00:00:00Z]`:           true,
		`_info/lastUpdated < [2025-01-01T00:00:00Z]`:     false,
		`taxableFlag = false`:                            true,
		`taxableFlag = True`:                             false,
		`id in (1, 7, 9)`:                                true,
		`id not in (1, 9)`:                               true,
		`product/identifier in ("LIC-SERVER", "BKP-GB")`: true,
		`not id = 7`:                                     false,
		`not (id = 7 or id = 8)`:                         false,
		`id = 8 or id = 7 and quantity = 1`:              false,
		`(id = 8 or id = 7) and quantity = 100.5`:        true,
		`id = 8 or id = 7 and quantity = 100.5`:          true,
	}
	for expr, want := range cases {
		c, err := parseConditions(res, expr)
		if !assert.NoError(t, err, expr) {
			continue
		}
		assert.Equal(t, want, c.eval(d), expr)
	}
}

// normalizeNumbers turns float64s from json.Unmarshal into json.Numbers as the store holds.
func normalizeNumbers(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	_ = decodeNumbers(b, &out)
	return out
}

func TestLikeMatchesSQLPatterns(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"%", "", true}, {"a%", "abc", true}, {"%c", "abc", true}, {"a%c", "abbbc", true}, {"a*c", "ac", true},
		{"a_c", "abc", true}, {"a_c", "ac", false}, {"%b%", "abc", true}, {"%x%", "abc", false},
		{"[%]%", "%off", true}, {"[%]%", "off", false}, {"a[_]b", "a_b", true}, {"a[_]b", "axb", false}, {"abc", "abcd", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, likeMatch(tc.p, tc.s), "%q like %q", tc.s, tc.p)
	}
}

func FuzzParseConditions(f *testing.F) {
	for _, s := range []string{`id = 1`, `name like "a%" and (id in (1,2) or not cancelledFlag = true)`, `((((`, `"`, `[`, `lastUpdated > [2024-01-01T00:00:00Z]`, `company/id != null`} {
		f.Add(s)
	}
	res := newStore().res[Companies]
	d := map[string]any{"id": json.Number("1"), "name": "x", "company": map[string]any{"id": json.Number("2")}}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := parseConditions(res, expr)
		if err == nil {
			c.eval(d)
		}
	})
}
