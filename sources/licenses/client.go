// Package licenses reads licence counts (vendor accounts × licence types × units) from a
// licence portal (the API documented in emulators/licenses) and implements sources.Licences.
//
// Every failure is a *remote.Error with Service "licenses".
package licenses

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
)

const service = string(sources.Licenses)

// Client is a configured connection to one tenant's licence portal.
type Client struct {
	base  *url.URL
	token string
	send  *remote.Sender
}

var _ sources.Licences = (*Client)(nil)

// Option adjusts a Client.
type Option func(*remote.Sender)

// WithPolicy replaces the retry policy (remote.DefaultPolicy otherwise).
func WithPolicy(p remote.Policy) Option { return func(s *remote.Sender) { s.Policy = p } }

// WithSleep replaces how the client waits between attempts, so tests can record waits.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(s *remote.Sender) { s.Sleep = f }
}

// New validates cfg and returns a client; hc nil means a client with a 30-second timeout.
func New(cfg Config, hc *http.Client, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := parseBaseURL(cfg.BaseURL)
	s := remote.NewSender(service, hc)
	for _, o := range opts {
		o(s)
	}
	return &Client{base: base, token: cfg.APIKey, send: s}, nil
}

// Check reads the organisation the token belongs to, proving URL and token cheaply.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.get(ctx, "/v1/me", nil)
	return err
}

func (c *Client) get(ctx context.Context, p string, q url.Values) (*remote.Response, error) {
	u := *c.base
	u.Path = c.base.Path + p
	u.RawQuery = q.Encode()
	return c.send.Do(ctx, remote.Request{
		Method:     http.MethodGet,
		URL:        u.String(),
		Header:     http.Header{"Authorization": {"Bearer " + c.token}, "Accept": {"application/json, application/problem+json"}},
		Op:         "GET " + p,
		Idempotent: true,
	}, decodeProblem)
}

// problem is an RFC 9457 (formerly 7807) problem details body.
type problem struct {
	Type          string `json:"type"`
	Title         string `json:"title"`
	Status        int    `json:"status"`
	Detail        string `json:"detail"`
	InvalidParams []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"invalid_params"`
}

func decodeProblem(status int, _ http.Header, body []byte) *remote.Error {
	var p problem
	if json.Unmarshal(body, &p) != nil || (p.Type == "" && p.Title == "" && p.Detail == "") {
		return &remote.Error{Message: snippet(body, status)}
	}
	e := &remote.Error{Message: p.Detail}
	if e.Message == "" {
		e.Message = p.Title
	}
	// The type URI's last segment is the portal's stable error code; "about:blank" means the
	// status says it all.
	if p.Type != "" && p.Type != "about:blank" {
		if u, err := url.Parse(p.Type); err == nil {
			e.Code = path.Base(u.Path)
		}
	}
	if len(p.InvalidParams) > 0 {
		e.Field = p.InvalidParams[0].Name
		if p.InvalidParams[0].Reason != "" {
			e.Message += ": " + p.InvalidParams[0].Reason
		}
	}
	return e
}

// snippet keeps a non-JSON error body (a proxy's HTML page) short in messages.
func snippet(body []byte, status int) string {
	const n = 200
	if len(body) == 0 {
		return http.StatusText(status)
	}
	if len(body) > n {
		return string(body[:n]) + "…"
	}
	return string(body)
}

// badResponse reports a 2xx body the client cannot use. It is Unavailable rather than
// Invalid: a half-delivered body or a proxy page passes, and failing a whole page is not an
// item-level problem.
func badResponse(op string, status int, err error) *remote.Error {
	return &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: status, Code: "bad_response", Message: err.Error(), Err: err}
}
