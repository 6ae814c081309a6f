package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/remote"
)

// MaxPageSize is the most rows Autotask returns per query page (MaxRecords 1–500).
const MaxPageSize = 500

// maxPages stops a paging loop that a misbehaving server keeps feeding.
const maxPages = 1000

// inChunk bounds the values in one "in" filter.
//
// Unconfirmed: Autotask documents at most 500 OR conditions per query (for SOAP); whether an
// "in" list counts against that in REST is not documented, so lists stay well below it.
const inChunk = 200

// Filter is one query condition, or a group of them when Op is "and" or "or".
type Filter struct {
	Op    string   `json:"op"`
	Field string   `json:"field,omitempty"`
	Value any      `json:"value,omitempty"`
	UDF   bool     `json:"udf,omitempty"`
	Items []Filter `json:"items,omitempty"`
}

// Eq matches field == value.
func Eq(field string, value any) Filter { return Filter{Op: "eq", Field: field, Value: value} }

// NotEq matches field != value.
func NotEq(field string, value any) Filter { return Filter{Op: "noteq", Field: field, Value: value} }

// Gt matches field > value.
func Gt(field string, value any) Filter { return Filter{Op: "gt", Field: field, Value: value} }

// Gte matches field >= value.
func Gte(field string, value any) Filter { return Filter{Op: "gte", Field: field, Value: value} }

// Lt matches field < value.
func Lt(field string, value any) Filter { return Filter{Op: "lt", Field: field, Value: value} }

// Lte matches field <= value.
func Lte(field string, value any) Filter { return Filter{Op: "lte", Field: field, Value: value} }

// BeginsWith matches strings starting with value.
func BeginsWith(field, value string) Filter {
	return Filter{Op: "beginsWith", Field: field, Value: value}
}

// EndsWith matches strings ending with value.
func EndsWith(field, value string) Filter { return Filter{Op: "endsWith", Field: field, Value: value} }

// Contains matches strings containing value.
func Contains(field, value string) Filter { return Filter{Op: "contains", Field: field, Value: value} }

// Exist matches rows where field has a value.
func Exist(field string) Filter { return Filter{Op: "exist", Field: field} }

// NotExist matches rows where field is empty.
func NotExist(field string) Filter { return Filter{Op: "notExist", Field: field} }

// In matches field equal to any of values.
func In[T any](field string, values []T) Filter {
	return Filter{Op: "in", Field: field, Value: values}
}

// NotIn matches field equal to none of values.
func NotIn[T any](field string, values []T) Filter {
	return Filter{Op: "notIn", Field: field, Value: values}
}

// And groups filters that must all match.
func And(items ...Filter) Filter { return Filter{Op: "and", Items: items} }

// Or groups filters of which one must match.
func Or(items ...Filter) Filter { return Filter{Op: "or", Items: items} }

// AllRows is the conventional filter for "every row": Autotask requires a filter.
func AllRows() Filter { return Gte("id", 0) }

// Query is the body of POST /{Entity}/query.
type Query struct {
	Filter        []Filter `json:"filter"`
	IncludeFields []string `json:"IncludeFields,omitempty"`
	MaxRecords    int      `json:"MaxRecords,omitempty"`
}

// PageDetails is Autotask's paging block; NextPageURL is a full URL to GET, or null.
type PageDetails struct {
	Count        int     `json:"count"`
	RequestCount int     `json:"requestCount"`
	PrevPageURL  *string `json:"prevPageUrl"`
	NextPageURL  *string `json:"nextPageUrl"`
}

// Page is one page of query results.
type Page[T any] struct {
	Items       []T         `json:"items"`
	PageDetails PageDetails `json:"pageDetails"`
}

func decodePage[T any](body []byte) (Page[T], error) {
	var p Page[T]
	if err := json.Unmarshal(body, &p); err != nil {
		return Page[T]{}, err
	}
	return p, nil
}

// queryAll runs a query and follows nextPageUrl to the end. It is the package's one paging
// helper; every resource's query goes through it.
func queryAll[T any](ctx context.Context, c *Client, entity string, filters ...Filter) ([]T, error) {
	var all []T
	_, err := queryPages(ctx, c, entity, Query{Filter: filters, MaxRecords: MaxPageSize}, func(items []T) bool {
		all = append(all, items...)
		return true
	})
	return all, err
}

// queryFirst returns at most max rows: the first page only.
func queryFirst[T any](ctx context.Context, c *Client, entity string, max int, filters ...Filter) ([]T, error) {
	var all []T
	_, err := queryPages(ctx, c, entity, Query{Filter: filters, MaxRecords: max}, func(items []T) bool {
		all = append(all, items...)
		return false
	})
	return all, err
}

// queryPages POSTs q and follows nextPageUrl, handing each page's rows to each until it
// returns false or the pages end. more reports whether a nextPageUrl was left unread.
func queryPages[T any](ctx context.Context, c *Client, entity string, q Query, each func([]T) bool) (more bool, err error) {
	op := "POST /v1.0/" + entity + "/query"
	if len(q.Filter) == 0 {
		return false, invalid(op, "filter", "Autotask queries need at least one filter; use AllRows()")
	}
	base, err := c.apiBase(ctx)
	if err != nil {
		return false, err
	}
	body, err := json.Marshal(q)
	if err != nil {
		return false, invalid(op, "filter", "encode query: "+err.Error())
	}
	resp, err := c.send(ctx, remote.Request{Method: http.MethodPost, URL: base + "/" + entity + "/query", Body: body, Op: op, Idempotent: true}, sendOpts{})
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for pages := 1; ; pages++ {
		p, err := decodePage[T](resp.Body)
		if err != nil {
			return false, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: "decode query page: " + err.Error(), Err: err}
		}
		next := ""
		if p.PageDetails.NextPageURL != nil {
			next = strings.TrimSpace(*p.PageDetails.NextPageURL)
		}
		if !each(p.Items) || next == "" {
			return next != "", nil
		}
		nextURL, err := sameHost(base, next)
		if err != nil {
			return false, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Message: err.Error()}
		}
		if seen[nextURL] || pages >= maxPages {
			return false, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op,
				Message: fmt.Sprintf("paging stopped after %d pages: nextPageUrl repeats or never ends", pages)}
		}
		seen[nextURL] = true
		resp, err = c.send(ctx, remote.Request{Method: http.MethodGet, URL: nextURL, Op: "GET /v1.0/" + entity + "/query (next page)", Idempotent: true}, sendOpts{})
		if err != nil {
			return false, err
		}
	}
}

// sameHost resolves a nextPageUrl against base and refuses one on another host, which would
// receive the credential headers.
func sameHost(base, next string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	n, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("unusable nextPageUrl: %v", err)
	}
	n = b.ResolveReference(n)
	if !strings.EqualFold(n.Host, b.Host) || n.Scheme != b.Scheme {
		return "", fmt.Errorf("nextPageUrl points at another host (%s)", n.Host)
	}
	return n.String(), nil
}

// count runs POST /{Entity}/query/count.
func count(ctx context.Context, c *Client, entity string, filters ...Filter) (int64, error) {
	op := "POST /v1.0/" + entity + "/query/count"
	if len(filters) == 0 {
		return 0, invalid(op, "filter", "Autotask queries need at least one filter; use AllRows()")
	}
	base, err := c.apiBase(ctx)
	if err != nil {
		return 0, err
	}
	body, _ := json.Marshal(Query{Filter: filters})
	resp, err := c.send(ctx, remote.Request{Method: http.MethodPost, URL: base + "/" + entity + "/query/count", Body: body, Op: op, Idempotent: true}, sendOpts{})
	if err != nil {
		return 0, err
	}
	var r struct {
		QueryCount int64 `json:"queryCount"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return 0, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: "decode count: " + err.Error(), Err: err}
	}
	return r.QueryCount, nil
}

// getByID runs GET /{Entity}/{id}; a missing row is a NotFound error.
//
// Unconfirmed: whether Autotask answers a missing id with 200 {"item": null} or with 404;
// both become NotFound.
func getByID[T any](ctx context.Context, c *Client, entity string, id int64) (T, error) {
	var zero T
	op := fmt.Sprintf("GET /v1.0/%s/%d", entity, id)
	if id <= 0 {
		return zero, notFound(op, fmt.Sprintf("%s id %d cannot exist", entity, id))
	}
	base, err := c.apiBase(ctx)
	if err != nil {
		return zero, err
	}
	resp, err := c.send(ctx, remote.Request{Method: http.MethodGet, URL: fmt.Sprintf("%s/%s/%d", base, entity, id), Op: op, Idempotent: true}, sendOpts{})
	if err != nil {
		if remote.KindOf(err) == remote.NotFound {
			return zero, notFound(op, fmt.Sprintf("%s %d not found", entity, id))
		}
		return zero, err
	}
	var r struct {
		Item *T `json:"item"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return zero, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: "decode item: " + err.Error(), Err: err}
	}
	if r.Item == nil {
		return zero, notFound(op, fmt.Sprintf("%s %d not found", entity, id))
	}
	return *r.Item, nil
}

// create POSTs body to path once and returns the new row's id. It is never retried here: a
// create whose response was lost may have landed, and only the caller knows how to check.
func create(ctx context.Context, c *Client, path string, body any) (int64, error) {
	op := "POST /v1.0/" + path
	base, err := c.apiBase(ctx)
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, invalid(op, "", "encode body: "+err.Error())
	}
	resp, err := c.send(ctx, remote.Request{Method: http.MethodPost, URL: base + "/" + path, Body: b, Op: op}, sendOpts{sender: c.creates})
	if err != nil {
		return 0, err
	}
	id, err := decodeItemID(resp.Body)
	if err != nil {
		// The create went through; only its id is unreadable. The caller's read-back decides.
		return 0, nil
	}
	return id, nil
}

// decodeItemID reads {"itemId": n}; the spec types itemId loosely, so a numeric string is
// accepted too.
func decodeItemID(body []byte) (int64, error) {
	var r struct {
		ItemID json.RawMessage `json:"itemId"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	raw := strings.Trim(strings.TrimSpace(string(r.ItemID)), `"`)
	if raw == "" || raw == "null" {
		return 0, fmt.Errorf("no itemId")
	}
	return strconv.ParseInt(raw, 10, 64)
}

// DateTime is an Autotask date-time. Autotask stores UTC; values without a zone are read as
// UTC, and values are sent as "2006-01-02T15:04:05Z".
type DateTime struct{ time.Time }

var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"}

// UnmarshalJSON accepts null, "", RFC 3339 and zone-less timestamps, and bare dates.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		d.Time = time.Time{}
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("date-time %s: %w", s, err)
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, str); err == nil {
			d.Time = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("date-time %q is not in a known format", str)
}

// MarshalJSON writes UTC seconds precision, or null for the zero time.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(formatTime(d.Time))
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
