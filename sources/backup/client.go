// Package backup reads per-client billable backup storage from a backup usage service (the
// API documented in emulators/backup) and implements sources.BackupUsage.
//
// Every failure is a *remote.Error with Service "backup".
package backup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
)

const service = string(sources.Backup)

// Client is a configured connection to one tenant's backup usage service.
type Client struct {
	base   *url.URL
	apiKey string
	send   *remote.Sender
}

var _ sources.BackupUsage = (*Client)(nil)

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
	return &Client{base: base, apiKey: cfg.APIKey, send: s}, nil
}

// Check reads the partner account, which proves the URL and key without reading usage.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.get(ctx, "/v1/account", nil)
	return err
}

func (c *Client) get(ctx context.Context, path string, q url.Values) (*remote.Response, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	return c.send.Do(ctx, remote.Request{
		Method:     http.MethodGet,
		URL:        u.String(),
		Header:     http.Header{"X-Api-Key": {c.apiKey}, "Accept": {"application/json"}},
		Op:         "GET " + path,
		Idempotent: true,
	}, decodeError)
}

// errorBody is the service's error envelope.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func decodeError(status int, _ http.Header, body []byte) *remote.Error {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		return &remote.Error{Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
	}
	return &remote.Error{Message: snippet(body, status)}
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
