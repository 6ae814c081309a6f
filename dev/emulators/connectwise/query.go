package connectwise

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// defaultPageSize is what a list answers without pageSize: the cause of many silently
// truncated reads.
const defaultPageSize = 25

// param reads a query parameter by case-insensitive name, as the API binds them.
func param(q url.Values, name string) (string, bool) {
	for k, vs := range q {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

// filter applies conditions (and refuses what the emulator does not implement).
func (s *Server) filter(rt route, r *http.Request) ([]*record, *apiError) {
	q := r.URL.Query()
	for _, unsupported := range []string{"childConditions", "customFieldConditions"} {
		if v, ok := param(q, unsupported); ok && v != "" {
			// Unconfirmed syntax: refusing beats guessing.
			return nil, badRequest("%s is not supported by this emulator.", unsupported)
		}
	}
	rows := s.store.list(rt.res.name, rt.parentID)
	expr, _ := param(q, "conditions")
	if strings.TrimSpace(expr) == "" {
		return rows, nil
	}
	c, err := parseConditions(rt.res, expr)
	if err != nil {
		return nil, badRequest("Invalid conditions: %v", err)
	}
	out := rows[:0:0]
	for _, rec := range rows {
		if c.eval(rec.doc) {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (s *Server) serveCount(w http.ResponseWriter, r *http.Request, rt route) {
	rows, e := s.filter(rt, r)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"count": len(rows)})
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, rt route) {
	rows, e := s.filter(rt, r)
	if e != nil {
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	fields, e := s.fieldsParam(rt.res, r)
	if e != nil {
		writeError(w, e)
		return
	}
	size := defaultPageSize
	if v, ok := param(q, "pageSize"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, badRequest("pageSize must be a positive whole number."))
			return
		}
		size = n
	}
	if size > s.maxPage {
		size = s.maxPage // above the cap is capped, not refused
	}
	orderBy, _ := param(q, "orderBy")
	forwardOnly := strings.EqualFold(r.Header.Get("pagination-type"), "forward-only")

	var page []*record
	var links []string
	if forwardOnly {
		if orderBy != "" {
			writeError(w, badRequest("orderBy cannot be used with forward-only pagination."))
			return
		}
		after := int64(0)
		if v, ok := param(q, "pageId"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				writeError(w, badRequest("pageId must be a record id."))
				return
			}
			after = n
		}
		i := sort.Search(len(rows), func(i int) bool { return idOf(rows[i].doc["id"]) > after })
		rows = rows[i:]
		page = rows[:min(size, len(rows))]
		if len(rows) > size {
			links = append(links, linkTo(r, q, map[string]string{"pageId": strconv.FormatInt(idOf(page[len(page)-1].doc["id"]), 10), "pageSize": strconv.Itoa(size)}, "next"))
		}
		// An empty Link header marks the last forward-only page (as one public client reads
		// it). Unconfirmed: the server's exact signal.
		w.Header().Set("Link", strings.Join(links, ", "))
	} else {
		if orderBy != "" {
			if e := sortRows(rt.res, rows, orderBy); e != nil {
				writeError(w, e)
				return
			}
		}
		n := 1
		if v, ok := param(q, "page"); ok {
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 {
				writeError(w, badRequest("page must be a positive whole number."))
				return
			}
			n = p
		}
		last := max(1, (len(rows)+size-1)/size)
		if start := (n - 1) * size; start < len(rows) {
			page = rows[start:min(start+size, len(rows))]
		}
		at := func(p int, rel string) string {
			return linkTo(r, q, map[string]string{"page": strconv.Itoa(p), "pageSize": strconv.Itoa(size)}, rel)
		}
		if n > 1 {
			links = append(links, at(min(n-1, last), "prev"))
		}
		if n < last {
			links = append(links, at(n+1, "next"))
		}
		if n > 1 {
			links = append(links, at(1, "first"))
		}
		if n < last {
			links = append(links, at(last, "last"))
		}
		if len(links) > 0 {
			w.Header().Set("Link", strings.Join(links, ", "))
		}
	}
	out := make([]doc, len(page))
	for i, rec := range page {
		out[i] = project(rec.doc, fields)
	}
	writeJSON(w, http.StatusOK, out)
}

// linkTo is one Link entry: this request's URL with the original query (conditions,
// fields, orderBy...) and the paging parameters replaced.
func linkTo(r *http.Request, q url.Values, set map[string]string, rel string) string {
	next := url.Values{}
	for k, vs := range q {
		drop := false
		for name := range set {
			if strings.EqualFold(k, name) || strings.EqualFold(k, "page") && name == "pageId" {
				drop = true
			}
		}
		if !drop {
			next[k] = vs
		}
	}
	for k, v := range set {
		next.Set(k, v)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return fmt.Sprintf("<%s://%s%s?%s>; rel=\"%s\"", scheme, r.Host, r.URL.EscapedPath(), next.Encode(), rel)
}

// sortRows orders rows by "field [asc|desc][, field [asc|desc]...]", id breaking ties.
func sortRows(res *resource, rows []*record, orderBy string) *apiError {
	type key struct {
		path []string
		kind kind
		desc bool
	}
	var keys []key
	for _, part := range strings.Split(orderBy, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 {
			return badRequest("Invalid orderBy %q: use \"field asc\" or \"field desc\".", orderBy)
		}
		k := key{}
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return badRequest("Invalid orderBy %q: direction must be asc or desc.", orderBy)
			}
		}
		path, kd, err := resolvePath(res, words[0])
		if err != nil {
			return badRequest("Invalid orderBy: %v", err)
		}
		k.path, k.kind = path, kd
		keys = append(keys, k)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range keys {
			c := compareValues(k.kind, valueAt(rows[i].doc, k.path), valueAt(rows[j].doc, k.path))
			if c != 0 {
				return (c < 0) != k.desc
			}
		}
		return idOf(rows[i].doc["id"]) < idOf(rows[j].doc["id"])
	})
	return nil
}

// fieldsParam reads fields=a,b,c/d into canonical paths. Unknown names are ignored, so a
// client asking for a field the version lacks still gets its rows; when no name is known
// the request is refused. Unconfirmed: the API's handling of both cases.
func (s *Server) fieldsParam(res *resource, r *http.Request) ([][]string, *apiError) {
	v, ok := param(r.URL.Query(), "fields")
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out [][]string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		segs := strings.Split(f, "/")
		name, _, ok := res.lookup(segs[0])
		if !ok {
			continue
		}
		segs[0] = name
		out = append(out, segs)
	}
	if len(out) == 0 {
		return nil, badRequest("fields names no field of %s.", res.object)
	}
	return out, nil
}

// project keeps only the given paths of d (all of d when paths is nil).
func project(d doc, paths [][]string) doc {
	if paths == nil {
		return d
	}
	out := doc{}
	for _, p := range paths {
		var cur any = d
		ok := true
		for _, s := range p {
			m, isMap := cur.(map[string]any)
			if !isMap {
				ok = false
				break
			}
			if cur, ok = m[s]; !ok {
				break
			}
		}
		if !ok {
			continue
		}
		dst := out
		for _, s := range p[:len(p)-1] {
			next, _ := dst[s].(map[string]any)
			if next == nil {
				next = map[string]any{}
				dst[s] = next
			}
			dst = next
		}
		dst[p[len(p)-1]] = cur
	}
	return out
}
