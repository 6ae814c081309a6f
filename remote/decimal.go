package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"
)

// Services send quantities as JSON numbers or as strings; both are read from their text so a
// value like 310.2 never passes through float64.
var numberSyntax = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// Bounds keep a hostile or broken response from producing a decimal whose String() would
// allocate without limit (1e999999999).
const (
	maxNumberLen   = 64
	maxNumberScale = 30
)

// Decimal is a decimal field of a response; Set is false when it was missing or null.
type Decimal struct {
	D   decimal.Decimal
	Set bool
}

// UnmarshalJSON reads a JSON number or numeric string exactly.
func (f *Decimal) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		f.D, f.Set = decimal.Decimal{}, false
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	}
	d, err := ParseDecimal(text)
	if err != nil {
		return err
	}
	f.D, f.Set = d, true
	return nil
}

// ParseDecimal parses a plain or exponent decimal within sane bounds.
func ParseDecimal(s string) (decimal.Decimal, error) {
	if len(s) > maxNumberLen {
		return decimal.Decimal{}, errors.New("number too long")
	}
	if !numberSyntax.MatchString(s) {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
	}
	if e := d.Exponent(); e > maxNumberScale || e < -maxNumberScale {
		return decimal.Decimal{}, fmt.Errorf("%q is out of range", s)
	}
	return d, nil
}
