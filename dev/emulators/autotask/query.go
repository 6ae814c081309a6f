package autotask

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// queryBody is the body of POST /{Entity}/query, or the JSON in GET ?search=.
type queryBody struct {
	Filter        []filterItem `json:"filter"`
	IncludeFields []string     `json:"IncludeFields,omitempty"`
	MaxRecords    int          `json:"MaxRecords,omitempty"`
}

// pageToken carries a query and a position in nextPageUrl / prevPageUrl. The real
// service's URLs are opaque too; only their shape (a full URL to GET) matters to clients.
type pageToken struct {
	Query  queryBody `json:"q"`
	After  int64     `json:"a,omitempty"`
	Before int64     `json:"b,omitempty"`
}

// handleQuery serves /{Entity}/query, /query/count and the paging URLs it hands out.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request, def *entityDef, rest []string) {
	if !def.queryable {
		// ContractServiceAdjustments are create-only in Autotask.
		methodNotAllowed(w, allowed(def, false))
		return
	}
	sub := ""
	if len(rest) == 1 {
		sub = strings.ToLower(rest[0])
	}
	if len(rest) > 1 || (sub != "" && sub != "count" && sub != "next" && sub != "prev") {
		writeErrors(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
		return
	}
	if sub == "next" || sub == "prev" {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		tok, err := decodeToken(r.URL.Query().Get("paging"))
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "bad paging token: "+err.Error())
			return
		}
		s.servePage(w, r, def, tok)
		return
	}
	var q queryBody
	switch r.Method {
	case http.MethodPost:
		body, err := readBody(r)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		if err := json.Unmarshal(body, &q); err != nil {
			writeErrors(w, http.StatusBadRequest, "the query body is not valid: "+err.Error())
			return
		}
	case http.MethodGet:
		search := r.URL.Query().Get("search")
		if search == "" {
			writeAPIError(w, invalidf("a search parameter with a filter is required"))
			return
		}
		if err := json.Unmarshal([]byte(search), &q); err != nil {
			writeErrors(w, http.StatusBadRequest, "the search parameter is not valid: "+err.Error())
			return
		}
	default:
		methodNotAllowed(w, "GET, POST")
		return
	}
	if sub == "count" {
		s.serveCount(w, def, q)
		return
	}
	s.serveQuery(w, r, def, q)
}

func (s *Server) serveCount(w http.ResponseWriter, def *entityDef, q queryBody) {
	// Unconfirmed: the status for a missing or malformed filter; the emulator answers 500
	// like other refused requests.
	pred, err := compileFilter(q.Filter, def.schema, def.name)
	if err != nil {
		writeAPIError(w, invalidf("%s", err.Error()))
		return
	}
	s.mu.Lock()
	n := 0
	for _, v := range def.list(s) {
		if pred(toRow(v)) {
			n++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"queryCount": n})
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, def *entityDef, q queryBody) {
	// Unconfirmed: whether MaxRecords above 500 is refused or capped; refusing is stricter.
	if q.MaxRecords < 0 || q.MaxRecords > maxPageSize {
		writeAPIError(w, invalidf("MaxRecords must be between 1 and %d", maxPageSize))
		return
	}
	s.servePage(w, r, def, pageToken{Query: q})
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request, def *entityDef, tok pageToken) {
	pred, err := compileFilter(tok.Query.Filter, def.schema, def.name)
	if err != nil {
		writeAPIError(w, invalidf("%s", err.Error()))
		return
	}
	for _, f := range tok.Query.IncludeFields {
		if _, ok := def.schema.names[strings.ToLower(f)]; !ok {
			writeAPIError(w, invalidf("unable to find field %q in the %s entity", f, def.name))
			return
		}
	}
	s.mu.Lock()
	size := s.maxPage
	var matched []row
	for _, v := range def.list(s) {
		if rw := toRow(v); pred(rw) {
			matched = append(matched, rw)
		}
	}
	s.mu.Unlock()
	if m := tok.Query.MaxRecords; m > 0 && m < size {
		size = m
	}
	// Rows are in id order; a page is the next `size` after a position, or the last `size`
	// before one.
	lo, hi := 0, len(matched)
	switch {
	case tok.After > 0:
		for lo < len(matched) && id(matched[lo]) <= tok.After {
			lo++
		}
		hi = min(lo+size, len(matched))
	case tok.Before > 0:
		for hi > 0 && id(matched[hi-1]) >= tok.Before {
			hi--
		}
		lo = max(hi-size, 0)
	default:
		hi = min(size, len(matched))
	}
	items := matched[lo:hi]
	details := map[string]any{"count": len(items), "requestCount": size, "prevPageUrl": nil, "nextPageUrl": nil}
	if hi < len(matched) && len(items) > 0 {
		details["nextPageUrl"] = pageURL(r, def, "next", pageToken{Query: tok.Query, After: id(items[len(items)-1])})
	}
	if lo > 0 && len(items) > 0 {
		details["prevPageUrl"] = pageURL(r, def, "prev", pageToken{Query: tok.Query, Before: id(items[0])})
	}
	out := make([]row, len(items))
	for i, it := range items {
		out[i] = project(it, tok.Query.IncludeFields, def.schema)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "pageDetails": details})
}

func id(r row) int64 {
	n, _ := r["id"].(json.Number).Int64()
	return n
}

// project keeps IncludeFields (and id, which paging needs).
func project(r row, include []string, s schema) row {
	if len(include) == 0 {
		return r
	}
	out := row{"id": r["id"]}
	for _, f := range include {
		name := s.names[strings.ToLower(f)]
		out[name] = r[name]
	}
	return out
}

func pageURL(r *http.Request, def *entityDef, dir string, tok pageToken) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	b, _ := json.Marshal(tok)
	return fmt.Sprintf("%s://%s%s/v1.0/%s/query/%s?paging=%s", scheme, r.Host, apiRoot, def.name, dir,
		url.QueryEscape(base64.RawURLEncoding.EncodeToString(b)))
}

func decodeToken(s string) (pageToken, error) {
	var tok pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return tok, err
	}
	err = json.Unmarshal(b, &tok)
	return tok, err
}
