package autotask

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeResponses feeds arbitrary bodies to every decoder of server answers: none may
// panic, and an errors list that is found is never empty.
func FuzzDecodeResponses(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"id":1,"contractServiceID":2,"units":5,"startDate":"2025-01-01T00:00:00Z","endDate":"2025-02-01T00:00:00"}],"pageDetails":{"count":1,"nextPageUrl":null}}`,
		`{"items":[{"id":1,"units":5.0,"price":null,"startDate":"2025-01-01"}],"pageDetails":{"nextPageUrl":"https://x/next"}}`,
		`{"errors":["Unable to find field x"]}`,
		`{"errors":[{"message":"bad","field":"units"}, 3, null]}`,
		`{"errors":[]}`,
		`{"itemId":"42"}`,
		`{"item":null}`,
		`<html>Service Unavailable</html>`,
		``,
		`{"items":null,"pageDetails":null}`,
		`{"info":{"name":"Contract","canQuery":true,"userAccessForQuery":"All","userAccessForCreate":2}}`,
		`{"fields":[{"name":"status","dataType":"integer","isPickList":true,"picklistValues":[{"value":"1","label":"Active","isActive":true,"parentValue":null}]}]}`,
		`{"fields":[{"name":"x","maxLength":"9","isPicklist":1,"picklistValues":[{"value":{},"parentValue":[]}],"isSupportedWebhookField":{}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decodePage[ContractServiceUnit](body)
		_, _ = decodePage[Company](body)
		_, _ = decodeItemID(body)
		var info struct {
			Info *EntityInfo `json:"info"`
		}
		_ = json.Unmarshal(body, &info)
		var fields struct {
			Fields Fields `json:"fields"`
		}
		_ = json.Unmarshal(body, &fields)
		var udfs struct {
			Fields []UserDefinedField `json:"fields"`
		}
		_ = json.Unmarshal(body, &udfs)
		if msgs, _, ok := errorMessages(body); ok && len(msgs) == 0 {
			t.Fatalf("errors found but none listed in %q", body)
		}
		for _, status := range []int{400, 401, 429, 500} {
			e := decodeError(status, http.Header{}, body)
			if e == nil || e.Message == "" {
				t.Fatalf("decodeError(%d, %q) gave no message", status, body)
			}
			if status == 429 && e.RetryAfter != defaultRetryAfter {
				t.Fatalf("429 without Retry-After waits %v", e.RetryAfter)
			}
			if utf8.ValidString(string(body)) && len(e.Message) > 2000 {
				t.Fatalf("message not bounded: %d bytes", len(e.Message))
			}
		}
	})
}

func TestDecodeErrorReadsAutotaskErrorBodies(t *testing.T) {
	cases := []struct {
		body, msg, field string
	}{
		{`{"errors":["a","b"]}`, "a; b", ""},
		{`{"errors":[{"message":"Units cannot be below 0","field":"unitChange"}]}`, "Units cannot be below 0", "unitChange"},
		// Bodies that are not Autotask's error format are described, never quoted.
		{`not json at all`, "unexpected answer: HTTP 500 Internal Server Error, 15 bytes (not shown)", ""},
		{``, "unexpected answer: HTTP 500 Internal Server Error, 0 bytes (not shown)", ""},
	}
	for _, c := range cases {
		e := decodeError(500, http.Header{}, []byte(c.body))
		if e.Message != c.msg || e.Field != c.field {
			t.Errorf("decodeError(%q) = %q field %q, want %q field %q", c.body, e.Message, e.Field, c.msg, c.field)
		}
	}
	long := decodeError(502, http.Header{}, []byte(strings.Repeat("x", 5000)))
	if len(long.Message) > 400 {
		t.Errorf("long body kept %d bytes", len(long.Message))
	}
}

func TestDateTimeReadsAutotaskFormats(t *testing.T) {
	for _, in := range []string{`"2025-05-01T00:00:00Z"`, `"2025-05-01T00:00:00"`, `"2025-05-01T00:00:00.000"`, `"2025-05-01"`, `"2025-05-01T02:00:00+02:00"`} {
		var d DateTime
		if err := d.UnmarshalJSON([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := formatTime(d.Time); got != "2025-05-01T00:00:00Z" {
			t.Errorf("%s read as %s", in, got)
		}
	}
	var d DateTime
	if err := d.UnmarshalJSON([]byte(`null`)); err != nil || !d.IsZero() {
		t.Errorf("null → %v, %v", d, err)
	}
	if err := d.UnmarshalJSON([]byte(`"yesterday"`)); err == nil {
		t.Error("accepted a word as a date")
	}
}
