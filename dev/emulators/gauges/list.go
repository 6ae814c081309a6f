package gauges

import (
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
)

func (s *Server) listGauges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, ok := emuhttp.PositiveInt(q, "page_size", DefaultPageSize)
	if !ok {
		emuhttp.WriteError(w, http.StatusBadRequest, "invalid_parameter", "page_size must be a positive integer")
		return
	}
	after := ""
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			emuhttp.WriteError(w, http.StatusBadRequest, "invalid_cursor", "the cursor is malformed")
			return
		}
		after = string(b)
	}

	s.mu.Lock()
	s.counts.GaugeLists++
	size = min(size, s.pages.Get())
	data := []gaugeWire{}
	more := false
	for _, id := range s.sortedIDs() {
		if id <= after {
			continue
		}
		if len(data) == size {
			more = true
			break
		}
		data = append(data, s.wire(s.gauges[id]))
	}
	s.mu.Unlock()

	paging := map[string]string{}
	if more {
		c := base64.RawURLEncoding.EncodeToString([]byte(data[len(data)-1].ID))
		paging["next_cursor"] = c
		paging["next"] = emuhttp.NextLink(r, "/v1/gauges", url.Values{"page_size": {strconv.Itoa(size)}, "cursor": {c}})
	}
	emuhttp.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "paging": paging})
}

func (s *Server) state(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	gauges := make([]gaugeWire, 0, len(s.gauges))
	for _, id := range s.sortedIDs() {
		gauges = append(gauges, s.wire(s.gauges[id]))
	}
	live, now := 0, s.now()
	for _, t := range s.tokens {
		if !t.revoked && now.Before(t.expires) {
			live++
		}
	}
	out := map[string]any{
		"now":           now.UTC().Format(time.RFC3339),
		"token_ttl":     s.ttl.String(),
		"max_page_size": s.pages.Get(),
		"gauges":        gauges,
		"live_tokens":   live,
		"counts":        s.counts,
		"reads":         maps.Clone(s.reads),
	}
	s.mu.Unlock()
	emuhttp.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) putGauge(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name  string          `json:"name"`
		Unit  string          `json:"unit"`
		Value decimal.Decimal `json:"value"`
	}
	if err := emuhttp.DecodeBody(w, r, &body); err != nil {
		emuhttp.WriteError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	g := Gauge{ID: r.PathValue("id"), Name: body.Name, Unit: body.Unit, Value: body.Value}
	s.mu.Lock()
	g.MeasuredAt = s.now().UTC()
	s.gauges[g.ID] = g
	out := s.wire(g)
	s.mu.Unlock()
	emuhttp.WriteJSON(w, http.StatusOK, out)
}
