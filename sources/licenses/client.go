// Package licenses reads licence counts (vendor accounts × licence types × units) from a
// licence portal (the API documented in dev/emulators/licenses) and implements sources.Licences.
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
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

const service = string(sources.Licenses)

// Client is a configured connection to one tenant's licence portal.
type Client struct {
	api vendorapi.API
}

var _ sources.Licences = (*Client)(nil)

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
		Header: http.Header{"Authorization": {"Bearer " + cfg.APIKey}, "Accept": {"application/json, application/problem+json"}},
		Send:   vendorapi.NewSender(service, hc, opts...),
		Decode: decodeProblem,
	}}, nil
}

// Check reads the organisation the token belongs to, proving URL and token cheaply.
func (c *Client) Check(ctx context.Context) error {
	resp, err := c.api.Get(ctx, "/v1/me", nil)
	if err != nil {
		return err
	}
	var org struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(resp.Body, &org) != nil || org.ID == "" {
		return vendorapi.NotTheService(service, "GET /v1/me", resp)
	}
	return nil
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

func decodeProblem(status int, h http.Header, body []byte) *remote.Error {
	var p problem
	if json.Unmarshal(body, &p) != nil || (p.Type == "" && p.Title == "" && p.Detail == "") {
		return &remote.Error{Message: remote.Unexpected(status, h, body)}
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
