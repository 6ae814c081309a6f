package autotask

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// apiError is a refusal with the status and messages to answer.
type apiError struct {
	status int
	msgs   []string
}

func (e *apiError) Error() string { return strings.Join(e.msgs, "; ") }

// invalidf is a validation or business-rule refusal.
//
// Unconfirmed: Autotask has been seen answering such refusals with HTTP 500 and an errors
// list (clients also map 400 and 422); the emulator answers 500, the case a client must
// not mistake for a passing fault, so messages avoid words like "timeout".
func invalidf(format string, args ...any) *apiError {
	return &apiError{status: http.StatusInternalServerError, msgs: []string{fmt.Sprintf(format, args...)}}
}

func writeAPIError(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeErrors(w, ae.status, ae.msgs...)
		return
	}
	writeErrors(w, http.StatusInternalServerError, err.Error())
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, msgs: []string{"read body: " + err.Error()}}
	}
	return b, nil
}

// decodeStrict fills v from body and refuses fields the entity does not have.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &apiError{status: http.StatusBadRequest, msgs: []string{"a JSON body is required"}}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &apiError{status: http.StatusBadRequest, msgs: []string{"the body is not valid JSON: " + err.Error()}}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidf("field %s has the wrong type: %s given", te.Field, te.Value)
		}
		return invalidf("%s", err.Error())
	}
	return nil
}

// handleCollection serves POST (create) and PATCH (update, id in body) on /{Entity}.
func (s *Server) handleCollection(w http.ResponseWriter, r *http.Request, def *entityDef) {
	switch r.Method {
	case http.MethodPost:
		s.handleCreate(w, r, def, 0)
	case http.MethodPatch:
		if def.writable == nil {
			methodNotAllowed(w, allowed(def, false))
			return
		}
		body, err := readBody(r)
		if err == nil {
			err = checkPicklists(def, body)
		}
		if err != nil {
			writeAPIError(w, err)
			return
		}
		s.mu.Lock()
		id, err := s.patchLocked(def, body)
		s.mu.Unlock()
		if err != nil {
			writeAPIError(w, err)
			return
		}
		s.respondWrite(w, r, id)
	case http.MethodPut:
		// Unconfirmed: which entities accept PUT; the emulator implements PATCH only.
		methodNotAllowed(w, allowed(def, false))
	default:
		methodNotAllowed(w, allowed(def, false))
	}
}

func allowed(def *entityDef, item bool) string {
	var m []string
	if item && def.queryable {
		m = append(m, "GET")
	}
	if !item && def.create != nil {
		m = append(m, "POST")
	}
	if !item && def.writable != nil {
		m = append(m, "PATCH")
	}
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(m, ", ")
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, def *entityDef, parentID int64) {
	if def.create == nil {
		methodNotAllowed(w, allowed(def, false))
		return
	}
	body, err := readBody(r)
	if err == nil {
		err = checkPicklists(def, body)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	hook := s.beforeCreate
	s.mu.Unlock()
	if hook != nil {
		hook(def.name)
	}
	s.mu.Lock()
	id, err := def.create(s, body, parentID)
	s.mu.Unlock()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	s.respondWrite(w, r, id)
}

// respondWrite answers {"itemId": id}, after the configured delay that simulates a response
// lost after the write landed.
//
// Unconfirmed: whether PATCH answers with the item or only {"itemId"}; the emulator sends
// {"itemId"} for both.
func (s *Server) respondWrite(w http.ResponseWriter, r *http.Request, id int64) {
	s.mu.Lock()
	delay := s.writeDelay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]int64{"itemId": id})
}

// patchLocked applies a PATCH body: "id" names the row, every other field must be writable.
func (s *Server) patchLocked(def *entityDef, body []byte) (int64, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return 0, &apiError{status: http.StatusBadRequest, msgs: []string{"the body must be a JSON object: " + err.Error()}}
	}
	var id int64
	for k, v := range fields {
		if strings.EqualFold(k, "id") {
			if err := json.Unmarshal(v, &id); err != nil {
				return 0, invalidf("id must be a whole number")
			}
		}
	}
	if id <= 0 {
		return 0, invalidf("PATCH needs the id of the %s row in the body", def.name)
	}
	ptr := def.get(s, id)
	if ptr == nil {
		return 0, &apiError{status: http.StatusNotFound, msgs: []string{fmt.Sprintf("%s %d not found", def.name, id)}}
	}
	cur, _ := json.Marshal(ptr)
	var merged map[string]json.RawMessage
	_ = json.Unmarshal(cur, &merged)
	for k, v := range fields {
		lk := strings.ToLower(k)
		if lk == "id" {
			continue
		}
		name, ok := def.schema.names[lk]
		if !ok {
			return 0, invalidf("unable to find field %q in the %s entity", k, def.name)
		}
		if !def.writable[lk] {
			return 0, invalidf("field %s of %s cannot be updated", name, def.name)
		}
		merged[name] = v
	}
	b, _ := json.Marshal(merged)
	// Decode into a fresh row so a bad value leaves the stored one untouched.
	fresh := reflect.New(reflect.TypeOf(ptr).Elem())
	if err := decodeStrict(b, fresh.Interface()); err != nil {
		return 0, err
	}
	reflect.ValueOf(ptr).Elem().Set(fresh.Elem())
	return id, nil
}

// handleItem serves GET /{Entity}/{id}. A missing row answers 200 {"item": null}.
//
// Unconfirmed: Autotask's answer for a missing id ({"item": null} is what clients expect;
// some report 404).
func (s *Server) handleItem(w http.ResponseWriter, r *http.Request, def *entityDef, idText string) {
	if r.Method != http.MethodGet || !def.queryable {
		methodNotAllowed(w, allowed(def, true))
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("%q is not an id", idText))
		return
	}
	s.mu.Lock()
	var item any
	if p := def.get(s, id); p != nil {
		item = toRow(p)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"item": item})
}

// handleChild serves /{Parent}/{id}/{Child}[/{childId}].
func (s *Server) handleChild(w http.ResponseWriter, r *http.Request, parent *entityDef, segs []string) {
	pid, err := strconv.ParseInt(segs[0], 10, 64)
	if err != nil || len(segs) < 2 || len(segs) > 3 {
		writeErrors(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
		return
	}
	ch, ok := parent.children[strings.ToLower(segs[1])]
	if !ok {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("%s has no child collection %s", parent.name, segs[1]))
		return
	}
	def := s.entities[ch.entity]
	s.mu.Lock()
	exists := parent.get(s, pid) != nil
	s.mu.Unlock()
	if !exists {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("%s %d not found", parent.name, pid))
		return
	}
	switch {
	case len(segs) == 2 && r.Method == http.MethodPost:
		s.handleCreate(w, r, def, pid)
	case len(segs) == 2 && r.Method == http.MethodGet && def.queryable:
		value, _ := json.Marshal(pid)
		s.serveQuery(w, r, def, queryBody{Filter: []filterItem{{Op: "eq", Field: ch.field, Value: value}}})
	case len(segs) == 3 && r.Method == http.MethodGet && def.queryable:
		id, err := strconv.ParseInt(segs[2], 10, 64)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("%q is not an id", segs[2]))
			return
		}
		s.mu.Lock()
		var item any
		if p := def.get(s, id); p != nil {
			if rw := toRow(p); fmt.Sprint(rw[ch.field]) == strconv.FormatInt(pid, 10) {
				item = rw
			}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"item": item})
	default:
		methodNotAllowed(w, allowed(def, len(segs) == 3))
	}
}

func createCompany(s *Server, body []byte, _ int64) (int64, error) {
	var in struct {
		Company
		IsActive *bool `json:"isActive"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return 0, err
	}
	c := in.Company
	switch {
	case c.ID != 0:
		return 0, invalidf("id must not be set on create")
	case strings.TrimSpace(c.CompanyName) == "":
		return 0, invalidf("companyName is required")
	}
	if c.CompanyType == 0 {
		c.CompanyType = 1
	}
	c.IsActive = in.IsActive == nil || *in.IsActive
	c.CreateDate = Time{s.now().UTC()}
	c.ID = s.idFor(0)
	s.companies[c.ID] = &c
	return c.ID, nil
}

func createService(s *Server, body []byte, _ int64) (int64, error) {
	var v Service
	if err := decodeStrict(body, &v); err != nil {
		return 0, err
	}
	switch {
	case v.ID != 0:
		return 0, invalidf("id must not be set on create")
	case strings.TrimSpace(v.Name) == "":
		return 0, invalidf("name is required")
	}
	v.ID = s.idFor(0)
	s.services[v.ID] = &v
	return v.ID, nil
}

func createContract(s *Server, body []byte, _ int64) (int64, error) {
	var k Contract
	if err := decodeStrict(body, &k); err != nil {
		return 0, err
	}
	switch {
	case k.ID != 0:
		return 0, invalidf("id must not be set on create")
	case strings.TrimSpace(k.ContractName) == "":
		return 0, invalidf("contractName is required")
	case s.companies[k.CompanyID] == nil:
		return 0, invalidf("companyID %d does not reference a company", k.CompanyID)
	case k.ContractType == 0:
		return 0, invalidf("contractType is required")
	case k.StartDate.IsZero() || k.EndDate.IsZero():
		return 0, invalidf("startDate and endDate are required")
	case !k.StartDate.Before(k.EndDate.Time):
		return 0, invalidf("endDate must be after startDate")
	}
	if k.Status == 0 {
		k.Status = 1
	}
	k.StartDate, k.EndDate = Time{day(k.StartDate.Time)}, Time{day(k.EndDate.Time)}
	k.ID = s.idFor(0)
	s.contracts[k.ID] = &k
	return k.ID, nil
}

// createContractService adds a service to a recurring service contract with 0 units in
// every period; units then change through adjustments.
//
// Unconfirmed: the units a contract service created through the API starts with.
func createContractService(s *Server, body []byte, parentID int64) (int64, error) {
	var cs ContractService
	if err := decodeStrict(body, &cs); err != nil {
		return 0, err
	}
	if err := parentMatches(&cs.ContractID, parentID); err != nil {
		return 0, err
	}
	if cs.ID != 0 {
		return 0, invalidf("id must not be set on create")
	}
	if err := s.checkRecurring(cs.ContractID); err != nil {
		return 0, err
	}
	if s.services[cs.ServiceID] == nil {
		return 0, invalidf("serviceID %d does not reference a service", cs.ServiceID)
	}
	id, err := s.addContractServiceLocked(cs, 0)
	if err != nil {
		return 0, invalidf("%s", err.Error())
	}
	return id, nil
}

func parentMatches(field *int64, parentID int64) error {
	if parentID == 0 {
		return nil
	}
	if *field != 0 && *field != parentID {
		return invalidf("contractID %d in the body differs from the parent %d in the path", *field, parentID)
	}
	*field = parentID
	return nil
}

func (s *Server) checkRecurring(contractID int64) error {
	k := s.contracts[contractID]
	if k == nil {
		return invalidf("contractID %d does not reference a contract", contractID)
	}
	if k.ContractType != contractTypeRecurringService {
		return invalidf("contract %d is not a Recurring Service contract (type 7)", contractID)
	}
	return nil
}

// createAdjustment applies a ContractServiceAdjustment: from effectiveDate on, every unit
// period changes by unitChange; the period containing effectiveDate is split there, the
// prior part keeping the old units.
func createAdjustment(s *Server, body []byte, parentID int64) (int64, error) {
	var in struct {
		ID                 json.Number     `json:"id"`
		ContractID         json.Number     `json:"contractID"`
		ContractServiceID  json.Number     `json:"contractServiceID"`
		ServiceID          json.Number     `json:"serviceID"`
		UnitChange         json.Number     `json:"unitChange"`
		EffectiveDate      Time            `json:"effectiveDate"`
		AdjustedUnitPrice  *Money          `json:"adjustedUnitPrice"`
		AdjustedUnitCost   *Money          `json:"adjustedUnitCost"`
		AllowRepeatService bool            `json:"allowRepeatService"`
		QuoteItemID        *int64          `json:"quoteItemID"`
		UserDefinedFields  json.RawMessage `json:"userDefinedFields"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return 0, err
	}
	var ids [5]int64
	for i, f := range []struct {
		n    json.Number
		name string
	}{{in.ID, "id"}, {in.ContractID, "contractID"}, {in.ContractServiceID, "contractServiceID"}, {in.ServiceID, "serviceID"}, {in.UnitChange, "unitChange"}} {
		v, err := wholeNumber(f.n, f.name)
		if err != nil {
			return 0, err
		}
		ids[i] = v
	}
	id, contractID, csID, serviceID, change := ids[0], ids[1], ids[2], ids[3], ids[4]
	if err := parentMatches(&contractID, parentID); err != nil {
		return 0, err
	}
	switch {
	case id != 0:
		return 0, invalidf("id must not be set on create")
	case in.UnitChange == "":
		return 0, invalidf("unitChange is required")
	case change == 0:
		// Unconfirmed: whether Autotask accepts a zero unitChange; refusing it surfaces a
		// client that posts adjustments it does not need.
		return 0, invalidf("unitChange must not be 0")
	case in.EffectiveDate.IsZero():
		return 0, invalidf("effectiveDate is required")
	}
	e := day(in.EffectiveDate.Time)
	var cs *ContractService
	if csID != 0 {
		cs = s.contractServices[csID]
		if cs == nil {
			return 0, invalidf("contractServiceID %d does not reference a contract service", csID)
		}
		if contractID != 0 && cs.ContractID != contractID {
			return 0, invalidf("contract service %d is not on contract %d", csID, contractID)
		}
		if serviceID != 0 && cs.ServiceID != serviceID {
			return 0, invalidf("contract service %d bills service %d, not %d", csID, cs.ServiceID, serviceID)
		}
	} else {
		// Without a contract service id the adjustment names contract and service, and
		// creates the contract service when the contract lacks it.
		if err := s.checkRecurring(contractID); err != nil {
			return 0, err
		}
		if s.services[serviceID] == nil {
			return 0, invalidf("serviceID %d does not reference a service", serviceID)
		}
		if !in.AllowRepeatService {
			for _, c := range s.contractServices {
				if c.ContractID == contractID && c.ServiceID == serviceID {
					cs = c
					break
				}
			}
		}
		if cs == nil {
			if change < 0 {
				return 0, invalidf("units cannot be less than 0: a new contract service starts at 0 units")
			}
			// The service joins the contract on the adjustment's effective date: it has no
			// units before then.
			newID, err := s.addContractServiceFromLocked(ContractService{ContractID: contractID, ServiceID: serviceID}, 0, e)
			if err != nil {
				return 0, invalidf("%s", err.Error())
			}
			cs = s.contractServices[newID]
		}
	}
	if err := s.applyAdjustmentLocked(cs, e, change, in.AdjustedUnitPrice, in.AdjustedUnitCost); err != nil {
		return 0, err
	}
	a := Adjustment{ID: s.idFor(0), ContractID: cs.ContractID, ContractServiceID: cs.ID, ServiceID: cs.ServiceID,
		UnitChange: change, EffectiveDate: Time{e}, AdjustedUnitPrice: in.AdjustedUnitPrice, AdjustedUnitCost: in.AdjustedUnitCost,
		AllowRepeatService: in.AllowRepeatService, QuoteItemID: in.QuoteItemID}
	s.adjustments = append(s.adjustments, a)
	return a.ID, nil
}

// wholeNumber reads an int32 field that must hold an integer ("" when absent reads as 0).
func wholeNumber(n json.Number, field string) (int64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, invalidf("%s must be a whole number, got %s", field, n)
	}
	if v > math.MaxInt32 || v < math.MinInt32 {
		return 0, invalidf("%s %d is out of range", field, v)
	}
	return v, nil
}

// applyAdjustmentLocked changes every period from e on and splits the one containing e.
//
// Unconfirmed: that an adjustment carries into all later periods (not only the one it falls
// in), and that the split row's endDate equals the new row's startDate (exclusive end).
func (s *Server) applyAdjustmentLocked(cs *ContractService, e time.Time, change int64, price, cost *Money) error {
	rows := s.unitRowsLocked(cs.ID)
	if len(rows) == 0 {
		return invalidf("contract service %d has no unit periods", cs.ID)
	}
	first, last := rows[0], rows[len(rows)-1]
	if e.Before(first.StartDate.Time) || !e.Before(last.EndDate.Time) {
		return invalidf("effectiveDate %s is outside the contract service's periods (%s to %s)",
			e.Format(time.DateOnly), first.StartDate.Format(time.DateOnly), last.EndDate.Format(time.DateOnly))
	}
	// Validate every affected period before changing any.
	for _, r := range rows {
		if !r.EndDate.After(e) {
			continue
		}
		switch n := r.Units + change; {
		case n < 0:
			return invalidf("units cannot be less than 0: the period from %s holds %d units and the change is %d",
				maxTime(r.StartDate.Time, e).Format(time.DateOnly), r.Units, change)
		case n > math.MaxInt32:
			return invalidf("units cannot exceed %d", math.MaxInt32)
		}
	}
	setPrice := func(r *ContractServiceUnit) {
		if price != nil {
			r.Price, r.InternalCurrencyPrice = *price, *price
		}
		if cost != nil {
			r.Cost = *cost
		}
	}
	for _, r := range rows {
		switch {
		case !r.EndDate.After(e):
		case r.StartDate.Before(e):
			split := *r
			split.ID = s.idFor(0)
			split.StartDate = Time{e}
			split.Units += change
			setPrice(&split)
			s.units[split.ID] = &split
			r.EndDate = Time{e}
		default:
			r.Units += change
			setPrice(r)
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
