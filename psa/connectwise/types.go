package connectwise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/remote"
)

// Number is a decimal that travels as a bare JSON number. Quantities keep every digit the
// API sends and that we send, without passing through float64 (decimal.Decimal on its own
// would marshal as a quoted string).
// Unconfirmed: how many digits the server keeps (the spec types quantities as doubles);
// SetQuantity reads every write back, so a rounded value is reported, never assumed.
type Number struct{ decimal.Decimal }

// NewNumber wraps d.
func NewNumber(d decimal.Decimal) Number { return Number{d} }

// MarshalJSON writes d as a plain JSON number ("123.45", never an exponent).
func (n Number) MarshalJSON() ([]byte, error) { return []byte(n.Decimal.String()), nil }

// UnmarshalJSON reads a JSON number exactly; a quoted number is accepted too because some
// integrations stringify numbers and the API echoes what it stores.
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		n.Decimal = decimal.Zero
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return fmt.Errorf("connectwise number %s: %w", s, err)
		}
		s = u
	}
	// remote.ParseDecimal bounds length and exponent, so a broken response cannot make
	// a decimal whose String() allocates without limit.
	d, err := remote.ParseDecimal(s)
	if err != nil {
		return fmt.Errorf("connectwise number: %w", err)
	}
	n.Decimal = d
	return nil
}

// wireTime is the one datetime format the API is documented to parse: UTC, whole seconds.
const wireTime = "2006-01-02T15:04:05Z"

// Time is a ConnectWise datetime. Date-only business fields (startDate, effectiveDate)
// travel as midnight UTC too.
type Time struct{ time.Time }

// NewTime wraps t (kept in UTC, whole seconds).
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Second)} }

// TimePtr is NewTime for optional fields.
func TimePtr(t time.Time) *Time { v := NewTime(t); return &v }

// MarshalJSON writes "2006-01-02T15:04:05Z", or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(wireTime) + `"`), nil
}

// UnmarshalJSON accepts the documented form and, defensively, fractions and missing zones.
// Unconfirmed: what zone a naive time from a self-hosted server is in; it is read as UTC,
// the zone the API documents for every datetime.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("connectwise datetime %s: %w", b, err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("connectwise datetime %q: unknown format", s)
}

// Ref points at another record. On writes {id} is enough; reads add identifier and name.
type Ref struct {
	ID         int64  `json:"id,omitempty"`
	Identifier string `json:"identifier,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Info is the _info block every record carries; lastUpdated is the only version marker the
// API offers (there are no ETags).
type Info struct {
	LastUpdated Time   `json:"lastUpdated"`
	UpdatedBy   string `json:"updatedBy,omitempty"`
	DateEntered Time   `json:"dateEntered"`
	EnteredBy   string `json:"enteredBy,omitempty"`
}

// PatchOp is one operation of a PATCH body. The API takes an array of them; it looks like
// RFC 6902 but is ConnectWise's own dialect (bare field names as paths, lowercase ops,
// references replaced as whole {id} objects).
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Replace is the only op the client sends: it sets a field to an absolute value, so a
// repeated PATCH leaves the record as one would.
func Replace(path string, value any) PatchOp { return PatchOp{Op: "replace", Path: path, Value: value} }
