package licenses

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/meterbridge/meterbridge/remote"
)

// Config is a tenant's connection to a licence portal. It is stored encrypted and
// never logged whole: String and LogValue show the redacted form.
type Config struct {
	// BaseURL is the API root, e.g. "https://portal.licences.example"; paths such as /v1/accounts
	// are appended to it, so a path prefix is kept.
	BaseURL string `json:"base_url"`
	// APIKey is the portal API token, sent as "Authorization: Bearer <key>".
	APIKey string `json:"api_key"`
}

const redactedMark = "[redacted]"

// Validate reports every problem with the configuration as *remote.Error values of kind
// Invalid carrying the offending field, joined, so an API handler can answer 422 with it.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseBaseURL(c.BaseURL); err != nil {
		errs = append(errs, fieldError("base_url", err.Error()))
	}
	switch {
	case strings.TrimSpace(c.APIKey) == "":
		errs = append(errs, fieldError("api_key", "is required"))
	case strings.ContainsFunc(c.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		// A space or control character would corrupt the header or hint at a paste error.
		errs = append(errs, fieldError("api_key", "must not contain spaces or control characters"))
	}
	return errors.Join(errs...)
}

// Redacted returns a copy that is safe to show or log.
func (c Config) Redacted() Config {
	if c.APIKey != "" {
		c.APIKey = redactedMark
	}
	return c
}

// String shows the redacted form so a stray %v cannot leak the key.
func (c Config) String() string {
	r := c.Redacted()
	return fmt.Sprintf("licenses.Config{BaseURL: %q, APIKey: %q}", r.BaseURL, r.APIKey)
}

// LogValue keeps the key out of slog output.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(slog.String("base_url", r.BaseURL), slog.String("api_key", r.APIKey))
}

func fieldError(field, reason string) *remote.Error {
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: "validate config", Code: "invalid_config", Field: field, Message: field + " " + reason}
}

func parseBaseURL(s string) (*url.URL, error) {
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
