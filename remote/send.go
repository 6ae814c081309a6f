package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/telemetry"
)

// Policy says how a Sender retries.
type Policy struct {
	// MaxAttempts counts the first try; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles each attempt up to MaxDelay, with jitter.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps how long a Retry-After is honoured inside one call; a longer wait is
	// returned to the caller as a RateLimited error carrying RetryAfter, so a durable
	// workflow can wait instead of a goroutine.
	MaxRetryAfter time.Duration
}

// DefaultPolicy suits interactive calls to PSA and vendor APIs.
var DefaultPolicy = Policy{MaxAttempts: 4, BaseDelay: 250 * time.Millisecond, MaxDelay: 5 * time.Second, MaxRetryAfter: 30 * time.Second}

// Sender sends HTTP requests with retries. Requests must be replayable: bodies are given as
// bytes so each attempt sends the same content.
type Sender struct {
	Service string
	HTTP    *http.Client
	Policy  Policy
	// Sleep waits between attempts; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewSender returns a Sender with DefaultPolicy. hc nil means a client that keeps to the
// strict outbound policy (egress.Strict) with a 30-second per-request timeout; callers that
// reach the dev stack's emulators pass a client of a policy that allows them.
func NewSender(service string, hc *http.Client) *Sender {
	if hc == nil {
		hc = egress.Strict().Client(30 * time.Second)
	}
	if telemetry.TracingEnabled() {
		// Each attempt is a client span of the caller's trace; the client's own
		// transport (its dialer, limits and policy) still sends it.
		traced := *hc
		traced.Transport = telemetry.OutboundTransport(service, hc.Transport)
		hc = &traced
	}
	return &Sender{Service: service, HTTP: hc, Policy: DefaultPolicy, Sleep: Sleep}
}

// Request is one HTTP call; Build creates a fresh *http.Request for each attempt.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Op names the call in errors and logs; defaults to "METHOD URL-path".
	Op string
	// Idempotent marks requests safe to resend after a lost response. POSTs that create things
	// are not: a timeout after sending them is returned to the caller, who must look the
	// object up before creating it again.
	Idempotent bool
}

// Response is a completed call with a 2xx status.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrorDecoder turns a non-2xx response into an *Error; clients supply one that reads their
// service's error body. It must set at least Message.
type ErrorDecoder func(status int, header http.Header, body []byte) *Error

// Do sends the request, retrying 429 and 5xx (and connection failures of idempotent requests),
// and returns the response or an *Error. The error never carries the request's credentials
// or its URL's query and user info (see redact.go).
func (s *Sender) Do(ctx context.Context, r Request, decode ErrorDecoder) (*Response, error) {
	resp, err := s.do(ctx, r, decode)
	if err != nil {
		return nil, redactError(err, r)
	}
	return resp, nil
}

func (s *Sender) do(ctx context.Context, r Request, decode ErrorDecoder) (*Response, *Error) {
	op := r.Op
	if op == "" {
		op = r.Method + " " + RedactURL(r.URL)
	}
	p := s.Policy
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	sleep := s.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	var last *Error
	for attempt := 1; ; attempt++ {
		resp, err := s.once(ctx, r)
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			return nil, &Error{Kind: Refused, Service: s.Service, Op: op, Message: refused.Error(), Err: err}
		}
		if err != nil {
			last = &Error{Kind: Unavailable, Service: s.Service, Op: op, Message: transportText(err), Err: err}
			if ctx.Err() != nil || !r.Idempotent {
				return nil, last
			}
		} else if resp.Status >= 200 && resp.Status < 300 {
			return resp, nil
		} else {
			last = s.decode(op, resp, decode)
			if !last.Kind.Retryable() {
				return nil, last
			}
		}
		if attempt >= p.MaxAttempts {
			if last.RetryAfter > 0 {
				// The caller (an activity's retry, a durable workflow timer) waits instead.
				telemetry.RateLimitWait(s.Service, "deferred", last.RetryAfter)
			}
			return nil, last
		}
		wait := backoff(p, attempt)
		if last.Kind == RateLimited && !WaitsAllowed(ctx) {
			if last.RetryAfter > 0 {
				telemetry.RateLimitWait(s.Service, "deferred", last.RetryAfter)
			}
			return nil, last
		}
		if last.RetryAfter > 0 {
			if last.RetryAfter > p.MaxRetryAfter || !WaitsAllowed(ctx) {
				telemetry.RateLimitWait(s.Service, "deferred", last.RetryAfter)
				return nil, last
			}
			wait = last.RetryAfter
			telemetry.RateLimitWait(s.Service, "retry_after", wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, last
		}
	}
}

func (s *Sender) once(ctx context.Context, r Request) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	start := time.Now()
	hr, err := s.HTTP.Do(req)
	if err != nil {
		telemetry.OutboundRequest(s.Service, r.Method, 0, time.Since(start))
		return nil, err
	}
	defer func() { telemetry.OutboundRequest(s.Service, r.Method, hr.StatusCode, time.Since(start)) }()
	defer hr.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hr.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	return &Response{Status: hr.StatusCode, Header: hr.Header, Body: b}, nil
}

func (s *Sender) decode(op string, resp *Response, decode ErrorDecoder) *Error {
	var e *Error
	if decode != nil {
		e = decode(resp.Status, resp.Header, resp.Body)
	}
	if e == nil {
		e = &Error{Message: Unexpected(resp.Status, resp.Header, resp.Body)}
	}
	if e.Kind == "" {
		e.Kind = KindForStatus(resp.Status)
	}
	e.Service, e.Op, e.Status = s.Service, op, resp.Status
	if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	if e.Kind == Unavailable && resp.Status == 500 && !Transient500(resp.Body) {
		// Some services (ConnectWise among them) answer 500 for bad parameters too; those
		// fail the same way every time, so only 500s that read like timeouts are retried.
		e.Kind = Invalid
	}
	return e
}

// Transient500 reports whether a 500 body reads like a passing fault (timeouts, deadlocks,
// overload) rather than a request the service will always refuse.
func Transient500(body []byte) bool {
	b := bytes.ToLower(body)
	for _, w := range [][]byte{[]byte("timeout"), []byte("timed out"), []byte("deadlock"), []byte("temporar"), []byte("unavailable"), []byte("try again")} {
		if bytes.Contains(b, w) {
			return true
		}
	}
	return len(bytes.TrimSpace(b)) == 0
}

// ParseRetryAfter reads a Retry-After header given in seconds or as an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int(maxRetryAfter/time.Second) {
			// A silly value must not overflow into a negative wait.
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := min(t.Sub(now), maxRetryAfter)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// maxRetryAfter bounds the wait a service may ask for.
const maxRetryAfter = 24 * time.Hour

func backoff(p Policy, attempt int) time.Duration {
	d := p.BaseDelay << (attempt - 1)
	if d > p.MaxDelay || d <= 0 {
		d = p.MaxDelay
	}
	// Full jitter on the upper half keeps retries from many workers apart.
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

type noWaitsKey struct{}

// WithoutWaits returns a context in which calls do not wait out the service: a rate limit
// (429, a client-side budget used up) or a Retry-After ends the call at once with the error,
// which carries the wait asked for. It is for callers that hold something others need while
// they call — a PSA target's lock and a database connection — and retry later instead (a
// Temporal activity's retry honours the wait). Short backoffs between retries of other
// failures still happen.
func WithoutWaits(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWaitsKey{}, true)
}

// WaitsAllowed reports whether calls in ctx may wait out a rate limit (see WithoutWaits).
func WaitsAllowed(ctx context.Context) bool {
	no, _ := ctx.Value(noWaitsKey{}).(bool)
	return !no
}

// Sleep waits d, or until ctx ends and then returns ctx's error. Senders wait with it
// between attempts unless their Sleep is replaced.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Unexpected describes an answer whose body is not the service's own error format (a proxy
// page, a login form, whatever sits at a wrong URL) without quoting it: errors reach people
// through connection tests, site history and workflow failures, and a body quoted there
// would let anyone who can point a connection somewhere read what answers there.
func Unexpected(status int, header http.Header, body []byte) string {
	s := fmt.Sprintf("unexpected answer: HTTP %d", status)
	if t := http.StatusText(status); t != "" {
		s += " " + t
	}
	if ct := header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			s += ", " + mt
		}
	}
	return s + fmt.Sprintf(", %d bytes (not shown)", len(body))
}
