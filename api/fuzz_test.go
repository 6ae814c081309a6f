package api

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meterbridge/meterbridge/tenant"
)

// requestTypes lists every request body the API decodes. TestEveryRequestTypeIsFuzzed
// fails when a *Request type is missing here, so new bodies are fuzzed as they land.
var requestTypes = map[string]func() any{
	"createTenantRequest": func() any { return new(createTenantRequest) },
	"patchableTenant":     func() any { return new(patchableTenant) },
	"startRequest":        func() any { return new(startRequest) },
	"decisionRequest":     func() any { return new(decisionRequest) },
	"createTokenRequest":  func() any { return new(createTokenRequest) },
	"putMappingRequest":   func() any { return new(putMappingRequest) },
	"putPSARequest":       func() any { return new(putPSARequest) },
	"testPSARequest":      func() any { return new(testPSARequest) },
	"putSourceRequest":    func() any { return new(putSourceRequest) },
	"testSourceRequest":   func() any { return new(testSourceRequest) },
	"createMetricRequest": func() any { return new(createMetricRequest) },
	"patchMetricRequest":  func() any { return new(patchMetricRequest) },
	"overrideRequest":     func() any { return new(overrideRequest) },
	"cancelRequest":       func() any { return new(cancelRequest) },
	"deleteMetricRequest": func() any { return new(deleteMetricRequest) },
	"patchClientRequest":  func() any { return new(patchClientRequest) },
}

func requestTypeNames() []string {
	var names []string
	for n := range requestTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestEveryRequestTypeIsFuzzed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if _, isStruct := ts.Type.(*ast.StructType); isStruct && strings.HasSuffix(ts.Name.Name, "Request") {
				if _, ok := requestTypes[ts.Name.Name]; !ok {
					t.Errorf("%s (%s) decodes request bodies but is not in requestTypes in fuzz_test.go; add it", ts.Name.Name, f)
				}
			}
			return true
		})
	}
}

// checkDecoded is the contract of bindJSON's two halves for any input: no panic; a refusal
// is a 400 or 422 (413 is the reader's) with a code and a short message; an accepted value
// survives encoding and decoding again unchanged and still valid.
func checkDecoded(t *testing.T, name string, body []byte) {
	dst := requestTypes[name]()
	err := decodeStrict(body, dst)
	if err == nil {
		err = validate(dst)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: %q gave a %T, not an *apiError: %v", name, body, err, err)
		}
		if ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %q answered %d", name, body, ae.Status)
		}
		if ae.Code == "" || ae.Message == "" || len(ae.Message) > 1024 || len(ae.Field) > 200 {
			t.Fatalf("%s: %q gave a bad error %+v", name, body, ae)
		}
		return
	}
	if holdsRawJSON(reflect.TypeOf(dst).Elem()) {
		// json.RawMessage encodes an absent value as null, which decodes as present: such
		// types do not round-trip by design (their handlers parse the raw part themselves).
		return
	}
	again, err := json.Marshal(dst)
	if err != nil {
		t.Fatalf("%s: accepted %q but cannot encode it: %v", name, body, err)
	}
	dst2 := requestTypes[name]()
	if err := decodeStrict(again, dst2); err != nil {
		t.Fatalf("%s: accepted %q, its encoding %s is refused: %v", name, body, again, err)
	}
	if err := validate(dst2); err != nil {
		t.Fatalf("%s: accepted %q, its encoding %s is invalid: %v", name, body, again, err)
	}
	// Settings carried by a request are validated by the handler; that must finish quickly
	// whatever numbers were sent.
	var settings *tenant.Settings
	switch v := dst.(type) {
	case *createTenantRequest:
		settings = v.Settings
	case *patchableTenant:
		settings = &v.Settings
	}
	if settings != nil {
		start := time.Now()
		_ = settings.Validate()
		if took := time.Since(start); took > time.Second {
			t.Fatalf("%s: validating %q took %v", name, body, took)
		}
	}
	if !reflect.DeepEqual(mustJSON(dst), again) {
		t.Fatalf("%s: encoding is not stable", name)
	}
}

func holdsRawJSON(t reflect.Type) bool {
	for i := range t.NumField() {
		if t.Field(i).Type == reflect.TypeOf(json.RawMessage(nil)) {
			return true
		}
	}
	return false
}

// FuzzDecodeRequests drives the strict decoder and the validation of every request type.
func FuzzDecodeRequests(f *testing.F) {
	seeds := []string{
		`{}`, `null`, `[]`, `{"all": true}`, `{"ids": [1, 2, 3]}`, `{"ids": [1, 1]}`, `{"ids": "7"}`, `{"all": true, "ids": [1]}`,
		`{"period": "2026-01"}`, `{"kind": "licence_sync"}`, `{"client_id": "cl_1001"}`,
		`{"included": false}`, `{"managed_id": null}`, `{"managed_id": "ACME-1", "included": true}`, `{"managed_id": 7}`,
		`{"id": "acme", "name": "Acme", "time_zone": "Europe/Berlin"}`,
		`{"id": "acme", "name": "Acme", "time_zone": "Mars/Olympus"}`,
		`{"id": "acme", "name": "Acme", "time_zone": "UTC", "settings": {"publish": {"approval": {"mode": "rule", "max_units": "1e999999999"}}}}`,
		`{"name": "Acme", "time_zone": "UTC", "settings": {"publish": {"mode": "basic", "schedule": {"enabled": true, "cadence": "monthly", "day": "last", "hour": 23}}}}`,
		`{"role": "approver", "tenant_id": "acme", "owner_email": "ann@acme.example", "name": "ann's laptop"}`,
		`{"role": "root", "owner_email": "not an address"}`,
		`{"source": "backup", "account_id": "cl_1", "item": "storage_gb", "target": {"agreement_id": 1, "addition_id": 2}}`,
		`{"kind": "connectwise", "credentials": {"site_url": "https://api-na.myconnectwise.net"}, "confirm_reset": true}`,
		`{"provider": "backup", "credentials": {"base_url": "http://127.0.0.1:1", "api_key": "k"}}`,
		`{"name": "Backups", "owner_email": "ann@acme.example", "time_zone": "Europe/Berlin", "gauge_id": "g-1", "schedule": {"cadence": "daily"}}`,
		`{"value": "12.5"}`, `{"value": -1, "override_frozen": true}`, `{"name": null, "schedule": null}`,
		`{"a": 1} {"b": 2}`, `{"all": tru`, "\x00", `{"ids": [1e400]}`, `{"name": "` + strings.Repeat("x", 200) + `"}`,
	}
	names := requestTypeNames()
	for _, s := range seeds {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		if len(body) > MaxBodyBytes {
			return // bindJSON refuses these before decoding
		}
		// Each input is tried against one type chosen by which, and against the body-less
		// decision request, the most used one.
		checkDecoded(t, names[int(which)%len(names)], body)
		checkDecoded(t, "decisionRequest", body)
	})
}

// FuzzTenantMergePatch drives PATCH /tenants/{tenant}: any patch either is refused with a
// field error or yields a tenant that passes validation, and applying it twice changes
// nothing more than once (RFC 7396 merge patches are idempotent).
func FuzzTenantMergePatch(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name": "Acme"}`, `{"name": null}`, `{"time_zone": "America/New_York"}`, `{"settings": null}`,
		`{"settings": {"notify": {"emails": ["ops@acme.example"], "webhook_url": "https://hooks.example/x"}}}`,
		`{"settings": {"notify": {"webhook_url": "http://10.0.0.1/x"}}}`,
		`{"settings": {"publish": {"approval": {"mode": "rule", "max_units": "2.5", "max_percent": 10}}}}`,
		`{"settings": {"licences": {"approval": {"max_units": 1e999999999}}}}`,
		`{"settings": {"approval": {"mode": "manual"}}}`,
		`{"settings": {"publish": {"backup_stats": {"configuration_type": "Backup Stats", "year_question": "Year", "month_question": "year"}}}}`,
		`{"settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "31", "hour": 6}}}}`,
		`{"settings": {"publish": 5}}`, `{"id": "other"}`, `{"psa_kind": "autotask"}`,
	} {
		f.Add([]byte(s))
	}
	base := patchableTenant{Name: "Acme MSP", TimeZone: "Europe/Berlin", Settings: tenant.Defaults()}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > MaxBodyBytes {
			return
		}
		var patch map[string]any
		if err := decodeStrict(body, &patch); err != nil {
			return
		}
		next, _, err := applyTenantPatch(base, patch)
		if err != nil {
			var ae *apiError
			var fe *tenant.FieldError
			if !errors.As(err, &ae) && !errors.As(err, &fe) {
				t.Fatalf("patch %q: %T is neither a request nor a field error: %v", body, err, err)
			}
			if toAPIError(err).Status >= 500 {
				t.Fatalf("patch %q answers %d", body, toAPIError(err).Status)
			}
			return
		}
		if err := next.Settings.Validate(); err != nil {
			t.Fatalf("patch %q accepted an invalid tenant: %v", body, err)
		}
		if tenant.ValidateTimeZone("time_zone", next.TimeZone) != nil || next.Name == "" {
			t.Fatalf("patch %q accepted %+v", body, next)
		}
		twice, differs, err := applyTenantPatch(next, patch)
		if err != nil {
			t.Fatalf("patch %q applied once, refused the second time: %v", body, err)
		}
		if differs || !reflect.DeepEqual(mustJSON(twice), mustJSON(next)) {
			t.Fatalf("patch %q is not idempotent:\n once %s\ntwice %s", body, mustJSON(next), mustJSON(twice))
		}
	})
}
