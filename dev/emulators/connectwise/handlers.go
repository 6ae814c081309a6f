package connectwise

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// route is a parsed API path.
type route struct {
	res      *resource
	parentID int64
	id       int64
	item     bool
	count    bool
}

// match finds the resource a path under apis/3.0 names.
func (s *Server) match(p string) (route, bool) {
	segs := strings.Split(p, "/")
	for _, res := range s.store.res {
		pat := strings.Split(res.path, "/")
		if len(segs) < len(pat) || len(segs) > len(pat)+1 {
			continue
		}
		rt := route{res: res}
		ok := true
		for i, ps := range pat {
			if ps == "{parentId}" {
				id, err := strconv.ParseInt(segs[i], 10, 64)
				if err != nil || id <= 0 {
					ok = false
					break
				}
				rt.parentID = id
			} else if !strings.EqualFold(ps, segs[i]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if len(segs) == len(pat) {
			return rt, true
		}
		last := segs[len(pat)]
		if strings.EqualFold(last, "count") {
			rt.count = true
			return rt, true
		}
		if id, err := strconv.ParseInt(last, 10, 64); err == nil && id > 0 {
			rt.id, rt.item = id, true
			return rt, true
		}
	}
	return route{}, false
}

// serveResource handles one authenticated API call.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, p string) {
	if strings.EqualFold(p, "system/info") {
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method))
			return
		}
		// Unconfirmed: the values a real server reports; the shape is the spec's Info model.
		writeJSON(w, http.StatusOK, map[string]any{
			"version":        "v" + s.opts.APIVersion + ".100000",
			"isCloud":        false,
			"serverTimeZone": "Eastern Standard Time",
			"cloudRegion":    "NA",
			"licenseBits":    []map[string]any{{"name": "Agreements", "activeFlag": true}, {"name": "ManagedServices", "activeFlag": true}},
		})
		return
	}
	rt, ok := s.match(p)
	if !ok {
		writeError(w, endpointNotFound())
		return
	}
	if r.Method == http.MethodPost && !rt.item && !rt.count {
		s.mu.Lock()
		hook := s.beforeCreate
		s.mu.Unlock()
		if hook != nil {
			hook(rt.res.name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt.res.parent != "" {
		if _, ok := s.store.get(rt.res.parent, rt.parentID); !ok {
			writeError(w, recordNotFound(s.store.res[rt.res.parent].object, rt.parentID))
			return
		}
	}
	switch {
	case rt.count:
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method))
			return
		}
		s.serveCount(w, r, rt)
	case !rt.item && r.Method == http.MethodGet:
		s.serveList(w, r, rt)
	case !rt.item && r.Method == http.MethodPost:
		s.serveCreate(w, r, rt)
	case !rt.item:
		writeError(w, methodNotAllowed(r.Method))
	default:
		s.serveItem(w, r, rt)
	}
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, rt route) {
	var input map[string]any
	if e := readJSON(r, &input); e != nil {
		writeError(w, e)
		return
	}
	if input == nil {
		writeError(w, badRequest("The request body must be a JSON object."))
		return
	}
	rec, e := s.insert(rt.res, rt.parentID, input, 0)
	if e != nil {
		writeError(w, e)
		return
	}
	rec.writes++
	writeJSON(w, http.StatusCreated, rec.doc)
}

func (s *Server) serveItem(w http.ResponseWriter, r *http.Request, rt route) {
	rec, ok := s.store.get(rt.res.name, rt.id)
	if !ok || (rt.res.parent != "" && rec.parent != rt.parentID) {
		writeError(w, recordNotFound(rt.res.object, rt.id))
		return
	}
	switch r.Method {
	case http.MethodGet:
		fields, e := s.fieldsParam(rt.res, r)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, project(rec.doc, fields))
	case http.MethodPatch:
		var raw json.RawMessage
		if e := readJSON(r, &raw); e != nil {
			writeError(w, e)
			return
		}
		var ops []patchOp
		if err := decodeNumbers(raw, &ops); err != nil {
			writeError(w, badRequest("A PATCH body must be an array of {op, path, value} operations."))
			return
		}
		candidate, e := applyPatch(rt.res, rec.doc, ops)
		if e != nil {
			writeError(w, e)
			return
		}
		if e := s.replace(rt.res, rec, candidate); e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, rec.doc)
	case http.MethodPut:
		var input map[string]any
		if e := readJSON(r, &input); e != nil {
			writeError(w, e)
			return
		}
		if input == nil {
			writeError(w, badRequest("The request body must be a JSON object."))
			return
		}
		// PUT replaces the whole record: fields left out are reset.
		if e := s.replace(rt.res, rec, input); e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, rec.doc)
	case http.MethodDelete:
		s.delete(rt.res, rt.id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, methodNotAllowed(r.Method))
	}
}

// delete removes a record and its children (an agreement's additions).
// Unconfirmed: whether the API refuses to delete a record that has children (409); the
// emulator cascades, the least surprising choice for tests.
func (s *Server) delete(res *resource, id int64) {
	delete(s.store.rows[res.name], id)
	delete(s.store.used, id)
	for _, child := range s.store.res {
		if child.parent == res.name {
			for _, c := range s.store.list(child.name, id) {
				s.delete(child, idOf(c.doc["id"]))
			}
		}
	}
}

// readJSON decodes a request body (numbers kept exact) into v.
func readJSON(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return badRequest("The request body could not be read.")
	}
	if len(body) > 1<<20 {
		return &apiError{status: http.StatusRequestEntityTooLarge, Code: "ConnectWiseApi", Message: "The request body is too large."}
	}
	if err := decodeNumbers(body, v); err != nil {
		return badRequest("The request body is not valid JSON: %v", err)
	}
	return nil
}

func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return io.ErrUnexpectedEOF
	}
	return nil
}
