package vendorapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/meterbridge/meterbridge/remote"
)

// Option adjusts how a vendor client sends its requests.
type Option func(*remote.Sender)

// WithPolicy replaces the retry policy (remote.DefaultPolicy otherwise).
func WithPolicy(p remote.Policy) Option { return func(s *remote.Sender) { s.Policy = p } }

// WithSleep replaces how the client waits between attempts, so tests can record waits.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(s *remote.Sender) { s.Sleep = f }
}

// NewSender returns the service's sender with opts applied; hc nil means a client with a
// 30-second timeout.
func NewSender(service string, hc *http.Client, opts ...Option) *remote.Sender {
	s := remote.NewSender(service, hc)
	for _, o := range opts {
		o(s)
	}
	return s
}

// API is one tenant's connection to a vendor API that authenticates every request with the
// same headers.
type API struct {
	// Base is the API root, as ParseURL returns it.
	Base *url.URL
	// Header goes with every request: the credentials and what the client accepts. It is
	// only read, so concurrent requests share it.
	Header http.Header
	Send   *remote.Sender
	// Decode reads the service's error bodies.
	Decode remote.ErrorDecoder
}

// Get sends an idempotent GET of path (such as "/v1/usage") under the API root, with the
// query q; errors name the call "GET " + path.
func (a API) Get(ctx context.Context, path string, q url.Values) (*remote.Response, error) {
	u := *a.Base
	u.Path = a.Base.Path + path
	u.RawQuery = q.Encode()
	return a.Send.Do(ctx, remote.Request{
		Method:     http.MethodGet,
		URL:        u.String(),
		Header:     a.Header,
		Op:         "GET " + path,
		Idempotent: true,
	}, a.Decode)
}

// Endpoint joins escaped path segments to the API root, so a segment holding a slash (an ID
// chosen by the vendor's users) stays one segment.
func Endpoint(base *url.URL, q url.Values, segments ...string) string {
	u := *base
	raw := base.EscapedPath()
	for _, seg := range segments {
		u.Path += "/" + seg
		raw += "/" + url.PathEscape(seg)
	}
	u.RawPath = raw
	u.RawQuery = q.Encode()
	return u.String()
}

// NotTheService reports a 2xx answer to a connection test that is not what the service
// sends (a login page, another API at a wrong URL). It describes the answer without quoting
// it, so a test cannot be used to read what answers at an address.
func NotTheService(service, op string, resp *remote.Response) *remote.Error {
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Status: resp.Status, Code: "bad_response",
		Message: "the answer is not the " + service + " API's: " + remote.Unexpected(resp.Status, resp.Header, resp.Body)}
}

// BadResponse reports a 2xx body the client cannot use. It is Unavailable rather than
// Invalid: a half-delivered body or a proxy page passes, and a body that cannot be read says
// nothing about the item asked for.
func BadResponse(service, op string, status int, err error) *remote.Error {
	return &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: status, Code: "bad_response", Message: err.Error(), Err: err}
}
