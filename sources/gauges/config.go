package gauges

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/meterbridge/meterbridge/sources/vendorapi"
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

// Validate reports every problem with the configuration as *remote.Error values of kind
// Invalid carrying the offending field, joined, so an API handler can answer 422 with it.
func (c Config) Validate() error {
	var tokenURL error // the token endpoint is optional
	if c.TokenURL != "" {
		tokenURL = vendorapi.CheckURL(service, "token_url", c.TokenURL)
	}
	return errors.Join(
		vendorapi.CheckURL(service, "base_url", c.BaseURL),
		tokenURL,
		vendorapi.CheckCredential(service, "client_id", c.ClientID),
		vendorapi.CheckCredential(service, "client_secret", c.ClientSecret),
	)
}

// Redacted returns a copy that is safe to show or log; the client ID is not a secret.
func (c Config) Redacted() Config {
	c.ClientSecret = vendorapi.Redact(c.ClientSecret)
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
