package connectwise

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Condition is a ConnectWise "conditions" expression built from typed values, so every value
// is quoted, escaped and formatted the way the API parses it. Build it with Eq, In, And, ...;
// the zero Condition matches everything.
//
// Value rules:
//   - strings in double quotes; a backslash and a double quote inside are escaped with a
//     backslash (`\\`, `\"`); control characters are refused.
//   - integers and decimals bare (decimals exact, never through float64);
//   - booleans true/false; nil as null;
//   - time.Time (and Time) in square brackets as UTC whole seconds: [2024-01-01T00:00:00Z].
//
// Unconfirmed: how the real parser escapes a double quote inside a string. Backslash
// escaping is the defensive choice: with it every quote in the output is preceded by a
// backslash, so even a parser that does not know the escape cannot read a value as extra
// conditions (a stray backslash outside a string is a syntax error, which fails closed).
// Lookups by a string value also re-check each row client-side (see CompanyByIdentifier),
// so a parser that matches more or less than asked never makes us act on the wrong record.
//
// Unconfirmed: operator precedence of and/or. Compound operands are always parenthesised.
type Condition struct {
	expr     string
	compound bool
	err      error
}

// fieldPattern accepts field names and slash paths to nested references ("company/id").
var fieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$`)

// Build returns the expression, or the first error met while building it.
func (c Condition) Build() (string, error) { return c.expr, c.err }

// IsZero reports whether c is empty (matches everything).
func (c Condition) IsZero() bool { return c.expr == "" && c.err == nil }

// String shows the expression (or the building error) for logs and test failures.
func (c Condition) String() string {
	if c.err != nil {
		return "invalid condition: " + c.err.Error()
	}
	return c.expr
}

func compare(field, op string, v any) Condition {
	if err := checkField(field); err != nil {
		return Condition{err: err}
	}
	lit, err := Literal(v)
	if err != nil {
		return Condition{err: fmt.Errorf("condition on %s: %w", field, err)}
	}
	return Condition{expr: field + " " + op + " " + lit}
}

// Eq is `field = value`; Eq(field, nil) is `field = null`.
func Eq(field string, v any) Condition { return compare(field, "=", v) }

// Ne is `field != value`.
func Ne(field string, v any) Condition { return compare(field, "!=", v) }

// Lt is `field < value`.
func Lt(field string, v any) Condition { return compare(field, "<", v) }

// Le is `field <= value`.
func Le(field string, v any) Condition { return compare(field, "<=", v) }

// Gt is `field > value`.
func Gt(field string, v any) Condition { return compare(field, ">", v) }

// Ge is `field >= value`.
func Ge(field string, v any) Condition { return compare(field, ">=", v) }

// Contains is `field contains "s"`.
func Contains(field, s string) Condition { return compare(field, "contains", s) }

// Like is `field like "pattern"`; the pattern's wildcards (%) are the caller's. Unconfirmed:
// which wildcard characters the server honours (% per some vendors, * per others); to match
// a literal value use Eq instead.
func Like(field, pattern string) Condition { return compare(field, "like", pattern) }

// In is `field in (v1, v2, ...)`. An empty list is an error rather than a query that
// silently matches nothing (or, on a lenient parser, everything).
func In(field string, vs ...any) Condition { return in(field, "in", vs) }

// NotIn is `field not in (v1, v2, ...)`.
func NotIn(field string, vs ...any) Condition { return in(field, "not in", vs) }

func in(field, op string, vs []any) Condition {
	if err := checkField(field); err != nil {
		return Condition{err: err}
	}
	if len(vs) == 0 {
		return Condition{err: fmt.Errorf("condition %s %s (): empty list", field, op)}
	}
	lits := make([]string, len(vs))
	for i, v := range vs {
		lit, err := Literal(v)
		if err != nil {
			return Condition{err: fmt.Errorf("condition on %s: %w", field, err)}
		}
		lits[i] = lit
	}
	return Condition{expr: field + " " + op + " (" + strings.Join(lits, ", ") + ")"}
}

// InInts is In for a list of ids.
func InInts(field string, ids []int64) Condition {
	vs := make([]any, len(ids))
	for i, id := range ids {
		vs[i] = id
	}
	return In(field, vs...)
}

// InStrings is In for a list of strings.
func InStrings(field string, ss []string) Condition {
	vs := make([]any, len(ss))
	for i, s := range ss {
		vs[i] = s
	}
	return In(field, vs...)
}

// And joins conditions with and; zero conditions are skipped.
func And(cs ...Condition) Condition { return join("and", cs) }

// Or joins conditions with or; zero conditions are skipped.
func Or(cs ...Condition) Condition { return join("or", cs) }

// And is the method form of And(c, more...).
func (c Condition) And(more ...Condition) Condition { return And(append([]Condition{c}, more...)...) }

// Or is the method form of Or(c, more...).
func (c Condition) Or(more ...Condition) Condition { return Or(append([]Condition{c}, more...)...) }

func join(op string, cs []Condition) Condition {
	var kept []Condition
	for _, c := range cs {
		if c.err != nil {
			return c
		}
		if c.expr != "" {
			kept = append(kept, c)
		}
	}
	switch len(kept) {
	case 0:
		return Condition{}
	case 1:
		return kept[0]
	}
	parts := make([]string, len(kept))
	for i, c := range kept {
		if c.compound {
			parts[i] = "(" + c.expr + ")"
		} else {
			parts[i] = c.expr
		}
	}
	return Condition{expr: strings.Join(parts, " "+op+" "), compound: true}
}

// Not negates c: `not (c)`.
func Not(c Condition) Condition {
	if c.err != nil {
		return c
	}
	if c.expr == "" {
		return Condition{err: errors.New("not of an empty condition")}
	}
	return Condition{expr: "not (" + c.expr + ")"}
}

func checkField(field string) error {
	if !fieldPattern.MatchString(field) {
		return fmt.Errorf("field %q is not a field name or slash path", field)
	}
	return nil
}

// Literal renders one value the way conditions spell it (see Condition for the rules).
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return Quote(x)
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case decimal.Decimal:
		return x.String(), nil
	case Number:
		return x.Decimal.String(), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("number %v cannot be sent", x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case time.Time:
		return bracketTime(x)
	case Time:
		return bracketTime(x.Time)
	default:
		return "", fmt.Errorf("value of type %T cannot be used in a condition", v)
	}
}

func bracketTime(t time.Time) (string, error) {
	if t.IsZero() {
		return "", errors.New("zero time in a condition")
	}
	// Always a full timestamp: a date-only value has been seen to match nothing on
	// self-hosted servers.
	return "[" + t.UTC().Format(wireTime) + "]", nil
}

// Quote puts s in double quotes, escaping backslash and double quote with a backslash.
// Control characters are refused (no documented escape exists for them), and so is text
// that is not UTF-8 (it cannot be percent-encoded into a meaningful query).
func Quote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("string %q is not valid UTF-8", s)
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("string %q holds a control character", s)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// Order sorts a listing by one field. Unconfirmed: whether orderBy takes several fields;
// one is what every documented example uses.
type Order struct {
	Field string
	Desc  bool
}

func (o Order) build() (string, error) {
	if err := checkField(o.Field); err != nil {
		return "", fmt.Errorf("orderBy: %w", err)
	}
	if o.Desc {
		return o.Field + " desc", nil
	}
	return o.Field + " asc", nil
}
