package autotask

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/remote"
)

// The client and the emulator agree on entity information: every entity the client uses
// is described, and every field the client reads from a row is among the fields Autotask
// says the entity has.
func TestEntityInformationDescribesEveryFieldTheClientReads(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	ctx := testCtx(t)
	rows := map[string]any{"Companies": Company{}, "Contracts": Contract{}, "Services": Service{}, "ContractServices": ContractService{},
		"ContractServiceUnits": ContractServiceUnit{}, "ContractServiceAdjustments": nil}
	for entity, row := range rows {
		info, err := e.client.EntityInformation(ctx, entity)
		require.NoError(t, err, entity)
		assert.NotEmpty(t, info.Name, entity)
		if entity == "ContractServiceAdjustments" {
			assert.True(t, info.MayCreate(), "adjustments are created")
			assert.False(t, info.CanQuery, "adjustments cannot be queried")
		} else {
			assert.True(t, info.MayQuery(), entity)
		}
		fields, err := e.client.Fields(ctx, entity)
		require.NoError(t, err, entity)
		require.NotEmpty(t, fields, entity)
		for _, f := range fields {
			assert.NotEmpty(t, f.DataType, "%s.%s", entity, f.Name)
			assert.Equal(t, f.IsPickList, len(f.PicklistValues) > 0, "%s.%s", entity, f.Name)
		}
		if row != nil {
			rt := reflect.TypeOf(row)
			for i := range rt.NumField() {
				name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
				_, ok := fields.Field(name)
				assert.True(t, ok, "the client reads %s.%s, which Autotask does not describe", entity, name)
			}
		}
		udfs, err := e.client.UserDefinedFields(ctx, entity)
		require.NoError(t, err, entity)
		assert.Empty(t, udfs, entity)
	}
	id, ok := must(e.client.Fields(ctx, "Companies")).Field("ID")
	require.True(t, ok, "field names are matched ignoring case")
	assert.True(t, id.IsReadOnly)
	ref, _ := must(e.client.Fields(ctx, "Contracts")).Field("companyID")
	assert.True(t, ref.IsReference)
	assert.NotEmpty(t, ref.ReferenceEntityType)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPicklistChoicesSayWhatMayBeWritten(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	fields, err := e.client.Fields(testCtx(t), "Contracts")
	require.NoError(t, err)
	typ, ok := fields.Field("contractType")
	require.True(t, ok)
	assert.NoError(t, typ.CheckChoice(ContractTypeRecurringService))
	v, _ := typ.Choice(ContractTypeRecurringService)
	assert.Equal(t, "Recurring Service", v.Label)
	assert.Error(t, typ.CheckChoice(99))
	status, _ := fields.Field("status")
	assert.NoError(t, status.CheckChoice(ContractStatusActive))
	cat, _ := fields.Field("contractCategory")
	assert.ErrorContains(t, cat.CheckChoice(3), "inactive")
	name, _ := fields.Field("contractName")
	assert.ErrorContains(t, name.CheckChoice(1), "not a picklist")
}

// Field lists are read once an hour per entity, not on every look-up.
func TestFieldListsAreReusedForAnHour(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	clock := &fakeClock{t: time.Now()}
	e.client.now = clock.now
	ctx := testCtx(t)
	requests := func() int { return e.emu.Faults().Counts().Requests }
	_, err := e.client.Fields(ctx, "Contracts")
	require.NoError(t, err)
	n := requests()
	_, err = e.client.Fields(ctx, "contracts")
	require.NoError(t, err)
	assert.Equal(t, n, requests(), "the second read within the hour is the cached one")
	clock.advance(fieldInfoTTL + time.Second)
	_, err = e.client.Fields(ctx, "Contracts")
	require.NoError(t, err)
	assert.Greater(t, requests(), n, "after an hour the list is read again")
}

// A path segment that is neither an id nor a known sub-resource is a bad request that the
// client reports as such (not as a missing record or an outage); an unknown entity is not
// found; a name that would add path segments is refused before sending.
func TestUnknownSubResourcesAreBadRequestsThroughTheClient(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	ctx := testCtx(t)
	base, err := e.client.apiBase(ctx)
	require.NoError(t, err)
	_, err = e.client.send(ctx, remote.Request{Method: http.MethodGet, URL: base + "/Companies/entityInfo", Op: "GET /v1.0/Companies/entityInfo", Idempotent: true}, sendOpts{})
	var re *remote.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, http.StatusBadRequest, re.Status)
	assert.Contains(t, re.Message, "entityInfo")

	_, err = e.client.EntityInformation(ctx, "NoSuchEntity")
	assert.Equal(t, remote.NotFound, remote.KindOf(err), "%v", err)
	n := e.emu.Faults().Counts().Requests
	_, err = e.client.Fields(ctx, "Companies/1")
	assert.Equal(t, remote.Invalid, remote.KindOf(err), "%v", err)
	assert.Equal(t, n, e.emu.Faults().Counts().Requests, "nothing was sent")
}

func TestCheckNamesThePermissionTheAPIUserLacks(t *testing.T) {
	e := newTestEnv(t, emu.Options{}, nil)
	e.emu.SetUserAccess("ContractServiceUnits", emu.OpQuery, emu.AccessRestricted)
	res := e.client.Check(testCtx(t))
	require.True(t, res.OK, "%+v", res)
	assert.Contains(t, res.Details[len(res.Details)-1], "restricted by the security level: query ContractServiceUnits")

	e.emu.SetUserAccess("ContractServiceAdjustments", emu.OpCreate, emu.AccessNone)
	res = e.client.Check(testCtx(t))
	assert.False(t, res.OK)
	assert.Contains(t, res.Message, "does not allow create ContractServiceAdjustments")
}

// Shapes the swagger and public clients disagree on are all read.
func TestEntityInformationDecodesEitherSpelling(t *testing.T) {
	var f FieldInfo
	require.NoError(t, json.Unmarshal([]byte(`{"name":"status","dataType":"integer","maxLength":0,"isPicklist":true,
		"picklistValues":[{"value":1,"label":"Active","isActive":true,"parentValue":""}],"isSupportedWebhookField":{}}`), &f))
	assert.True(t, f.IsPickList)
	assert.Equal(t, "1", f.PicklistValues[0].Value)
	var s FieldInfo
	require.NoError(t, json.Unmarshal([]byte(`{"name":"contractName","dataType":"string","maxLength":100}`), &s))
	assert.Equal(t, 100, s.Length)
	var info EntityInfo
	require.NoError(t, json.Unmarshal([]byte(`{"info":{"canCreate":true,"userAccessForCreate":2,"userAccessForQuery":"All"}}`), &struct {
		Info *EntityInfo `json:"info"`
	}{&info}))
	assert.Equal(t, AccessRestricted, info.UserAccessForCreate)
	assert.True(t, info.MayCreate())
	assert.False(t, info.MayQuery(), "canQuery was not said")
}
