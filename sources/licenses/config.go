package licenses

import (
	"log/slog"

	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

// Config is a tenant's connection to a licence portal. BaseURL is the API root, e.g.
// "https://portal.licences.example", to which paths such as /v1/accounts are appended;
// APIKey is the portal API token, sent as "Authorization: Bearer <key>". It is stored
// encrypted and never logged whole: String and LogValue show the redacted form.
type Config vendorapi.KeyConfig

// Validate reports every problem with the configuration as *remote.Error values of kind
// Invalid carrying the offending field, joined, so an API handler can answer 422 with it.
func (c Config) Validate() error { return vendorapi.KeyConfig(c).Validate(service) }

// Redacted returns a copy that is safe to show or log.
func (c Config) Redacted() Config { return Config(vendorapi.KeyConfig(c).Redacted()) }

// String shows the redacted form so a stray %v cannot leak the token.
func (c Config) String() string { return vendorapi.KeyConfig(c).Describe("licenses.Config") }

// LogValue keeps the token out of slog output.
func (c Config) LogValue() slog.Value { return vendorapi.KeyConfig(c).LogValue() }
