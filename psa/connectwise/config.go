package connectwise

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

// DefaultAPIVersion is the model version pinned in the Accept header, so a PSA upgrade does
// not change the shapes we decode.
const DefaultAPIVersion = "2025.1"

// Config is one tenant's connection to ConnectWise PSA.
//
// Only PrivateKey is secret. It is kept out of JSON (the store encrypts it apart, see
// SplitSecret), and String, LogValue and Redacted hide it. PublicKey identifies the API
// member the way a user name does and is stored in the clear.
type Config struct {
	// SiteURL is the API host: "https://api-na.myconnectwise.net" on cloud (the api- host,
	// not the UI host), the server's own address on premises, or an emulator's address.
	SiteURL string `json:"site_url"`
	// CompanyID is the company login id typed on the ConnectWise sign-in page.
	CompanyID string `json:"company_id"`
	// PublicKey is the API member's public key (not secret).
	PublicKey string `json:"public_key"`
	// PrivateKey is the API member's private key, the one secret.
	PrivateKey string `json:"-"`
	// ClientID is the integration's clientId GUID issued by developer.connectwise.com.
	ClientID string `json:"client_id"`
	// Codebase pins the path segment, e.g. "v2025_1/"; empty means discover it.
	Codebase string `json:"codebase,omitempty"`
	// APIVersion pins the models served, e.g. "2025.1"; empty means DefaultAPIVersion.
	APIVersion string `json:"api_version,omitempty"`
	// Where basic mode keeps its records (the configuration type and its questions) is a
	// tenant setting (tenant.BackupStatsSettings), passed with each call.
}

// ConfigError names the Config field that is wrong and why.
type ConfigError struct {
	Field  string
	Reason string
}

// Error names the field and the reason.
func (e *ConfigError) Error() string { return "connectwise config: " + e.Field + ": " + e.Reason }

var (
	codebasePattern   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/$`)
	apiVersionPattern = regexp.MustCompile(`^[0-9]{4}\.[0-9]{1,2}$`)
)

// Validate reports every wrong field, each as a *ConfigError, joined.
func (c Config) Validate() error {
	c = c.normalized()
	var errs []error
	bad := func(field, reason string) { errs = append(errs, &ConfigError{Field: field, Reason: reason}) }

	switch u, err := url.Parse(c.SiteURL); {
	case c.SiteURL == "":
		bad("site_url", "is required")
	case err != nil:
		bad("site_url", "is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		bad("site_url", "must start with https:// (or http:// for a local emulator)")
	case u.Host == "":
		bad("site_url", "has no host")
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		bad("site_url", "must be a bare site address without query, fragment or user info")
	}
	// The company id and public key form the Basic user name "company+public"; a '+' or ':'
	// inside them would make the server split it somewhere else.
	checkID := func(field, v string) {
		switch {
		case v == "":
			bad(field, "is required")
		case strings.ContainsAny(v, "+: \t\r\n"):
			bad(field, "must not contain '+', ':' or spaces")
		}
	}
	checkID("company_id", c.CompanyID)
	checkID("public_key", c.PublicKey)
	if c.PrivateKey == "" {
		bad("private_key", "is required")
	} else if strings.ContainsAny(c.PrivateKey, "\r\n") {
		bad("private_key", "must be one line")
	}
	// Unconfirmed: whether the server insists on a GUID; we only insist on something, since
	// the docs say every call must carry a clientId.
	if strings.TrimSpace(c.ClientID) == "" {
		bad("client_id", "is required (an integration clientId from developer.connectwise.com)")
	} else if strings.ContainsAny(c.ClientID, "\r\n") {
		bad("client_id", "must be one line")
	}
	if c.Codebase != "" && !codebasePattern.MatchString(c.Codebase) {
		bad("codebase", `must look like "v2025_1/" (letters, digits, '_', '.', '-', then '/')`)
	}
	if !apiVersionPattern.MatchString(c.APIVersion) {
		bad("api_version", `must look like "2025.1"`)
	}
	return errors.Join(errs...)
}

// normalized fills defaults and trims what people paste with stray slashes and spaces.
func (c Config) normalized() Config {
	c.SiteURL = strings.TrimRight(strings.TrimSpace(c.SiteURL), "/")
	c.CompanyID = strings.TrimSpace(c.CompanyID)
	c.PublicKey = strings.TrimSpace(c.PublicKey)
	c.ClientID = strings.TrimSpace(c.ClientID)
	c.Codebase = normalizeCodebase(c.Codebase)
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	return c
}

// normalizeCodebase makes "v2025_1", "/v2025_1/" and "v2025_1/" the same segment.
func normalizeCodebase(cb string) string {
	cb = strings.Trim(strings.TrimSpace(cb), "/")
	if cb == "" {
		return ""
	}
	return cb + "/"
}

const redacted = "REDACTED"

// Redacted returns a copy safe to log or show: the private key is replaced.
func (c Config) Redacted() Config {
	if c.PrivateKey != "" {
		c.PrivateKey = redacted
	}
	return c
}

// SplitSecret separates the secret (for the store to encrypt) from the rest.
func (c Config) SplitSecret() (public Config, secret string) {
	secret = c.PrivateKey
	c.PrivateKey = ""
	return c, secret
}

// WithSecret returns c holding the decrypted private key again.
func (c Config) WithSecret(secret string) Config {
	c.PrivateKey = secret
	return c
}

// String keeps the secret out of %v and %s.
func (c Config) String() string {
	r := c.Redacted()
	return fmt.Sprintf("connectwise.Config{SiteURL:%q CompanyID:%q PublicKey:%q PrivateKey:%q ClientID:%q Codebase:%q APIVersion:%q}",
		r.SiteURL, r.CompanyID, r.PublicKey, r.PrivateKey, r.ClientID, r.Codebase, r.APIVersion)
}

// GoString keeps the secret out of %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the secret out of slog.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("site_url", c.SiteURL),
		slog.String("company_id", c.CompanyID),
		slog.String("public_key", c.PublicKey),
		slog.String("codebase", c.Codebase),
	)
}
