package connectwise

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/meterbridge/meterbridge/remote"
)

// service names ConnectWise in remote errors.
const service = "connectwise"

// ErrorResponse is the body ConnectWise sends with a failed call.
type ErrorResponse struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Errors  []ValidationError `json:"errors,omitempty"`
}

// ValidationError is one field-level complaint inside an ErrorResponse.
type ValidationError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
}

// Error codes the client acts on.
const (
	codeNotFound     = "NotFound"
	codeUnauthorized = "Unauthorized"
)

// DecodeError turns a failed response into a *remote.Error: Code and Message from the
// body, Field from the first field error that names one. Kind is left to the status
// (remote.KindForStatus) except that an authentication complaint is always Credentials,
// whatever status carries it, so it is never retried.
// Unconfirmed: the body of a 429 (it may come from Cloudflare); only the status and
// Retry-After are relied on.
func DecodeError(status int, header http.Header, body []byte) *remote.Error {
	e := &remote.Error{}
	var r struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &r); err == nil {
		e.Code, e.Message = clean(r.Code, 100), clean(r.Message, 500)
		var fes []ValidationError
		if len(r.Errors) > 0 && json.Unmarshal(r.Errors, &fes) == nil {
			for _, fe := range fes {
				if fe.Field == "" && fe.Message == "" {
					continue
				}
				e.Field = clean(fe.Field, 100)
				switch msg := clean(fe.Message, 500); {
				case msg == "" || msg == e.Message:
				case e.Message == "":
					e.Message = msg
				default:
					e.Message += ": " + msg
				}
				break
			}
		}
	} else {
		e.Message = remote.Unexpected(status, header, body)
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden ||
		strings.EqualFold(e.Code, codeUnauthorized) || strings.Contains(strings.ToLower(e.Message), "usernotauthenticated") {
		e.Kind = remote.Credentials
	}
	return e
}

// clean makes service text safe for one log line: valid UTF-8, no control characters, bounded.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// notFound builds the item-level error for a record that is missing or cannot be billed.
func notFound(op, format string, args ...any) *remote.Error {
	return &remote.Error{Kind: remote.NotFound, Service: service, Op: op, Code: codeNotFound, Message: fmt.Sprintf(format, args...)}
}

// invalid builds the item-level error for a request ConnectWise (or we, before sending it)
// cannot accept.
func invalid(op, field, format string, args ...any) *remote.Error {
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Field: field, Message: fmt.Sprintf(format, args...)}
}
