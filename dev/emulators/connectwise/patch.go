package connectwise

import (
	"strconv"
	"strings"
)

// patchOp is one operation of ConnectWise's PATCH dialect.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// applyPatch returns a copy of d with ops applied; the caller validates the result as the
// record's new content. Paths may be bare ("quantity") or slash-prefixed with array
// indexes ("/customFields/0/value"). Patching inside a reference ("company/identifier")
// is accepted but the reference is re-resolved by id afterwards, so it has no effect, as
// reported of the real API.
// Unconfirmed: whether op is case-sensitive (clients send lowercase; the emulator accepts
// any case) and how an unknown path is reported (here: 400 with a field error).
func applyPatch(res *resource, d doc, ops []patchOp) (doc, *apiError) {
	out := deepCopy(d).(map[string]any)
	fail := func(path, msg string) *apiError {
		return invalidObject(res.object, []FieldError{{Code: "InvalidField", Message: msg, Resource: res.object, Field: strings.Trim(path, "/")}})
	}
	if len(ops) == 0 {
		return nil, badRequest("A PATCH body must hold at least one operation.")
	}
	for _, o := range ops {
		op := strings.ToLower(o.Op)
		if op != "add" && op != "replace" && op != "remove" {
			return nil, fail(o.Path, "The op "+strconv.Quote(o.Op)+" is not supported; use add, replace or remove.")
		}
		segs := strings.Split(strings.TrimPrefix(o.Path, "/"), "/")
		if o.Path == "" || segs[0] == "" {
			return nil, fail(o.Path, "Every operation needs a path.")
		}
		name, f, ok := res.lookup(segs[0])
		if !ok {
			return nil, fail(o.Path, "The field "+strconv.Quote(segs[0])+" does not exist on "+res.object+".")
		}
		if f.readOnly {
			continue // read-only fields are ignored on writes
		}
		if len(segs) == 1 {
			if op == "remove" {
				out[name] = nil
			} else {
				out[name] = deepCopy(o.Value)
			}
			continue
		}
		container := out[name]
		if container == nil && op != "remove" {
			container = map[string]any{}
			out[name] = container
		}
		updated, ok := setIn(container, segs[1:], op, o.Value)
		if !ok {
			return nil, fail(o.Path, "The path "+strconv.Quote(o.Path)+" does not exist.")
		}
		out[name] = updated
	}
	return out, nil
}

// setIn applies one op at path inside v (a map or array) and returns the new v.
func setIn(v any, path []string, op string, value any) (any, bool) {
	key := path[0]
	switch c := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			if op == "remove" {
				if _, ok := c[key]; !ok {
					return nil, false
				}
				delete(c, key)
			} else {
				c[key] = deepCopy(value)
			}
			return c, true
		}
		child, ok := c[key]
		if !ok {
			return nil, false
		}
		updated, ok := setIn(child, path[1:], op, value)
		if !ok {
			return nil, false
		}
		c[key] = updated
		return c, true
	case []any:
		if len(path) == 1 && key == "-" && op == "add" {
			return append(c, deepCopy(value)), true
		}
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i > len(c) || (i == len(c) && !(op == "add" && len(path) == 1)) {
			return nil, false
		}
		if len(path) > 1 {
			updated, ok := setIn(c[i], path[1:], op, value)
			if !ok {
				return nil, false
			}
			c[i] = updated
			return c, true
		}
		switch op {
		case "add":
			c = append(c, nil)
			copy(c[i+1:], c[i:])
			c[i] = deepCopy(value)
		case "replace":
			c[i] = deepCopy(value)
		case "remove":
			c = append(c[:i], c[i+1:]...)
		}
		return c, true
	}
	return nil, false
}
