// Package backup reads per-client billable backup storage from a backup usage service (the
// API documented in dev/emulators/backup) and implements sources.BackupUsage.
//
// Every failure is a *remote.Error with Service "backup".
package backup

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

const service = string(sources.Backup)

// Client is a configured connection to one tenant's backup usage service.
type Client struct {
	api vendorapi.API
}

var _ sources.BackupUsage = (*Client)(nil)

// Option adjusts a Client.
type Option = vendorapi.Option

// WithPolicy replaces the retry policy (remote.DefaultPolicy otherwise).
func WithPolicy(p remote.Policy) Option { return vendorapi.WithPolicy(p) }

// WithSleep replaces how the client waits between attempts, so tests can record waits.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return vendorapi.WithSleep(f)
}

// New validates cfg and returns a client; hc nil means a client with a 30-second timeout.
func New(cfg Config, hc *http.Client, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := vendorapi.ParseURL(cfg.BaseURL)
	return &Client{api: vendorapi.API{
		Base:   base,
		Header: http.Header{"X-Api-Key": {cfg.APIKey}, "Accept": {"application/json"}},
		Send:   vendorapi.NewSender(service, hc, opts...),
		Decode: decodeError,
	}}, nil
}

// Check reads the partner account, which proves the URL and key without reading usage.
func (c *Client) Check(ctx context.Context) error {
	resp, err := c.api.Get(ctx, "/v1/account", nil)
	if err != nil {
		return err
	}
	var acct struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(resp.Body, &acct) != nil || acct.ID == "" {
		return vendorapi.NotTheService(service, "GET /v1/account", resp)
	}
	return nil
}

// errorBody is the service's error envelope.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func decodeError(status int, h http.Header, body []byte) *remote.Error {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		return &remote.Error{Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
	}
	return &remote.Error{Message: remote.Unexpected(status, h, body)}
}
