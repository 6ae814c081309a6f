package autotask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// filterItem is one condition or group of an Autotask query.
type filterItem struct {
	Op    string          `json:"op"`
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
	UDF   bool            `json:"udf"`
	Items []filterItem    `json:"items"`
}

type fieldKind int

const (
	kindString fieldKind = iota
	kindNumber
	kindBool
	kindTime
)

// schema knows an entity's fields by lower-cased name, with their JSON names and kinds.
type schema struct {
	names map[string]string
	kinds map[string]fieldKind
}

var (
	timeType  = reflect.TypeOf(Time{})
	moneyType = reflect.TypeOf(Money{})
)

func schemaOf(v any) schema {
	s := schema{names: map[string]string{}, kinds: map[string]fieldKind{}}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		k := kindString
		switch {
		case ft == timeType:
			k = kindTime
		case ft == moneyType:
			k = kindNumber
		case ft.Kind() == reflect.Bool:
			k = kindBool
		case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Float64:
			k = kindNumber
		}
		s.names[strings.ToLower(name)] = name
		s.kinds[name] = k
	}
	return s
}

type row = map[string]any

type predicate func(row) bool

// compileFilter turns a query's filter list (all must match) into a predicate. Errors
// carry the message the emulator answers with.
//
// Unconfirmed: Autotask's text comparisons are emulated case-insensitively (SQL Server's
// usual collation), field names are matched case-insensitively, and a null field matches
// no comparison, noteq and notIn included (SQL semantics).
func compileFilter(items []filterItem, s schema, entity string) (predicate, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("a filter is required; to read every row use {\"op\":\"gte\",\"field\":\"id\",\"value\":0}")
	}
	return compileGroup("and", items, s, entity)
}

func compileGroup(op string, items []filterItem, s schema, entity string) (predicate, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("the %q group has no items", op)
	}
	preds := make([]predicate, len(items))
	for i, it := range items {
		p, err := compileItem(it, s, entity)
		if err != nil {
			return nil, err
		}
		preds[i] = p
	}
	if op == "or" {
		return func(r row) bool {
			for _, p := range preds {
				if p(r) {
					return true
				}
			}
			return false
		}, nil
	}
	return func(r row) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}, nil
}

func compileItem(it filterItem, s schema, entity string) (predicate, error) {
	op := strings.ToLower(it.Op)
	if op == "and" || op == "or" {
		return compileGroup(op, it.Items, s, entity)
	}
	if it.UDF {
		return nil, fmt.Errorf("user-defined field %q: the emulator holds no user-defined fields", it.Field)
	}
	name, ok := s.names[strings.ToLower(it.Field)]
	if !ok {
		return nil, fmt.Errorf("unable to find field %q in the %s entity", it.Field, entity)
	}
	kind := s.kinds[name]
	switch op {
	case "exist":
		return func(r row) bool { return present(r[name]) }, nil
	case "notexist":
		return func(r row) bool { return !present(r[name]) }, nil
	}
	if len(bytes.TrimSpace(it.Value)) == 0 {
		return nil, fmt.Errorf("filter %q on %s needs a value", it.Op, name)
	}
	v, err := decodeJSON(it.Value)
	if err != nil {
		return nil, fmt.Errorf("filter value for %s: %v", name, err)
	}
	switch op {
	case "in", "notin":
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("filter %q on %s needs an array value", it.Op, name)
		}
		vals := make([]any, len(list))
		for i, e := range list {
			if vals[i], err = coerce(e, kind, name); err != nil {
				return nil, err
			}
		}
		in := func(r row) bool {
			for _, want := range vals {
				if c, ok := compare(r[name], want, kind); ok && c == 0 {
					return true
				}
			}
			return false
		}
		if op == "in" {
			return in, nil
		}
		// A null field is excluded, as in SQL.
		return func(r row) bool { return present(r[name]) && !in(r) }, nil
	case "beginswith", "endswith", "contains":
		str, ok := v.(string)
		if !ok || kind != kindString {
			return nil, fmt.Errorf("filter %q needs a text field and a text value (field %s)", it.Op, name)
		}
		needle := strings.ToLower(str)
		test := map[string]func(string, string) bool{"beginswith": strings.HasPrefix, "endswith": strings.HasSuffix, "contains": strings.Contains}[op]
		return func(r row) bool {
			got, ok := r[name].(string)
			return ok && test(strings.ToLower(got), needle)
		}, nil
	}
	want, err := coerce(v, kind, name)
	if err != nil {
		return nil, err
	}
	var keep func(int) bool
	switch op {
	case "eq":
		keep = func(c int) bool { return c == 0 }
	case "noteq":
		keep = func(c int) bool { return c != 0 }
	case "gt":
		keep = func(c int) bool { return c > 0 }
	case "gte":
		keep = func(c int) bool { return c >= 0 }
	case "lt":
		keep = func(c int) bool { return c < 0 }
	case "lte":
		keep = func(c int) bool { return c <= 0 }
	default:
		return nil, fmt.Errorf("unknown filter operator %q", it.Op)
	}
	return func(r row) bool {
		c, ok := compare(r[name], want, kind)
		return ok && keep(c)
	}, nil
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	}
	return true
}

// coerce checks a filter value against the field's kind and converts it for comparison.
func coerce(v any, kind fieldKind, field string) (any, error) {
	if v == nil {
		return nil, fmt.Errorf("filter value for %s is null; use exist or notExist", field)
	}
	switch kind {
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("field %s is a boolean: the value must be true or false", field)
		}
		return b, nil
	case kindNumber:
		switch x := v.(type) {
		case json.Number:
			return decimal.NewFromString(x.String())
		case string:
			d, err := decimal.NewFromString(x)
			if err != nil {
				return nil, fmt.Errorf("field %s is a number; %q is not", field, x)
			}
			return d, nil
		}
		return nil, fmt.Errorf("field %s is a number; the value is not", field)
	case kindTime:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("field %s is a date-time; the value must be a string", field)
		}
		t, ok := parseTime(s)
		if !ok {
			return nil, fmt.Errorf("field %s is a date-time; %q is not", field, s)
		}
		return t, nil
	default:
		switch x := v.(type) {
		case string:
			return strings.ToLower(x), nil
		case json.Number:
			return x.String(), nil
		case bool:
			return fmt.Sprint(x), nil
		}
		return nil, fmt.Errorf("field %s is text; the value is not", field)
	}
}

// compare orders a row's value against a coerced filter value; ok is false for nulls.
func compare(got any, want any, kind fieldKind) (int, bool) {
	if got == nil {
		return 0, false
	}
	switch kind {
	case kindBool:
		g, ok := got.(bool)
		if !ok {
			return 0, false
		}
		if g == want.(bool) {
			return 0, true
		}
		if !g {
			return -1, true
		}
		return 1, true
	case kindNumber:
		n, ok := got.(json.Number)
		if !ok {
			return 0, false
		}
		d, err := decimal.NewFromString(n.String())
		if err != nil {
			return 0, false
		}
		return d.Cmp(want.(decimal.Decimal)), true
	case kindTime:
		s, ok := got.(string)
		if !ok {
			return 0, false
		}
		t, ok := parseTime(s)
		if !ok {
			return 0, false
		}
		return t.Compare(want.(time.Time)), true
	default:
		s, ok := got.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(strings.ToLower(s), want.(string)), true
	}
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// toRow renders an entity as the generic map filters run on.
func toRow(v any) row {
	b, _ := json.Marshal(v)
	m, _ := decodeJSON(b)
	r, _ := m.(map[string]any)
	return r
}
