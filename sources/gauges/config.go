package gauges

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/meterbridge/meterbridge/remote"
)

// Config is a tenant's connection to a gauge service: an OAuth 2.0 client-credentials
// client. It is stored encrypted and never logged whole: String and LogValue show the
// redacted form.
type Config struct {
	// BaseURL is the API root, e.g. "https://api.gauges.example"; /v1/gauges/{id} is
	// appended to it, so a path prefix is kept.
	BaseURL string `json:"base_url"`
	// TokenURL is the OAuth 2.0 token endpoint; BaseURL + "/oauth/token" when empty, for
	// services whose authorisation server lives elsewhere.
	TokenURL     string `json:"token_url,omitempty"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

const redactedMark = "[redacted]"

// Validate reports every problem with the configuration as *remote.Error values of kind
// Invalid carrying the offending field, joined, so an API handler can answer 422 with it.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseURL(c.BaseURL); err != nil {
		errs = append(errs, fieldError("base_url", err.Error()))
	}
	if c.TokenURL != "" {
		if _, err := parseURL(c.TokenURL); err != nil {
			errs = append(errs, fieldError("token_url", err.Error()))
		}
	}
	for _, f := range []struct{ name, value string }{{"client_id", c.ClientID}, {"client_secret", c.ClientSecret}} {
		switch {
		case strings.TrimSpace(f.value) == "":
			errs = append(errs, fieldError(f.name, "is required"))
		case strings.ContainsFunc(f.value, func(r rune) bool { return r < ' ' || r == 0x7f }):
			errs = append(errs, fieldError(f.name, "must not contain control characters"))
		}
	}
	return errors.Join(errs...)
}

// Redacted returns a copy that is safe to show or log; the client ID is not a secret.
func (c Config) Redacted() Config {
	if c.ClientSecret != "" {
		c.ClientSecret = redactedMark
	}
	return c
}

// String shows the redacted form so a stray %v cannot leak the secret.
func (c Config) String() string {
	r := c.Redacted()
	return fmt.Sprintf("gauges.Config{BaseURL: %q, TokenURL: %q, ClientID: %q, ClientSecret: %q}", r.BaseURL, r.TokenURL, r.ClientID, r.ClientSecret)
}

// LogValue keeps the secret out of slog output.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(slog.String("base_url", r.BaseURL), slog.String("token_url", r.TokenURL),
		slog.String("client_id", r.ClientID), slog.String("client_secret", r.ClientSecret))
}

func fieldError(field, reason string) *remote.Error {
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: "validate config", Code: "invalid_config", Field: field, Message: field + " " + reason}
}

func parseURL(s string) (*url.URL, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must start with https:// or http://")
	}
	if u.Host == "" {
		return nil, errors.New("has no host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must not contain credentials, a query or a fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
