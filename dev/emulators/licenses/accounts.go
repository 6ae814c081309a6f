package licenses

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
)

// licenceWire writes units as a bare JSON number, as portals do, which is what makes exact
// decoding on the client matter.
type licenceWire struct {
	Type  string          `json:"type"`
	Units json.RawMessage `json:"units"`
}

type accountWire struct {
	Account
	Licenses []licenceWire `json:"licenses"`
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size := 1, DefaultPageSize
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &page}, {"per_page", &size}} {
		n, ok := emuhttp.PositiveInt(q, p.name, *p.dst)
		if !ok {
			writeProblem(w, http.StatusBadRequest, "invalid-parameter", p.name+" must be a positive integer", invalidParam{p.name, "must be a positive integer"})
			return
		}
		*p.dst = n
	}

	s.mu.Lock()
	s.counts.Accounts++
	size = min(size, s.pages.Get())
	ids := slices.Sorted(maps.Keys(s.accounts))
	total := len(ids)
	data := []accountWire{}
	// Guarded so a huge page number cannot overflow the offset.
	if page <= total {
		start := (page - 1) * size
		for _, id := range ids[min(start, total):min(start+size, total)] {
			a := s.accounts[id]
			aw := accountWire{Account: a.Account, Licenses: []licenceWire{}}
			for _, t := range slices.Sorted(maps.Keys(a.units)) {
				aw.Licenses = append(aw.Licenses, licenceWire{t, json.RawMessage(a.units[t].String())})
			}
			data = append(data, aw)
		}
	}
	s.mu.Unlock()

	pages := (total + size - 1) / size
	link := func(p int) string {
		return emuhttp.NextLink(r, "/v1/accounts", url.Values{"page": {strconv.Itoa(p)}, "per_page": {strconv.Itoa(size)}})
	}
	var next *string
	if page < pages {
		n := link(page + 1)
		next = &n
	}
	emuhttp.WriteJSON(w, http.StatusOK, map[string]any{
		"data":  data,
		"meta":  map[string]int{"page": page, "per_page": size, "total_count": total, "total_pages": pages},
		"links": map[string]*string{"self": new(link(page)), "next": next},
	})
}

func (s *Server) state(w http.ResponseWriter, _ *http.Request) {
	type stateAccount struct {
		Account
		Licenses map[string]decimal.Decimal `json:"licenses"`
	}
	s.mu.Lock()
	out := struct {
		OrgName     string         `json:"org_name"`
		MaxPageSize int            `json:"max_page_size"`
		Accounts    []stateAccount `json:"accounts"`
		Counts      Counts         `json:"counts"`
	}{OrgName: s.orgName, MaxPageSize: s.pages.Get(), Accounts: []stateAccount{}, Counts: s.counts}
	for _, id := range slices.Sorted(maps.Keys(s.accounts)) {
		a := s.accounts[id]
		out.Accounts = append(out.Accounts, stateAccount{a.Account, maps.Clone(a.units)})
	}
	s.mu.Unlock()
	emuhttp.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) putAccount(w http.ResponseWriter, r *http.Request) {
	var a Account
	if err := emuhttp.DecodeBody(w, r, &a); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid-body", err.Error())
		return
	}
	a.ID = r.PathValue("id")
	s.AddAccount(a)
	emuhttp.WriteJSON(w, http.StatusOK, a)
}

func (s *Server) putLicence(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Units decimal.Decimal `json:"units"`
	}
	if err := emuhttp.DecodeBody(w, r, &body); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid-body", err.Error(), invalidParam{"units", "must be a number"})
		return
	}
	if err := s.SetUnits(r.PathValue("id"), r.PathValue("type"), body.Units); err != nil {
		writeProblem(w, http.StatusNotFound, "not-found", "no account "+r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteLicence(w http.ResponseWriter, r *http.Request) {
	s.RemoveLicence(r.PathValue("id"), r.PathValue("type"))
	w.WriteHeader(http.StatusNoContent)
}
