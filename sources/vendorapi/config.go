// Package vendorapi is the plumbing the vendor source clients (sources/backup,
// sources/licenses, sources/gauges) share: checking and redacting their stored
// configuration, building their retrying sender, addressing paths under an API root, and
// reporting bodies they cannot read. What each vendor documents (its paths, its
// authentication, its error body) stays in the vendor's package.
package vendorapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/meterbridge/meterbridge/remote"
)

// KeyConfig is a connection to a service that takes one API key. A vendor package declares
// its Config on it (type Config vendorapi.KeyConfig) so the JSON field names are the same
// everywhere, and gives it its own Validate, Redacted, String and LogValue from the methods
// here.
type KeyConfig struct {
	// BaseURL is the API root; the vendor's paths are appended to it, so a path prefix is
	// kept.
	BaseURL string `json:"base_url"`
	// APIKey is the key or token the vendor issued.
	APIKey string `json:"api_key"`
}

// Validate reports every problem with the configuration as *remote.Error values of kind
// Invalid carrying the offending field, joined, so an API handler can answer 422 with it.
func (c KeyConfig) Validate(service string) error {
	return errors.Join(
		CheckURL(service, "base_url", c.BaseURL),
		CheckToken(service, "api_key", c.APIKey),
	)
}

// Redacted returns a copy that is safe to show or log.
func (c KeyConfig) Redacted() KeyConfig {
	c.APIKey = Redact(c.APIKey)
	return c
}

// String shows the redacted form so a stray %v cannot leak the key.
func (c KeyConfig) String() string { return c.Describe("vendorapi.KeyConfig") }

// Describe is String under the vendor's own type name, e.g. "backup.Config".
func (c KeyConfig) Describe(typeName string) string {
	r := c.Redacted()
	return fmt.Sprintf("%s{BaseURL: %q, APIKey: %q}", typeName, r.BaseURL, r.APIKey)
}

// LogValue keeps the key out of slog output.
func (c KeyConfig) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(slog.String("base_url", r.BaseURL), slog.String("api_key", r.APIKey))
}

// Redact returns remote.Redacted for a secret that is set, and "" for one that is not, so a
// redacted configuration still shows which secrets are missing.
func Redact(secret string) string {
	if secret == "" {
		return ""
	}
	return remote.Redacted
}

// FieldError is the error Validate reports for one field: Invalid, with the field named, so
// connect can turn it into a field error of the API.
func FieldError(service, field, reason string) *remote.Error {
	return &remote.Error{Kind: remote.Invalid, Service: service, Op: "validate config", Code: "invalid_config", Field: field, Message: field + " " + reason}
}

// CheckURL reports a URL field that ParseURL refuses, or nil.
func CheckURL(service, field, value string) error {
	if _, err := ParseURL(value); err != nil {
		return FieldError(service, field, err.Error())
	}
	return nil
}

// CheckToken reports a required key that is empty or holds a space or control character,
// which would corrupt the header that carries it or hints at a paste error; or nil.
func CheckToken(service, field, value string) error {
	return checkRequired(service, field, value, func(r rune) bool { return r <= ' ' || r == 0x7f },
		"must not contain spaces or control characters")
}

// CheckCredential reports a required credential that is empty or holds a control character,
// or nil. Inner spaces are allowed: OAuth client IDs and secrets may have them, and they are
// form-encoded before they are sent.
func CheckCredential(service, field, value string) error {
	return checkRequired(service, field, value, func(r rune) bool { return r < ' ' || r == 0x7f },
		"must not contain control characters")
}

func checkRequired(service, field, value string, bad func(rune) bool, reason string) error {
	switch {
	case strings.TrimSpace(value) == "":
		return FieldError(service, field, "is required")
	case strings.ContainsFunc(value, bad):
		return FieldError(service, field, reason)
	}
	return nil
}

// ParseURL parses an API root or endpoint of a configuration: http or https, with a host,
// without credentials, a query or a fragment. A trailing slash is dropped so paths can be
// appended. Its errors are reasons to follow the field's name ("is required").
func ParseURL(s string) (*url.URL, error) {
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
