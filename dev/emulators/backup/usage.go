package backup

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
)

// usageRow is one client's month on the wire. billable_gb is written as a bare JSON number,
// the way most services do, which is what makes exact decoding on the client matter.
type usageRow struct {
	ClientID   string          `json:"client_id"`
	Name       string          `json:"name"`
	ManagedID  string          `json:"managed_id"`
	BillableGB json.RawMessage `json:"billable_gb"`
	Year       int             `json:"year"`
	Month      int             `json:"month"`
}

// cursor continues a listing after a client ID; it carries the period so that it cannot be
// replayed against another month.
type cursor struct {
	After string `json:"a"`
	Year  int    `json:"y"`
	Month int    `json:"m"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil || c.After == "" {
		return cursor{}, false
	}
	return c, true
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	year, err := strconv.Atoi(q.Get("year"))
	if err != nil || year < 2000 || year > 2100 {
		emuhttp.WriteFieldError(w, http.StatusBadRequest, "invalid_parameter", "year must be a year between 2000 and 2100", "year")
		return
	}
	month, err := strconv.Atoi(q.Get("month"))
	if err != nil || month < 1 || month > 12 {
		emuhttp.WriteFieldError(w, http.StatusBadRequest, "invalid_parameter", "month must be 1-12", "month")
		return
	}
	size, ok := emuhttp.PositiveInt(q, "page_size", DefaultPageSize)
	if !ok {
		emuhttp.WriteFieldError(w, http.StatusBadRequest, "invalid_parameter", "page_size must be a positive integer", "page_size")
		return
	}
	after := ""
	if v := q.Get("cursor"); v != "" {
		c, ok := decodeCursor(v)
		if !ok || c.Year != year || c.Month != month {
			emuhttp.WriteFieldError(w, http.StatusBadRequest, "invalid_cursor", "the cursor is malformed or belongs to another year and month", "cursor")
			return
		}
		after = c.After
	}

	s.mu.Lock()
	s.counts.Usage++
	size = min(size, s.pages.Get())
	rows := make([]usageRow, 0, size)
	more := false
	for _, id := range s.sortedIDs() {
		if id <= after {
			continue
		}
		if len(rows) == size {
			more = true
			break
		}
		c := s.clients[id]
		gb, ok := c.months[period{year, month}]
		if !ok {
			gb = c.MonthlyGB
		}
		rows = append(rows, usageRow{ClientID: c.ID, Name: c.Name, ManagedID: c.ManagedID, BillableGB: json.RawMessage(gb.String()), Year: year, Month: month})
	}
	s.mu.Unlock()

	type paging struct {
		NextCursor string `json:"next_cursor,omitempty"`
		Next       string `json:"next,omitempty"`
	}
	var p paging
	if more {
		p.NextCursor = cursor{After: rows[len(rows)-1].ClientID, Year: year, Month: month}.encode()
		nq := url.Values{"year": {strconv.Itoa(year)}, "month": {strconv.Itoa(month)}, "page_size": {strconv.Itoa(size)}, "cursor": {p.NextCursor}}
		p.Next = emuhttp.NextLink(r, "/v1/usage", nq)
	}
	emuhttp.WriteJSON(w, http.StatusOK, struct {
		Data   []usageRow `json:"data"`
		Paging paging     `json:"paging"`
	}{rows, p})
}

func (s *Server) state(w http.ResponseWriter, _ *http.Request) {
	type month struct {
		Year       int             `json:"year"`
		Month      int             `json:"month"`
		BillableGB decimal.Decimal `json:"billable_gb"`
	}
	type clientState struct {
		ClientRecord
		Months []month `json:"months,omitempty"`
	}
	s.mu.Lock()
	out := struct {
		AccountName string        `json:"account_name"`
		MaxPageSize int           `json:"max_page_size"`
		Clients     []clientState `json:"clients"`
		Counts      Counts        `json:"counts"`
	}{AccountName: s.accountName, MaxPageSize: s.pages.Get(), Clients: []clientState{}, Counts: s.counts}
	for _, id := range s.sortedIDs() {
		c := s.clients[id]
		cs := clientState{ClientRecord: c.ClientRecord}
		for p, gb := range c.months {
			cs.Months = append(cs.Months, month{p.year, p.month, gb})
		}
		slices.SortFunc(cs.Months, func(a, b month) int { return (a.Year*12 + a.Month) - (b.Year*12 + b.Month) })
		out.Clients = append(out.Clients, cs)
	}
	s.mu.Unlock()
	emuhttp.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) putClient(w http.ResponseWriter, r *http.Request) {
	var c ClientRecord
	if err := emuhttp.DecodeBody(w, r, &c); err != nil {
		emuhttp.WriteError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	c.ID = r.PathValue("id")
	s.AddClient(c)
	emuhttp.WriteJSON(w, http.StatusOK, c)
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request) {
	s.RemoveClient(r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putUsage(w http.ResponseWriter, r *http.Request) {
	year, err1 := strconv.Atoi(r.PathValue("year"))
	month, err2 := strconv.Atoi(r.PathValue("month"))
	if err1 != nil || err2 != nil || month < 1 || month > 12 {
		emuhttp.WriteError(w, http.StatusBadRequest, "invalid_parameter", "year and month must be numbers, month 1-12")
		return
	}
	var body struct {
		BillableGB decimal.Decimal `json:"billable_gb"`
	}
	if err := emuhttp.DecodeBody(w, r, &body); err != nil {
		emuhttp.WriteFieldError(w, http.StatusBadRequest, "invalid_body", err.Error(), "billable_gb")
		return
	}
	if err := s.SetUsage(r.PathValue("id"), year, time.Month(month), body.BillableGB); err != nil {
		emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no client "+r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
