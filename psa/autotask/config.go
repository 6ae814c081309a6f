package autotask

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// DefaultZoneDiscoveryURL is Autotask's public zone-discovery service; it answers which
// regional host ("zone") serves an API user.
const DefaultZoneDiscoveryURL = "https://webservices.autotask.net/atservicesrest"

// Rounding policies for turning a decimal quantity (GB, say) into Autotask's whole units.
const (
	RoundUp      = "up"
	RoundNearest = "nearest"
	RoundDown    = "down"
)

// DefaultHourlyBudget is Autotask's documented threshold: 10,000 requests per rolling hour
// per database, shared by every integration on it.
const DefaultHourlyBudget = 10000

// Config connects to one tenant's Autotask database.
//
// Secret and IntegrationCode are secrets: store them encrypted and log only Redacted().
// UserName is an identifier, not a secret.
type Config struct {
	// ZoneDiscoveryURL is where the zone of UserName is looked up; default DefaultZoneDiscoveryURL.
	ZoneDiscoveryURL string `json:"zone_discovery_url,omitempty"`
	// BaseURL, when set, is the zone's REST root (".../atservicesrest") and skips discovery.
	BaseURL string `json:"base_url,omitempty"`
	// UserName is the API-only user's name (an e-mail address).
	UserName string `json:"user_name"`
	// Secret is the API user's password. Secret.
	Secret string `json:"secret"`
	// IntegrationCode is the tracking identifier of the integration. Secret.
	IntegrationCode string `json:"integration_code"`
	// ImpersonationResourceID, when positive, makes writes appear as that resource's.
	ImpersonationResourceID int64 `json:"impersonation_resource_id,omitempty"`
	// Rounding is how decimal quantities become whole units: "up" (default), "nearest", "down".
	Rounding string `json:"rounding,omitempty"`
	// HourlyBudget caps this process's requests per rolling hour for UserName; default
	// DefaultHourlyBudget. Set it lower to leave room for the database's other integrations.
	HourlyBudget int `json:"hourly_budget,omitempty"`
	// ThresholdPollEvery polls ThresholdInformation after that many requests and slows down
	// while the database is past half its threshold; 0 means every 200 requests, -1 never.
	ThresholdPollEvery int `json:"threshold_poll_every,omitempty"`
}

// FieldError says which Config field is wrong and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate reports every wrong field as a *FieldError joined into one error.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, &FieldError{Field: field, Message: msg}) }
	if c.ZoneDiscoveryURL != "" {
		if err := checkURL(c.ZoneDiscoveryURL); err != nil {
			bad("zone_discovery_url", err.Error())
		}
	}
	if c.BaseURL != "" {
		if err := checkURL(c.BaseURL); err != nil {
			bad("base_url", err.Error())
		}
	}
	if strings.TrimSpace(c.UserName) == "" {
		bad("user_name", "is required")
	}
	if c.Secret == "" {
		bad("secret", "is required")
	}
	if strings.TrimSpace(c.IntegrationCode) == "" {
		bad("integration_code", "is required")
	}
	if c.ImpersonationResourceID < 0 {
		bad("impersonation_resource_id", "must be a positive resource id or empty")
	}
	switch c.Rounding {
	case "", RoundUp, RoundNearest, RoundDown:
	default:
		bad("rounding", fmt.Sprintf("must be %q, %q or %q", RoundUp, RoundNearest, RoundDown))
	}
	if c.HourlyBudget < 0 {
		bad("hourly_budget", "must not be negative")
	}
	if c.ThresholdPollEvery < -1 {
		bad("threshold_poll_every", "must be -1 (never), 0 (default) or a positive count")
	}
	return errors.Join(errs...)
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("must be an http or https URL")
	}
	if u.Host == "" {
		return errors.New("must name a host")
	}
	if u.User != nil {
		return errors.New("must not carry credentials")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.ZoneDiscoveryURL == "" {
		c.ZoneDiscoveryURL = DefaultZoneDiscoveryURL
	}
	if c.Rounding == "" {
		c.Rounding = RoundUp
	}
	if c.HourlyBudget == 0 {
		c.HourlyBudget = DefaultHourlyBudget
	}
	if c.ThresholdPollEvery == 0 {
		c.ThresholdPollEvery = 200
	}
	return c
}

const redacted = "[redacted]"

// Redacted returns a copy safe to log: Secret and IntegrationCode are masked.
func (c Config) Redacted() Config {
	if c.Secret != "" {
		c.Secret = redacted
	}
	if c.IntegrationCode != "" {
		c.IntegrationCode = redacted
	}
	return c
}

// String prints the redacted config, so %v on a Config never shows a secret.
func (c Config) String() string {
	type plain Config // drops the methods, so Sprintf does not recurse into String
	return fmt.Sprintf("%+v", plain(c.Redacted()))
}

// LogValue keeps secrets out of slog output.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.String("zone_discovery_url", r.ZoneDiscoveryURL),
		slog.String("base_url", r.BaseURL),
		slog.String("user_name", r.UserName),
		slog.String("secret", r.Secret),
		slog.String("integration_code", r.IntegrationCode),
		slog.Int64("impersonation_resource_id", r.ImpersonationResourceID),
		slog.String("rounding", r.Rounding),
	)
}
