package autotask

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/remote"
)

// Entity information: GET /{Entity}/entityInformation says what the API can do with an
// entity and what this API user's security level allows; /entityInformation/fields lists
// its fields with their types and picklists; /entityInformation/userDefinedFields lists the
// database's UDFs. Shapes follow the REST swagger (EntityInformationModel,
// FieldInformationModel, PickListValue).
//
// How the client uses them:
//   - Check asks what the API user may do with the entities billing needs, so "test
//     connection" says "the API user cannot create ContractServiceAdjustments" instead of
//     the first sync failing on it.
//   - Look-ups name contract types by the contractType picklist's label.
//
// Why the client still filters on constants (ContractTypeRecurringService = 7,
// ContractStatusActive = 1): those are system picklist values Autotask does not let an MSP
// change, while labels can be renamed or translated, so matching on a label would be the
// fragile choice. And it validates no picklist value it writes because it writes none:
// contract services and adjustments carry ids, prices, units and dates only. A write that
// sets a picklist field should check its value with Fields(...).Field(name).Choice first.
//
// Unconfirmed: userAccessFor* as "All"/"None"/"Restricted" (the docs also describe 1/0/2;
// both are read); "length" (swagger) versus "maxLength" (seen in a public client) and
// "isPickList" versus "isPicklist" (both are read); picklist values as text ("7").

// fieldInfoTTL is how long an entity's field list is reused: picklists change when an
// administrator edits them, which is rare, and one request an hour per entity is nothing.
const fieldInfoTTL = time.Hour

// UserAccess is an API user's permission for one operation on an entity.
type UserAccess string

// The levels of UserAccess.
const (
	AccessNone       UserAccess = "None"
	AccessAll        UserAccess = "All"
	AccessRestricted UserAccess = "Restricted"
)

// UnmarshalJSON reads "None"/"All"/"Restricted" or the documented numbers 0/1/2.
func (u *UserAccess) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	switch strings.ToLower(s) {
	case "0", "none":
		*u = AccessNone
	case "1", "all":
		*u = AccessAll
	case "2", "restricted":
		*u = AccessRestricted
	case "null", "":
		*u = ""
	default:
		return fmt.Errorf("unknown user access %q", s)
	}
	return nil
}

// Allows reports whether the operation may be attempted at all (All or Restricted).
func (u UserAccess) Allows() bool { return u == AccessAll || u == AccessRestricted }

// EntityInfo is the answer of /{Entity}/entityInformation.
type EntityInfo struct {
	Name                    string     `json:"name"`
	CanCreate               bool       `json:"canCreate"`
	CanDelete               bool       `json:"canDelete"`
	CanQuery                bool       `json:"canQuery"`
	CanUpdate               bool       `json:"canUpdate"`
	UserAccessForCreate     UserAccess `json:"userAccessForCreate"`
	UserAccessForDelete     UserAccess `json:"userAccessForDelete"`
	UserAccessForQuery      UserAccess `json:"userAccessForQuery"`
	UserAccessForUpdate     UserAccess `json:"userAccessForUpdate"`
	HasUserDefinedFields    bool       `json:"hasUserDefinedFields"`
	SupportsWebhookCallouts bool       `json:"supportsWebhookCallouts"`
}

// MayCreate reports whether the entity can be created and this user may create it.
func (i EntityInfo) MayCreate() bool { return i.CanCreate && i.UserAccessForCreate.Allows() }

// MayQuery reports whether the entity can be queried and this user may query it.
func (i EntityInfo) MayQuery() bool { return i.CanQuery && i.UserAccessForQuery.Allows() }

// PicklistValue is one choice of a picklist field.
type PicklistValue struct {
	Value          string `json:"value"`
	Label          string `json:"label"`
	IsDefaultValue bool   `json:"isDefaultValue"`
	SortOrder      int    `json:"sortOrder"`
	ParentValue    string `json:"parentValue"`
	IsActive       bool   `json:"isActive"`
	IsSystem       bool   `json:"isSystem"`
}

// UnmarshalJSON accepts value and parentValue as text or numbers.
func (p *PicklistValue) UnmarshalJSON(b []byte) error {
	type plain PicklistValue
	var v struct {
		plain
		Value       json.RawMessage `json:"value"`
		ParentValue json.RawMessage `json:"parentValue"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PicklistValue(v.plain)
	p.Value, p.ParentValue = rawText(v.Value), rawText(v.ParentValue)
	return nil
}

func rawText(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	t := strings.TrimSpace(string(b))
	if t == "null" {
		return ""
	}
	return t
}

// FieldInfo describes one field of an entity.
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

// UnmarshalJSON also reads maxLength, and a webhook flag that is not a boolean.
func (f *FieldInfo) UnmarshalJSON(b []byte) error {
	type plain FieldInfo
	var v struct {
		plain
		MaxLength               int             `json:"maxLength"`
		IsSupportedWebhookField json.RawMessage `json:"isSupportedWebhookField"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = FieldInfo(v.plain)
	f.Length = max(f.Length, v.MaxLength)
	f.IsSupportedWebhookField = strings.TrimSpace(string(v.IsSupportedWebhookField)) == "true"
	return nil
}

// Choice returns the picklist value stored as value.
func (f FieldInfo) Choice(value int) (PicklistValue, bool) {
	want := strconv.Itoa(value)
	for _, v := range f.PicklistValues {
		if v.Value == want {
			return v, true
		}
	}
	return PicklistValue{}, false
}

// CheckChoice says why value cannot be written to the picklist field (nil when it can).
func (f FieldInfo) CheckChoice(value int) error {
	if !f.IsPickList {
		return fmt.Errorf("%s is not a picklist field", f.Name)
	}
	v, ok := f.Choice(value)
	switch {
	case !ok:
		return fmt.Errorf("%d is not a choice of %s", value, f.Name)
	case !v.IsActive:
		return fmt.Errorf("%d (%s) is an inactive choice of %s", value, v.Label, f.Name)
	}
	return nil
}

// Fields is an entity's field list.
type Fields []FieldInfo

// Field finds a field by name, ignoring case as the API does.
func (fs Fields) Field(name string) (FieldInfo, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return FieldInfo{}, false
}

// UserDefinedField describes one UDF of an entity.
type UserDefinedField struct {
	Name                     string          `json:"name"`
	Label                    string          `json:"label"`
	Type                     string          `json:"type"`
	Length                   int             `json:"length"`
	Description              string          `json:"description"`
	IsRequired               bool            `json:"isRequired"`
	IsReadOnly               bool            `json:"isReadOnly"`
	IsQueryable              bool            `json:"isQueryable"`
	IsReference              bool            `json:"isReference"`
	ReferenceEntityType      string          `json:"referenceEntityType"`
	IsPickList               bool            `json:"isPickList"`
	PicklistValues           []PicklistValue `json:"picklistValues"`
	PicklistParentValueField string          `json:"picklistParentValueField"`
	DefaultValue             string          `json:"defaultValue"`
}

// entityName is a plain entity name, so it cannot add path segments.
var entityName = regexp.MustCompile(`^[A-Za-z]{1,64}$`)

// EntityInformation reads what the API can do with entity and what this user may.
func (c *Client) EntityInformation(ctx context.Context, entity string) (EntityInfo, error) {
	var r struct {
		Info *EntityInfo `json:"info"`
	}
	if err := c.getInfo(ctx, entity, "", &r); err != nil {
		return EntityInfo{}, err
	}
	if r.Info == nil {
		return EntityInfo{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: "GET /v1.0/" + entity + "/entityInformation", Message: "answer holds no info"}
	}
	return *r.Info, nil
}

// Fields reads entity's fields with their picklists, reusing an answer for an hour.
func (c *Client) Fields(ctx context.Context, entity string) (Fields, error) {
	key := strings.ToLower(entity)
	c.infoMu.Lock()
	if e, ok := c.fieldCache[key]; ok && c.now().Sub(e.at) < fieldInfoTTL {
		c.infoMu.Unlock()
		return e.fields, nil
	}
	c.infoMu.Unlock()
	var r struct {
		Fields Fields `json:"fields"`
	}
	if err := c.getInfo(ctx, entity, "/fields", &r); err != nil {
		return nil, err
	}
	c.infoMu.Lock()
	if c.fieldCache == nil {
		c.fieldCache = map[string]cachedFields{}
	}
	c.fieldCache[key] = cachedFields{fields: r.Fields, at: c.now()}
	c.infoMu.Unlock()
	return r.Fields, nil
}

// UserDefinedFields reads entity's user-defined fields.
func (c *Client) UserDefinedFields(ctx context.Context, entity string) ([]UserDefinedField, error) {
	var r struct {
		Fields []UserDefinedField `json:"fields"`
	}
	if err := c.getInfo(ctx, entity, "/userDefinedFields", &r); err != nil {
		return nil, err
	}
	return r.Fields, nil
}

type cachedFields struct {
	fields Fields
	at     time.Time
}

func (c *Client) getInfo(ctx context.Context, entity, tail string, out any) error {
	op := "GET /v1.0/" + entity + "/entityInformation" + tail
	if !entityName.MatchString(entity) {
		return invalid(op, "entity", fmt.Sprintf("%q is not an entity name", entity))
	}
	base, err := c.apiBase(ctx)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, remote.Request{Method: http.MethodGet, URL: base + "/" + entity + "/entityInformation" + tail, Op: op, Idempotent: true}, sendOpts{})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: "decode entity information: " + err.Error(), Err: err}
	}
	return nil
}

// picklistLabel names value of a picklist field for people, falling back to fallback when
// the field list cannot be read or lacks the value (it is only a label).
func (c *Client) picklistLabel(ctx context.Context, entity, field string, value int, fallback string) string {
	fs, err := c.Fields(ctx, entity)
	if err != nil {
		return fallback
	}
	f, ok := fs.Field(field)
	if !ok {
		return fallback
	}
	if v, ok := f.Choice(value); ok && v.Label != "" {
		return v.Label
	}
	return fallback
}
