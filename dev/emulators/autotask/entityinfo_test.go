package autotask

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"
)

// Every entity the emulator serves answers the three entity information calls, and its
// field list is exactly the fields its rows carry.
func TestEntityInformationAnswersForEveryEntityServed(t *testing.T) {
	w := newWire(t, Options{})
	var served []string
	for _, def := range w.s.entities {
		served = append(served, def.name)
	}
	var described []string
	for name := range entityMetas {
		described = append(described, name)
	}
	sort.Strings(served)
	sort.Strings(described)
	if !slices.Equal(served, described) {
		t.Fatalf("entities served %v, described %v", served, described)
	}
	for _, def := range w.s.entities {
		base := "/atservicesrest/v1.0/" + def.name + "/entityInformation"
		status, out, _ := w.do("GET", base, nil)
		info, _ := out["info"].(map[string]any)
		if status != 200 || info == nil || info["name"] != entityMetas[def.name].singular {
			t.Errorf("%s info: %d %v", def.name, status, out)
			continue
		}
		if info["canQuery"] != def.queryable || info["canCreate"] != (def.create != nil) || info["canUpdate"] != (def.writable != nil) || info["canDelete"] != false {
			t.Errorf("%s info says %v; the emulator queries %v, creates %v, updates %v", def.name, info, def.queryable, def.create != nil, def.writable != nil)
		}

		status, out, _ = w.do("GET", base+"/fields", nil)
		list, _ := out["fields"].([]any)
		if status != 200 || len(list) == 0 {
			t.Errorf("%s fields: %d %v", def.name, status, out)
			continue
		}
		var got []string
		for _, f := range list {
			fm := f.(map[string]any)
			got = append(got, fm["name"].(string))
			for _, k := range []string{"dataType", "length", "isRequired", "isReadOnly", "isQueryable", "isReference", "referenceEntityType",
				"isPickList", "picklistValues", "picklistParentValueField", "isSupportedWebhookField"} {
				if _, ok := fm[k]; !ok {
					t.Errorf("%s.%s lacks %s", def.name, fm["name"], k)
				}
			}
		}
		var row map[string]json.RawMessage
		b, _ := json.Marshal(entityMetas[def.name].row)
		_ = json.Unmarshal(b, &row)
		var stored []string
		for k := range row {
			stored = append(stored, k)
		}
		sort.Strings(got)
		sort.Strings(stored)
		if !slices.Equal(got, stored) {
			t.Errorf("%s fields %v, rows carry %v", def.name, got, stored)
		}
		for name := range entityMetas[def.name].fields {
			if !slices.Contains(stored, name) {
				t.Errorf("%s describes a field %q its rows do not carry", def.name, name)
			}
		}

		status, out, _ = w.do("GET", base+"/userDefinedFields", nil)
		if udfs, ok := out["fields"].([]any); status != 200 || !ok || len(udfs) != 0 {
			t.Errorf("%s userDefinedFields: %d %v, want an empty list", def.name, status, out)
		}
	}
}

func TestPicklistFieldsListTheirChoicesAndRefuseOthers(t *testing.T) {
	w := newWire(t, Options{})
	_, out, _ := w.do("GET", "/atservicesrest/v1.0/Contracts/entityInformation/fields", nil)
	var contractType map[string]any
	for _, f := range out["fields"].([]any) {
		if fm := f.(map[string]any); fm["name"] == "contractType" {
			contractType = fm
		}
	}
	if contractType == nil || contractType["isPickList"] != true || contractType["dataType"] != "integer" {
		t.Fatalf("contractType = %v", contractType)
	}
	found := false
	for _, v := range contractType["picklistValues"].([]any) {
		pv := v.(map[string]any)
		found = found || (pv["value"] == "7" && pv["label"] == "Recurring Service" && pv["isActive"] == true)
	}
	if !found {
		t.Errorf("contractType picklist lacks 7 Recurring Service: %v", contractType["picklistValues"])
	}

	co := w.s.AddCompany("Picklist Dental")
	contract := func(extra map[string]any) map[string]any {
		m := map[string]any{"contractName": "C", "companyID": co, "contractType": 7, "startDate": "2025-01-01T00:00:00Z", "endDate": "2027-01-01T00:00:00Z"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for name, body := range map[string]map[string]any{
		"unknown contract type":   contract(map[string]any{"contractType": 99}),
		"inactive category":       contract(map[string]any{"contractCategory": 3}),
		"unknown status":          contract(map[string]any{"status": 5}),
		"unknown company type":    {"companyName": "X", "companyType": 5},
		"contract type as string": contract(map[string]any{"contractType": "12"}),
	} {
		entity := "Contracts"
		if _, ok := body["companyName"]; ok {
			entity = "Companies"
		}
		if status, out, _ := w.do("POST", "/atservicesrest/v1.0/"+entity, body); status < 400 || errorsOf(out) == "" {
			t.Errorf("%s: %d %v, want a refusal", name, status, out)
		}
	}
	status, out, _ := w.do("POST", "/atservicesrest/v1.0/Contracts", contract(map[string]any{"contractCategory": 2}))
	if status != 200 {
		t.Fatalf("a contract with offered values: %d %v", status, out)
	}
	id := out["itemId"]
	if status, out, _ := w.do("PATCH", "/atservicesrest/v1.0/Contracts", map[string]any{"id": id, "status": 4}); status < 400 {
		t.Errorf("patch status 4: %d %v", status, out)
	}
	if status, out, _ := w.do("PATCH", "/atservicesrest/v1.0/Contracts", map[string]any{"id": id, "status": 0}); status != 200 {
		t.Errorf("patch status 0 (Inactive): %d %v", status, out)
	}
}

// A path segment that is neither an id nor a known sub-resource is a bad request, in the
// API's error shape; entityInformation with an unknown tail is not found.
func TestUnknownSubResourcesAreRefusedInTheAPIsShape(t *testing.T) {
	w := newWire(t, Options{})
	k := w.s.AddContract(w.s.AddCompany("Path Dental"), "Path Services", time.Now().AddDate(-1, 0, 0), time.Now().AddDate(1, 0, 0))
	for path, want := range map[string]int{
		"/atservicesrest/v1.0/Companies/entityInfo":                                    400,
		"/atservicesrest/v1.0/Companies/entityinformation":                             200,
		"/atservicesrest/v1.0/Companies/entityInformation/bogus":                       404,
		"/atservicesrest/v1.0/Companies/entityInformation/fields/x":                    404,
		fmt.Sprintf("/atservicesrest/v1.0/Contracts/%d/Services/entityInformation", k): 400,
		"/atservicesrest/v1.0/NoSuchEntity/entityInformation":                          404,
	} {
		status, out, _ := w.do("GET", path, nil)
		if status != want || (status >= 400 && errorsOf(out) == "") {
			t.Errorf("GET %s: %d %v, want %d", path, status, out, want)
		}
	}
	if status, _, h := w.do("POST", "/atservicesrest/v1.0/Companies/entityInformation", map[string]any{}); status != 405 || h.Get("Allow") != "GET" {
		t.Errorf("POST entityInformation: %d", status)
	}
}

func TestUserAccessIsReportedAndEnforced(t *testing.T) {
	w := newWire(t, Options{})
	w.s.SetUserAccess("ContractServiceAdjustments", OpCreate, AccessNone)
	w.s.SetUserAccess("Companies", OpQuery, AccessRestricted)
	_, out, _ := w.do("GET", "/atservicesrest/v1.0/ContractServiceAdjustments/entityInformation", nil)
	if info := out["info"].(map[string]any); info["canCreate"] != true || info["userAccessForCreate"] != AccessNone || info["userAccessForQuery"] != AccessNone {
		t.Errorf("adjustments info = %v", info)
	}
	_, out, _ = w.do("GET", "/atservicesrest/v1.0/Companies/entityInformation", nil)
	if info := out["info"].(map[string]any); info["userAccessForQuery"] != AccessRestricted || info["userAccessForCreate"] != AccessAll {
		t.Errorf("companies info = %v", info)
	}
	if status, out, _ := w.do("POST", "/atservicesrest/v1.0/ContractServiceAdjustments", map[string]any{"contractID": 1, "unitChange": 1}); status != 403 || errorsOf(out) == "" {
		t.Errorf("create without access: %d %v", status, out)
	}
	if status, _, _ := w.do("POST", "/atservicesrest/v1.0/Companies/query", map[string]any{"filter": []any{f("gte", "id", 0)}}); status != 200 {
		t.Errorf("restricted query: %d", status)
	}
}
