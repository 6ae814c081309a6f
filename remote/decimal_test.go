package remote

import (
	"encoding/json"
	"testing"
)

func TestDecimalReadsNumbersAndStringsExactly(t *testing.T) {
	for in, want := range map[string]string{`310.2`: "310.2", `"0.1"`: "0.1", `1e3`: "1000", `-2.50`: "-2.5"} {
		var d Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil || !d.Set || d.D.String() != want {
			t.Errorf("%s → %v %v %v, want %s", in, d.D, d.Set, err, want)
		}
	}
	for _, in := range []string{`"abc"`, `1e999999999`, `"1,5"`, `true`} {
		var d Decimal
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s accepted as %v", in, d.D)
		}
	}
	var d Decimal
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d.Set {
		t.Errorf("null → set=%v err=%v", d.Set, err)
	}
}
