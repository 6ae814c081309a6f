// Package remote holds what every client of an outside API shares: the classified error
// that activities turn into retry decisions, and an HTTP sender that retries what can
// succeed later (429, 5xx, timeouts) while honouring Retry-After.
package remote

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a failed call by what the caller should do about it.
type Kind string

const (
	// Credentials: the service refused who we are (401/403). Never retried; a person must fix it.
	Credentials Kind = "credentials"
	// NotFound: the thing addressed does not exist (a wrong Managed ID, a deleted addition).
	NotFound Kind = "not_found"
	// Invalid: the service rejected the request itself (400/409/422). Retrying cannot help.
	Invalid Kind = "invalid"
	// RateLimited: the service asked us to slow down (429) and retries ran out.
	RateLimited Kind = "rate_limited"
	// Unavailable: 5xx, timeouts, connection failures. Retrying later may succeed.
	Unavailable Kind = "unavailable"
	// Refused: the outbound policy (remote/egress) does not let the request go there: a
	// private, loopback or metadata address, plain http, a redirect to another host. Never
	// retried; a person must fix the connection's URL.
	Refused Kind = "refused"
)

// Error is a failed call to an outside service.
type Error struct {
	Kind    Kind
	Service string // "connectwise", "autotask", "backup", ...
	Op      string // what we were doing, e.g. "GET /finance/agreements/12/additions"
	Status  int    // HTTP status, 0 when no response arrived
	Code    string // the service's own error code, when it sends one
	Message string
	// Field names the offending field when the service says so.
	Field string
	// RetryAfter is the wait the service asked for (429 or 503 with Retry-After).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	s := fmt.Sprintf("%s %s: %s", e.Service, e.Op, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Field != "" {
		s += " field " + e.Field
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a remote error anywhere in err's chain, or "" when err is not one.
func KindOf(err error) Kind {
	var re *Error
	if errors.As(err, &re) {
		return re.Kind
	}
	return ""
}

// Retryable reports whether calling again later can succeed.
func (k Kind) Retryable() bool { return k == RateLimited || k == Unavailable }

// ItemLevel reports whether the failure belongs to the one item addressed (so the rest of a
// batch goes on) rather than to the whole connection.
func (k Kind) ItemLevel() bool { return k == NotFound || k == Invalid }

// KindForStatus maps an HTTP status to the kind of failure it means.
func KindForStatus(status int) Kind {
	switch {
	case status == 401 || status == 403:
		return Credentials
	case status == 404:
		return NotFound
	case status == 429:
		return RateLimited
	case status >= 500 || status == 408:
		return Unavailable
	default:
		return Invalid
	}
}
