// Package gauges reads dashboard gauge values from a gauge service (the API documented in
// dev/emulators/gauges) and implements sources.GaugeValues. It authenticates with OAuth 2.0
// client credentials, keeps the access token until shortly before it expires, and fetches a
// new one once when the API refuses a token early (revoked, clock skew).
//
// Every failure is a *remote.Error with Service "gauges".
package gauges

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

const service = string(sources.Gauges)

// Client is a configured connection to one tenant's gauge service. It is safe for
// concurrent use; concurrent callers share one token.
type Client struct {
	base     *url.URL
	tokenURL *url.URL
	basic    string // the Authorization header value for the token endpoint
	send     *remote.Sender
	now      func() time.Time

	// tokenMu is a one-slot semaphore rather than a mutex so that a caller whose context
	// ends stops waiting for another caller's token fetch.
	tokenMu   chan struct{}
	token     string
	refreshAt time.Time // zero: the service gave no lifetime; keep until refused
}

var _ sources.GaugeValues = (*Client)(nil)

// Option adjusts a Client.
type Option func(*Client)

// WithPolicy replaces the retry policy (remote.DefaultPolicy otherwise).
func WithPolicy(p remote.Policy) Option { return func(c *Client) { c.send.Policy = p } }

// WithSleep replaces how the client waits between attempts, so tests can record waits.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.send.Sleep = f }
}

// WithClock replaces the clock that decides when a cached token is due for refresh.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New validates cfg and returns a client; hc nil means a client with a 30-second timeout.
func New(cfg Config, hc *http.Client, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := vendorapi.ParseURL(cfg.BaseURL)
	tokenURL := *base
	tokenURL.Path += "/oauth/token"
	if cfg.TokenURL != "" {
		u, _ := vendorapi.ParseURL(cfg.TokenURL)
		tokenURL = *u
	}
	// RFC 6749 §2.3.1: both parts are form-encoded before the Basic encoding.
	creds := url.QueryEscape(cfg.ClientID) + ":" + url.QueryEscape(cfg.ClientSecret)
	c := &Client{
		base:     base,
		tokenURL: &tokenURL,
		basic:    "Basic " + base64.StdEncoding.EncodeToString([]byte(creds)),
		send:     remote.NewSender(service, hc),
		now:      time.Now,
		tokenMu:  make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Gauge reads one gauge's latest value. An unknown gauge is a remote.NotFound error.
func (c *Client) Gauge(ctx context.Context, gaugeID string) (sources.GaugeReading, error) {
	const op = "GET /v1/gauges/{id}"
	if gaugeID == "" {
		return sources.GaugeReading{}, &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Code: "invalid_gauge_id", Field: "gauge_id", Message: "gauge ID is empty"}
	}
	resp, err := c.get(ctx, op, vendorapi.Endpoint(c.base, nil, "v1", "gauges", gaugeID))
	if err != nil {
		return sources.GaugeReading{}, err
	}
	r, err := decodeGauge(resp.Body, gaugeID)
	if err != nil {
		return sources.GaugeReading{}, vendorapi.BadResponse(service, op, resp.Status, err)
	}
	return r, nil
}

// Check obtains a token and lists one gauge, proving the credentials and the API URL.
func (c *Client) Check(ctx context.Context) error {
	const op = "GET /v1/gauges"
	resp, err := c.get(ctx, op, vendorapi.Endpoint(c.base, url.Values{"page_size": {"1"}}, "v1", "gauges"))
	if err != nil {
		return err
	}
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	if json.Unmarshal(resp.Body, &page) != nil || page.Data == nil {
		return vendorapi.NotTheService(service, op, resp)
	}
	return nil
}

// get sends an authorised GET. A 401 means the token died before its time (revoked, or the
// service's clock runs ahead); one fresh token tells that apart from credentials that no
// longer work, and a second 401 is returned as it is.
func (c *Client) get(ctx context.Context, op, target string) (*remote.Response, error) {
	stale := ""
	for attempt := 1; ; attempt++ {
		token, err := c.accessToken(ctx, stale)
		if err != nil {
			return nil, err
		}
		resp, err := c.send.Do(ctx, remote.Request{
			Method:     http.MethodGet,
			URL:        target,
			Header:     http.Header{"Authorization": {"Bearer " + token}, "Accept": {"application/json"}},
			Op:         op,
			Idempotent: true,
		}, decodeAPIError)
		var re *remote.Error
		if attempt == 1 && errors.As(err, &re) && re.Status == http.StatusUnauthorized {
			stale = token
			continue
		}
		return resp, err
	}
}

// apiErrorBody is the API's error envelope.
type apiErrorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

var challengeError = regexp.MustCompile(`error="([^"]*)"`)

func decodeAPIError(status int, h http.Header, body []byte) *remote.Error {
	var eb apiErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		return &remote.Error{Code: eb.Error.Code, Message: eb.Error.Message}
	}
	e := &remote.Error{Message: remote.Unexpected(status, h, body)}
	// RFC 6750 puts the reason for a refused token in the challenge when the body has none.
	if m := challengeError.FindStringSubmatch(h.Get("WWW-Authenticate")); m != nil {
		e.Code = m[1]
	}
	return e
}
