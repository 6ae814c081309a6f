package connectwise

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/meterbridge/meterbridge/remote"
)

func TestDecodeErrorReadsTheAPIShape(t *testing.T) {
	cases := []struct {
		name                   string
		status                 int
		body                   string
		kind                   remote.Kind
		code, field, msgSubstr string
	}{
		{"validation", 400, `{"code":"InvalidObject","message":"contact object is invalid","errors":[{"code":"MissingRequiredField","message":"The firstName field is required.","resource":"contact","field":"firstName"}]}`,
			"", "InvalidObject", "firstName", "contact object is invalid: The firstName field is required."},
		{"first field error with a field wins", 400, `{"code":"InvalidObject","message":"m","errors":[{"code":"X","message":""},{"code":"NotFound","message":"status not on board","field":"status/id"},{"field":"other"}]}`,
			"", "InvalidObject", "status/id", "status not on board"},
		{"unknown endpoint", 404, `{"code":"ConnectWiseApi","message":"The endpoint does not exist."}`, "", "ConnectWiseApi", "", "endpoint does not exist"},
		{"unauthorized", 401, `{"code":"Unauthorized","message":"nope"}`, remote.Credentials, "Unauthorized", "", "nope"},
		{"security role", 403, `{"code":"Security","message":"You do not have security permission"}`, remote.Credentials, "Security", "", "security"},
		{"not authenticated under another status", 400, `{"code":"ConnectWiseApi","message":"UserNotAuthenticated"}`, remote.Credentials, "ConnectWiseApi", "", "UserNotAuthenticated"},
		{"html from a proxy is described, not quoted", 502, `<html><body>Bad gateway</body></html>`, "", "", "", "unexpected answer: HTTP 502 Bad Gateway, 37 bytes (not shown)"},
		{"empty body", 503, ``, "", "", "", "HTTP 503 Service Unavailable"},
		{"errors not an array", 400, `{"code":"InvalidObject","message":"m","errors":"x"}`, "", "InvalidObject", "", "m"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := DecodeError(tc.status, http.Header{}, []byte(tc.body))
			assert.Equal(t, tc.kind, e.Kind)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.field, e.Field)
			assert.Contains(t, e.Message, tc.msgSubstr)
		})
	}
}

func FuzzDecodeError(f *testing.F) {
	f.Add(400, `{"code":"InvalidObject","message":"m","errors":[{"field":"quantity","message":"neg"}]}`)
	f.Add(404, `{"code":"ConnectWiseApi"}`)
	f.Add(500, "Execution Timeout Expired\x00\n")
	f.Add(401, `null`)
	f.Add(200, `[`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		e := DecodeError(status, http.Header{}, []byte(body))
		if e == nil || e.Message == "" {
			t.Fatalf("DecodeError(%d, %q) = %+v: every error needs a message", status, body, e)
		}
		for _, s := range []string{e.Message, e.Code, e.Field} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00") || len(s) > 1200 {
				t.Fatalf("DecodeError(%d, %q) gave unsafe text %q", status, body, s)
			}
		}
		if (status == 401 || status == 403) && e.Kind != remote.Credentials {
			t.Fatalf("status %d decoded as %q", status, e.Kind)
		}
	})
}

func TestNumbersReadExactlyAndWithinBounds(t *testing.T) {
	for in, want := range map[string]string{`0.3`: "0.3", `"7.25"`: "7.25", `100.50`: "100.5", `1e3`: "1000", `null`: "0"} {
		var n Number
		assert.NoError(t, n.UnmarshalJSON([]byte(in)), in)
		assert.Equal(t, want, n.String(), in)
	}
	for _, in := range []string{`1e999999999`, `"abc"`, `NaN`, `"1,5"`} {
		var n Number
		assert.Error(t, n.UnmarshalJSON([]byte(in)), in)
	}
}
