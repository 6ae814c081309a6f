package autotask

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Entity information: GET /{Entity}/entityInformation answers {"info": {...}} (what the
// entity supports and what the API user may do), /entityInformation/fields answers
// {"fields": [...]} (each field's name, data type, length, whether it is required,
// read-only, queryable, a reference, a picklist and its values), and
// /entityInformation/userDefinedFields answers {"fields": [...]} for UDFs. The shapes
// follow the REST API's EntityInformationModel, FieldInformationModel and PickListValue
// as published in its swagger; the field lists are exactly what the emulator stores, and
// writes are checked against the picklists served here.
//
// Unconfirmed: the casing of "name" in info (the docs say "for example, ticket, note,
// company"; the emulator answers the singular entity name as the docs' entity pages write
// it, "Company"); whether userAccessFor* travel as "All"/"None"/"Restricted" or as 1/0/2
// (the docs list both; strings are what a public client reads); "length" versus
// "maxLength" and "isPickList" versus "isPicklist" (the swagger has the first of each);
// the picklist ids of contract types other than Recurring Service (7) and of company types;
// referenceEntityType being the singular entity name; "decimal" as the data type of money
// fields (the swagger types them as doubles) and "long" for ids.

// EntityInfo is the body of {"info": ...}.
type EntityInfo struct {
	Name                    string `json:"name"`
	CanCreate               bool   `json:"canCreate"`
	CanDelete               bool   `json:"canDelete"`
	CanQuery                bool   `json:"canQuery"`
	CanUpdate               bool   `json:"canUpdate"`
	UserAccessForCreate     string `json:"userAccessForCreate"`
	UserAccessForDelete     string `json:"userAccessForDelete"`
	UserAccessForQuery      string `json:"userAccessForQuery"`
	UserAccessForUpdate     string `json:"userAccessForUpdate"`
	HasUserDefinedFields    bool   `json:"hasUserDefinedFields"`
	SupportsWebhookCallouts bool   `json:"supportsWebhookCallouts"`
}

// FieldInfo is one entry of {"fields": [...]}.
type FieldInfo struct {
	Name                     string          `json:"name"`
	DataType                 string          `json:"dataType"`
	Length                   int             `json:"length"`
	IsRequired               bool            `json:"isRequired"`
	IsReadOnly               bool            `json:"isReadOnly"`
	IsQueryable              bool            `json:"isQueryable"`
	IsReference              bool            `json:"isReference"`
	ReferenceEntityType      string          `json:"referenceEntityType"`
	IsPickList               bool            `json:"isPickList"`
	PicklistValues           []PicklistValue `json:"picklistValues"`
	PicklistParentValueField string          `json:"picklistParentValueField"`
	IsSupportedWebhookField  bool            `json:"isSupportedWebhookField"`
}

// PicklistValue is one choice of a picklist field. Value is the stored integer, as text.
type PicklistValue struct {
	Value          string `json:"value"`
	Label          string `json:"label"`
	IsDefaultValue bool   `json:"isDefaultValue"`
	SortOrder      int    `json:"sortOrder"`
	ParentValue    string `json:"parentValue"`
	IsActive       bool   `json:"isActive"`
	IsSystem       bool   `json:"isSystem"`
}

// Access levels of the userAccessFor* fields.
const (
	AccessAll        = "All"
	AccessNone       = "None"
	AccessRestricted = "Restricted"
)

// Operations a user's access is given for.
const (
	OpCreate = "create"
	OpQuery  = "query"
	OpUpdate = "update"
	OpDelete = "delete"
)

// entityMeta is what the emulator says about an entity beyond its Go row type.
type entityMeta struct {
	singular string
	row      any // a zero row: its JSON fields are the entity's fields
	fields   map[string]fieldMeta
}

// fieldMeta adds what a Go type cannot say about one field.
type fieldMeta struct {
	length    int
	required  bool
	readOnly  bool
	reference string // the referenced entity's singular name
	picklist  []PicklistValue
}

func pick(pairs ...any) []PicklistValue {
	var out []PicklistValue
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, PicklistValue{Value: strconv.Itoa(pairs[i].(int)), Label: pairs[i+1].(string), SortOrder: len(out) + 1, IsActive: true, IsSystem: true})
	}
	return out
}

var (
	companyTypes     = pick(1, "Customer", 2, "Lead", 3, "Prospect", 4, "Dead", 6, "Cancelation", 7, "Vendor", 8, "Partner")
	contractTypes    = pick(1, "Time & Materials", 3, "Fixed Price", 4, "Block Hours", 6, "Retainer", contractTypeRecurringService, "Recurring Service", 8, "Per Ticket")
	contractStatuses = pick(0, "Inactive", 1, "Active")
	// Contract categories are the MSP's own list; these are an example.
	contractCategories = []PicklistValue{
		{Value: "1", Label: "Standard", SortOrder: 1, IsActive: true, IsDefaultValue: true},
		{Value: "2", Label: "Managed Services", SortOrder: 2, IsActive: true},
		{Value: "3", Label: "Legacy", SortOrder: 3, IsActive: false},
	}
)

// entityMetas describes every entity the emulator serves (entityDefs), keyed by its URL
// name. A test checks that the two lists agree.
var entityMetas = map[string]entityMeta{
	"Companies": {singular: "Company", row: Company{}, fields: map[string]fieldMeta{
		"id":            {readOnly: true},
		"companyName":   {length: 100, required: true},
		"companyNumber": {length: 50},
		"companyType":   {picklist: companyTypes},
		"phone":         {length: 25},
		"city":          {length: 30},
		"createDate":    {readOnly: true},
	}},
	"Contracts": {singular: "Contract", row: Contract{}, fields: map[string]fieldMeta{
		"id":               {readOnly: true},
		"contractName":     {length: 100, required: true},
		"companyID":        {required: true, reference: "Company"},
		"contractType":     {required: true, picklist: contractTypes},
		"contractCategory": {picklist: contractCategories},
		"status":           {picklist: contractStatuses},
		"startDate":        {required: true},
		"endDate":          {required: true},
	}},
	"Services": {singular: "Service", row: Service{}, fields: map[string]fieldMeta{
		"id":          {readOnly: true},
		"name":        {length: 150, required: true},
		"description": {length: 400},
	}},
	"ContractServices": {singular: "ContractService", row: ContractService{}, fields: map[string]fieldMeta{
		"id":                        {readOnly: true},
		"contractID":                {required: true, reference: "Contract"},
		"serviceID":                 {required: true, reference: "Service"},
		"internalCurrencyUnitPrice": {readOnly: true},
		"invoiceDescription":        {length: 1000},
		"internalDescription":       {length: 100},
	}},
	"ContractServiceUnits": {singular: "ContractServiceUnit", row: ContractServiceUnit{}, fields: map[string]fieldMeta{
		"contractID":        {reference: "Contract"},
		"contractServiceID": {reference: "ContractService"},
		"serviceID":         {reference: "Service"},
		"vendorCompanyID":   {reference: "Company"},
	}},
	"ContractServiceAdjustments": {singular: "ContractServiceAdjustment", row: Adjustment{}, fields: map[string]fieldMeta{
		"id":                {readOnly: true},
		"contractID":        {required: true, reference: "Contract"},
		"contractServiceID": {reference: "ContractService"},
		"serviceID":         {reference: "Service"},
		"unitChange":        {required: true},
		"effectiveDate":     {required: true},
	}},
}

// access holds the API user's access per entity and operation; missing means All.
type access struct {
	mu     sync.Mutex
	levels map[string]string // "entity/op" (lower case) → level
}

func (a *access) level(entity, op string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l, ok := a.levels[strings.ToLower(entity)+"/"+op]; ok {
		return l
	}
	return AccessAll
}

// SetUserAccess sets what the API user's security level allows for one operation
// (OpCreate, OpQuery, OpUpdate, OpDelete) on an entity: AccessAll, AccessNone or
// AccessRestricted. entityInformation reports it, and requests it forbids answer 403.
func (s *Server) SetUserAccess(entity, op, level string) {
	s.access.mu.Lock()
	defer s.access.mu.Unlock()
	if s.access.levels == nil {
		s.access.levels = map[string]string{}
	}
	s.access.levels[strings.ToLower(entity)+"/"+op] = level
}

// handleEntityInformation serves /{Entity}/entityInformation[/fields|/userDefinedFields].
func (s *Server) handleEntityInformation(w http.ResponseWriter, r *http.Request, def *entityDef, rest []string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	meta, ok := entityMetas[def.name]
	if !ok {
		writeErrors(w, http.StatusInternalServerError, "no entity information for "+def.name)
		return
	}
	switch {
	case len(rest) == 0:
		writeJSON(w, http.StatusOK, map[string]any{"info": s.entityInfo(def, meta)})
	case len(rest) == 1 && strings.EqualFold(rest[0], "fields"):
		writeJSON(w, http.StatusOK, map[string]any{"fields": fieldsOf(def, meta)})
	case len(rest) == 1 && strings.EqualFold(rest[0], "userDefinedFields"):
		// The emulator holds no user-defined fields (queries naming one are refused).
		writeJSON(w, http.StatusOK, map[string]any{"fields": []FieldInfo{}})
	default:
		writeErrors(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
	}
}

func (s *Server) entityInfo(def *entityDef, meta entityMeta) EntityInfo {
	info := EntityInfo{Name: meta.singular, CanCreate: def.create != nil, CanQuery: def.queryable, CanUpdate: def.writable != nil}
	level := func(can bool, op string) string {
		if !can {
			return AccessNone
		}
		return s.access.level(def.name, op)
	}
	info.UserAccessForCreate = level(info.CanCreate, OpCreate)
	info.UserAccessForQuery = level(info.CanQuery, OpQuery)
	info.UserAccessForUpdate = level(info.CanUpdate, OpUpdate)
	info.UserAccessForDelete = level(info.CanDelete, OpDelete)
	return info
}

// fieldsOf lists an entity's fields from its row type, in the row's order.
func fieldsOf(def *entityDef, meta entityMeta) []FieldInfo {
	t := reflect.TypeOf(meta.row)
	var out []FieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		m := meta.fields[name]
		fi := FieldInfo{Name: name, DataType: dataType(name, f.Type), IsRequired: m.required, IsQueryable: def.queryable,
			IsReadOnly: m.readOnly || (def.create == nil && def.writable == nil), Length: m.length,
			IsReference: m.reference != "", ReferenceEntityType: m.reference, IsPickList: len(m.picklist) > 0}
		if fi.IsPickList {
			fi.PicklistValues = append([]PicklistValue(nil), m.picklist...)
		}
		out = append(out, fi)
	}
	return out
}

// dataType names a field's type as the API does.
func dataType(name string, t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "datetime"
	case t == moneyType:
		return "decimal"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() == reflect.String:
		return "string"
	case name == "id":
		return "long"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "double"
	}
	return "string"
}

// checkPicklists refuses a create or update body whose picklist fields hold a value the
// entity's picklist does not offer as active, as Autotask does. 0 in a field that is not
// required is read as "not set" (the emulator's rows cannot hold null).
func checkPicklists(def *entityDef, body []byte) error {
	meta, ok := entityMetas[def.name]
	if !ok {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil // the entity's own decoding reports the malformed body
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		name, ok := def.schema.names[strings.ToLower(k)]
		if !ok {
			continue
		}
		m := meta.fields[name]
		if len(m.picklist) == 0 {
			continue
		}
		raw := strings.Trim(strings.TrimSpace(string(fields[k])), `"`)
		if raw == "null" || (raw == "0" && !m.required) {
			continue
		}
		valid := false
		for _, v := range m.picklist {
			valid = valid || (v.Value == raw && v.IsActive)
		}
		if !valid {
			return invalidf("value %s is not an active choice of the picklist field %s of %s", raw, name, def.name)
		}
	}
	return nil
}

// forbidden answers a request the API user's security level does not allow.
// Unconfirmed: the status and wording Autotask uses for it.
func forbidden(w http.ResponseWriter, entity, op string) {
	writeErrors(w, http.StatusForbidden, fmt.Sprintf("the API user's security level does not allow %s on %s", op, entity))
}

// operation says which entity and operation a request under /v1.0/{Entity} exercises, for
// the access check; op is "" for requests no access level governs (entityInformation).
func (s *Server) operation(r *http.Request, def *entityDef, segs []string) (entity, op string) {
	entity = def.name
	if len(segs) >= 3 {
		if _, err := strconv.ParseInt(segs[1], 10, 64); err == nil {
			if ch, ok := def.children[strings.ToLower(segs[2])]; ok {
				entity = s.entities[ch.entity].name
			}
		}
	}
	switch {
	case len(segs) >= 2 && strings.EqualFold(segs[1], "entityInformation"):
		return entity, ""
	case len(segs) >= 2 && strings.EqualFold(segs[1], "query"), r.Method == http.MethodGet:
		return entity, OpQuery
	case r.Method == http.MethodPost:
		return entity, OpCreate
	case r.Method == http.MethodPatch || r.Method == http.MethodPut:
		return entity, OpUpdate
	case r.Method == http.MethodDelete:
		return entity, OpDelete
	}
	return entity, ""
}
