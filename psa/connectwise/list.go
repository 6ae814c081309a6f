package connectwise

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/meterbridge/meterbridge/remote"
)

// DefaultPageSize is what the client asks for: the API's hard maximum, so a full read costs
// as few calls as possible. The server may cap it lower; the client follows Link either way.
const DefaultPageSize = 1000

// maxPages stops a listing whose Link headers never end.
const maxPages = 10000

// ListOptions selects and shapes the rows of a list endpoint.
type ListOptions struct {
	Conditions Condition
	OrderBy    Order    // zero: the server's order (by id)
	Fields     []string // trims each row to these fields (slash paths allowed)
	PageSize   int      // 0: DefaultPageSize
	Limit      int      // stop after this many rows; 0: all
}

func (o ListOptions) query() (url.Values, error) {
	q := url.Values{}
	cond, err := o.Conditions.Build()
	if err != nil {
		return nil, err
	}
	if cond != "" {
		q.Set("conditions", cond)
	}
	if o.OrderBy.Field != "" {
		ob, err := o.OrderBy.build()
		if err != nil {
			return nil, err
		}
		q.Set("orderBy", ob)
	}
	if len(o.Fields) > 0 {
		for _, f := range o.Fields {
			if err := checkField(f); err != nil {
				return nil, fmt.Errorf("fields: %w", err)
			}
		}
		q.Set("fields", strings.Join(o.Fields, ","))
	}
	size := o.PageSize
	if size <= 0 || size > DefaultPageSize {
		size = DefaultPageSize
	}
	if o.Limit > 0 && o.Limit < size {
		size = o.Limit
	}
	q.Set("pageSize", strconv.Itoa(size))
	return q, nil
}

// list reads rows of path page by page. Each page is asked for with the original query
// and only the page number taken from the Link rel="next" URL, so the conditions, fields
// and order can never be dropped between pages (a bug seen in one public client), and a
// next URL pointing at another host or a mangled path is never followed as such.
// Listing stops when there is no next link, when a page is empty, or at Limit.
func list[T any](ctx context.Context, c *Client, path string, o ListOptions) ([]T, error) {
	op := http.MethodGet + " " + path
	q, err := o.query()
	if err != nil {
		return nil, invalid(op, "conditions", "%v", err)
	}
	var out []T
	page := 1
	for range maxPages {
		q.Set("page", strconv.Itoa(page))
		var rows []T
		resp, err := c.getJSON(ctx, path, q, &rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if o.Limit > 0 && len(out) >= o.Limit {
			return out[:o.Limit], nil
		}
		next, ok := ParseLink(resp.Header.Values("Link"))["next"]
		if !ok || len(rows) == 0 {
			return out, nil
		}
		n, err := pageOf(next)
		if err != nil {
			return nil, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Message: err.Error()}
		}
		if n <= page {
			return nil, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op,
				Message: fmt.Sprintf("paging did not advance: page %d links to page %d as next", page, n)}
		}
		page = n
	}
	return nil, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Message: fmt.Sprintf("more than %d pages", maxPages)}
}

// pageOf reads the page number from a next link.
func pageOf(link string) (int, error) {
	u, err := url.Parse(link)
	if err != nil {
		return 0, fmt.Errorf("unreadable next link %q", clean(link, 200))
	}
	for k, vs := range u.Query() {
		if strings.EqualFold(k, "page") && len(vs) > 0 {
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 {
				return 0, fmt.Errorf("next link has page %q", clean(vs[0], 50))
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("next link %q has no page", clean(link, 200))
}

// count asks path/count how many rows match cond.
func (c *Client) count(ctx context.Context, path string, cond Condition) (int, error) {
	q := url.Values{}
	expr, err := cond.Build()
	if err != nil {
		return 0, invalid(http.MethodGet+" "+path+"/count", "conditions", "%v", err)
	}
	if expr != "" {
		q.Set("conditions", expr)
	}
	var r struct {
		Count int `json:"count"`
	}
	if _, err := c.getJSON(ctx, path+"/count", q, &r); err != nil {
		return 0, err
	}
	return r.Count, nil
}

// ParseLink reads RFC 8288 Link header values into rel → URL. It accepts several header
// lines, several links per line, quoted or bare rel values and several rels per link
// (rel="next last"). Malformed parts are skipped, never guessed at.
func ParseLink(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		for len(v) > 0 {
			v = strings.TrimLeft(v, " \t,")
			if v == "" || v[0] != '<' {
				// Not a link: skip to the next comma outside quotes.
				v = skipPast(v)
				continue
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				break
			}
			target := v[1:end]
			v = v[end+1:]
			params, rest := linkParams(v)
			v = rest
			if strings.ContainsRune(target, '<') {
				continue // not a URI reference
			}
			for _, rel := range strings.Fields(params["rel"]) {
				rel = strings.ToLower(rel)
				if _, seen := out[rel]; !seen {
					out[rel] = target
				}
			}
		}
	}
	return out
}

// linkParams reads `; name="value"; name=value` up to the comma that ends one link.
func linkParams(v string) (map[string]string, string) {
	params := map[string]string{}
	for {
		v = strings.TrimLeft(v, " \t")
		if v == "" || v[0] == ',' {
			return params, v
		}
		if v[0] != ';' {
			return params, skipPast(v)
		}
		v = strings.TrimLeft(v[1:], " \t")
		eq := strings.IndexAny(v, "=;,")
		if eq < 0 || v[eq] != '=' {
			if eq < 0 {
				return params, ""
			}
			v = v[eq:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(v[:eq]))
		v = strings.TrimLeft(v[eq+1:], " \t")
		var val string
		if strings.HasPrefix(v, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			val = b.String()
			if i < len(v) {
				i++
			}
			v = v[i:]
		} else {
			end := strings.IndexAny(v, ";,")
			if end < 0 {
				end = len(v)
			}
			val = strings.TrimSpace(v[:end])
			v = v[end:]
		}
		if _, dup := params[name]; !dup {
			params[name] = val
		}
	}
}

// skipPast drops everything up to and including the next comma outside quotes.
func skipPast(v string) string {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				return v[i+1:]
			}
		}
	}
	return ""
}
