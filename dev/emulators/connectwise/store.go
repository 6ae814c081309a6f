package connectwise

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/remote"
)

// doc is one record as the API shows it: JSON values with numbers kept as json.Number.
type doc = map[string]any

// record is a stored doc plus what tests ask about it.
type record struct {
	doc    doc
	parent int64 // parent record id for child collections
	writes int   // accepted POST/PUT/PATCH
}

// store holds every collection. IDs come from one counter across collections, so a client
// that mixes up an agreement id and an addition id gets a 404 instead of someone else's row.
type store struct {
	res    map[string]*resource
	rows   map[string]map[int64]*record
	used   map[int64]string
	nextID int64
}

func newStore() *store {
	st := &store{res: map[string]*resource{}, rows: map[string]map[int64]*record{}, used: map[int64]string{}, nextID: 10000}
	for _, r := range resources() {
		st.res[r.name] = r
		st.rows[r.name] = map[int64]*record{}
	}
	return st
}

func (st *store) get(coll string, id int64) (*record, bool) {
	r, ok := st.rows[coll][id]
	return r, ok
}

// list returns a collection's records in id order; child collections only under parent.
func (st *store) list(coll string, parent int64) []*record {
	res := st.res[coll]
	out := make([]*record, 0, len(st.rows[coll]))
	for _, r := range st.rows[coll] {
		if res.parent == "" || r.parent == parent {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return idOf(out[i].doc["id"]) < idOf(out[j].doc["id"]) })
	return out
}

// listAll returns every record of a collection in id order, whatever its parent.
func (st *store) listAll(coll string) []*record {
	out := make([]*record, 0, len(st.rows[coll]))
	for _, r := range st.rows[coll] {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return idOf(out[i].doc["id"]) < idOf(out[j].doc["id"]) })
	return out
}

func (st *store) allocate(id int64) (int64, error) {
	if id == 0 {
		for st.used[st.nextID] != "" {
			st.nextID++
		}
		id = st.nextID
		st.nextID++
	}
	if coll := st.used[id]; coll != "" {
		return 0, fmt.Errorf("id %d is already used in %s", id, coll)
	}
	return id, nil
}

const wireTime = "2006-01-02T15:04:05Z"

// insert validates input like a POST body and stores it under id (0: a new id).
func (s *Server) insert(res *resource, parentID int64, input map[string]any, id int64) (*record, *apiError) {
	var parent doc
	if res.parent != "" {
		p, ok := s.store.get(res.parent, parentID)
		if !ok {
			return nil, recordNotFound(s.store.res[res.parent].object, parentID)
		}
		parent = p.doc
	}
	d, errs := s.normalize(res, input, doc{})
	errs = append(errs, s.check(res, d, nil, parent, 0)...)
	if len(errs) > 0 {
		return nil, invalidObject(res.object, errs)
	}
	id, err := s.store.allocate(id)
	if err != nil {
		return nil, &apiError{status: 400, Code: "InvalidObject", Message: err.Error()}
	}
	d["id"] = jsonInt(id)
	if res.parentField != "" {
		d[res.parentField] = jsonInt(parentID)
	}
	now := s.now().UTC().Format(wireTime)
	d["_info"] = map[string]any{"lastUpdated": now, "updatedBy": s.memberID(), "dateEntered": now, "enteredBy": s.memberID()}
	if res.derive != nil {
		res.derive(s, d, parent)
	}
	rec := &record{doc: d, parent: parentID}
	s.store.used[id] = res.name
	s.store.rows[res.name][id] = rec
	return rec, nil
}

// replace validates candidate as the record's new content (PUT body or patched doc) and
// stores it; read-only fields keep their stored values.
func (s *Server) replace(res *resource, rec *record, candidate map[string]any) *apiError {
	var parent doc
	if res.parent != "" {
		if p, ok := s.store.get(res.parent, rec.parent); ok {
			parent = p.doc
		}
	}
	base := doc{}
	for name, f := range res.fields {
		if f.readOnly {
			if v, ok := rec.doc[name]; ok {
				base[name] = v
			}
		}
	}
	d, errs := s.normalize(res, candidate, base)
	errs = append(errs, s.check(res, d, rec.doc, parent, idOf(rec.doc["id"]))...)
	if len(errs) > 0 {
		return invalidObject(res.object, errs)
	}
	info := map[string]any{}
	if old, ok := rec.doc["_info"].(map[string]any); ok {
		for k, v := range old {
			info[k] = v
		}
	}
	info["lastUpdated"] = s.now().UTC().Format(wireTime)
	info["updatedBy"] = s.memberID()
	d["_info"] = info
	if res.derive != nil {
		res.derive(s, d, parent)
	}
	rec.doc = d
	rec.writes++
	// Children mirror some parent fields (an addition's agreementStatus).
	for _, child := range s.store.res {
		if child.parent == res.name && child.derive != nil {
			for _, c := range s.store.list(child.name, idOf(d["id"])) {
				child.derive(s, c.doc, d)
			}
		}
	}
	return nil
}

// normalize coerces input's known, writable fields onto base. Unknown fields are dropped
// and names bind case-insensitively, as .NET JSON binding does; read-back then shows a
// client what did not stick. Unconfirmed: that the API behaves so.
func (s *Server) normalize(res *resource, input map[string]any, base doc) (doc, []FieldError) {
	out := make(doc, len(base)+len(input))
	for k, v := range base {
		out[k] = v
	}
	var errs []FieldError
	keys := make([]string, 0, len(input))
	for k := range input {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable error order
	for _, k := range keys {
		name, f, ok := res.lookup(k)
		if !ok || f.readOnly {
			continue
		}
		v, ferr := s.coerce(res, name, f, input[k])
		if ferr != nil {
			errs = append(errs, *ferr)
			continue
		}
		out[name] = v
	}
	return out, errs
}

// check applies required fields, uniqueness and the resource's own rules.
func (s *Server) check(res *resource, d, old, parent doc, selfID int64) []FieldError {
	var errs []FieldError
	for _, name := range res.required {
		v := d[name]
		if v == nil || v == "" {
			errs = append(errs, FieldError{Code: "MissingRequiredField", Message: "The " + name + " field is required.", Resource: res.object, Field: name})
		}
	}
	if res.unique != "" {
		if v, ok := d[res.unique].(string); ok && v != "" {
			for _, r := range s.store.list(res.name, 0) {
				if other, _ := r.doc[res.unique].(string); strings.EqualFold(other, v) && idOf(r.doc["id"]) != selfID {
					errs = append(errs, FieldError{Code: "ObjectExists", Message: "The " + res.unique + " " + strconv.Quote(v) + " is already in use.", Resource: res.object, Field: res.unique})
					break
				}
			}
		}
	}
	if res.validate != nil {
		errs = append(errs, res.validate(s, d, old, parent)...)
	}
	return errs
}

// coerce checks one value against its field's kind and returns the stored form.
func (s *Server) coerce(res *resource, name string, f field, v any) (any, *FieldError) {
	if v == nil {
		return nil, nil
	}
	bad := func(what string) *FieldError {
		return &FieldError{Code: "InvalidField", Message: "The " + name + " field " + what + ".", Resource: res.object, Field: name}
	}
	switch f.kind {
	case kString:
		str, ok := v.(string)
		if !ok {
			return nil, bad("must be text")
		}
		if f.max > 0 && utf8.RuneCountInString(str) > f.max {
			return nil, &FieldError{Code: "MaxLengthField", Message: fmt.Sprintf("The %s field may not be longer than %d characters.", name, f.max), Resource: res.object, Field: name}
		}
		return str, nil
	case kInt:
		n, ok := numberOf(v)
		if !ok || !n.IsInteger() || n.Abs().GreaterThan(decimal.NewFromInt(math.MaxInt32)) {
			return nil, bad("must be a whole number")
		}
		return json.Number(n.String()), nil
	case kNumber:
		// Numbers arrive as JSON numbers or, from some integrations, as strings.
		n, ok := numberOf(v)
		if !ok {
			return nil, bad("must be a number")
		}
		d, ok := asDouble(n)
		if !ok {
			return nil, bad("is out of range")
		}
		return d, nil
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, bad("must be true or false")
	case kTime:
		str, ok := v.(string)
		if !ok {
			return nil, bad("must be a date and time")
		}
		if str == "" {
			return nil, nil
		}
		t, err := parseTime(str)
		if err != nil {
			return nil, bad("must be a date and time like 2024-01-01T00:00:00Z")
		}
		return t.Format(wireTime), nil
	case kRef:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("must be a reference object such as {\"id\": 1}")
		}
		return s.resolveRef(res, name, f, m)
	case kObject:
		if _, ok := v.(map[string]any); !ok {
			return nil, bad("must be an object")
		}
		return deepCopy(v), nil
	case kArray:
		if _, ok := v.([]any); !ok {
			return nil, bad("must be an array")
		}
		return deepCopy(v), nil
	}
	return nil, bad("is not supported")
}

// asDouble keeps what a double keeps. Unconfirmed: the precision the server stores; the
// spec types quantities and prices as doubles, so the emulator rounds to the nearest double
// and writes it back in its shortest exact form. Values a client sends with up to 15
// significant digits come back unchanged; longer ones show the rounding on read-back.
func asDouble(n decimal.Decimal) (json.Number, bool) {
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	if f == 0 {
		f = 0 // no "-0"
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), true
}

func numberLiteral(d decimal.Decimal) json.Number {
	n, _ := asDouble(d)
	return n
}

// resolveRef turns a reference as sent ({id}, {identifier} or {name}) into the stored form
// {id, identifier?, name} of the record it points at. A reference to nothing is a NotFound
// field error, as the API reports for e.g. an unknown status.
// Unconfirmed: which references accept identifier or name instead of id (some do).
func (s *Server) resolveRef(res *resource, name string, f field, m map[string]any) (any, *FieldError) {
	if f.ref == "" {
		out := deepCopy(m).(map[string]any)
		if id, ok := m["id"]; ok {
			if n, ok := numberOf(id); ok && n.IsInteger() {
				out["id"] = json.Number(n.String())
			}
		}
		return out, nil
	}
	target := s.store.res[f.ref]
	var found *record
	if raw, ok := m["id"]; ok && raw != nil {
		if n, ok := numberOf(raw); ok && n.IsInteger() {
			found, _ = s.store.get(f.ref, n.IntPart())
		}
	} else {
		for _, key := range []string{"identifier", "name"} {
			want, ok := m[key].(string)
			if !ok || want == "" {
				continue
			}
			if _, has := target.fields[key]; !has {
				continue
			}
			for _, r := range s.store.list(f.ref, 0) {
				if got, _ := r.doc[key].(string); strings.EqualFold(got, want) {
					found = r
					break
				}
			}
			break
		}
	}
	if found == nil {
		return nil, &FieldError{Code: "NotFound", Message: "The " + name + " was not found.", Resource: res.object, Field: name + "/id"}
	}
	return refOf(target, found.doc), nil
}

// refOf is the reference form of d as other records embed it.
func refOf(target *resource, d doc) map[string]any {
	out := map[string]any{"id": d["id"]}
	if v, ok := d["identifier"]; ok {
		out["identifier"] = v
	}
	switch {
	case d["name"] != nil:
		out["name"] = d["name"]
	case target.name == CatalogItems:
		out["name"] = d["description"]
	}
	return out
}

// numberOf reads a JSON number, a numeric string or a Go number. Text goes through
// remote.ParseDecimal, whose bounds keep a request like 1e999999999 from exhausting memory.
func numberOf(v any) (decimal.Decimal, bool) {
	switch x := v.(type) {
	case json.Number:
		d, err := remote.ParseDecimal(string(x))
		return d, err == nil
	case string:
		d, err := remote.ParseDecimal(strings.TrimSpace(x))
		return d, err == nil
	case int64:
		return decimal.NewFromInt(x), true
	case int:
		return decimal.NewFromInt(int64(x)), true
	case float64:
		return decimal.NewFromFloat(x), true
	}
	return decimal.Decimal{}, false
}

func idOf(v any) int64 {
	n, ok := numberOf(v)
	if !ok {
		return 0
	}
	return n.IntPart()
}

func jsonInt(id int64) json.Number { return json.Number(strconv.FormatInt(id, 10)) }

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown datetime %q", s)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}
