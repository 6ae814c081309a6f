package autotask

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/remote"
)

// service names this client in every *remote.Error it returns; remote.Error is the one
// error type of the package.
const service = "autotask"

// defaultRetryAfter is assumed when a 429 carries no Retry-After. Autotask's threshold is a
// rolling hour, so retrying within seconds only spends budget that every integration on the
// database shares.
//
// Unconfirmed: whether Autotask sends Retry-After on 429 at all, and with what value.
const defaultRetryAfter = 60 * time.Second

// errorBody is Autotask's error envelope. Entries are usually strings; objects with a
// message and field are accepted too because some responses have carried them.
type errorBody struct {
	Errors []json.RawMessage `json:"errors"`
}

// errorMessages reads {"errors":[...]} from body. ok is false when body is not that shape or
// the list is empty.
func errorMessages(body []byte) (msgs []string, field string, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, "", false
	}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 {
		return nil, "", false
	}
	for _, raw := range eb.Errors {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			msgs = append(msgs, s)
			continue
		}
		var o struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		}
		if err := json.Unmarshal(raw, &o); err == nil && (o.Message != "" || o.Field != "") {
			msgs = append(msgs, o.Message)
			if field == "" {
				field = o.Field
			}
			continue
		}
		msgs = append(msgs, string(raw))
	}
	return msgs, field, true
}

// decodeError is the remote.ErrorDecoder for Autotask responses with a non-2xx status.
func decodeError(status int, header http.Header, body []byte) *remote.Error {
	e := &remote.Error{}
	if msgs, field, ok := errorMessages(body); ok {
		e.Message, e.Field = strings.Join(msgs, "; "), field
	} else {
		e.Message = remote.Unexpected(status, header, body)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if status == http.StatusTooManyRequests && header.Get("Retry-After") == "" {
		e.RetryAfter = defaultRetryAfter
	}
	return e
}

// errorIn2xx turns a 2xx response that still lists errors into a failure.
//
// Unconfirmed: when Autotask reports refusals inside 2xx responses; an open-source client
// guards against it, so this one does too.
func errorIn2xx(op string, resp *remote.Response) error {
	msgs, field, ok := errorMessages(resp.Body)
	if !ok {
		return nil
	}
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Status: resp.Status,
		Message: strings.Join(msgs, "; "), Field: field}
}

func invalid(op, field, msg string) *remote.Error {
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Field: field, Message: msg}
}

func notFound(op, msg string) *remote.Error {
	return &remote.Error{Kind: remote.NotFound, Service: service, Op: op, Message: msg}
}
