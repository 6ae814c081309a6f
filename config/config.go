// Package config reads meterbridge's settings from the environment, and builds the Temporal
// client options with the SDK's envconfig so the worker, the API, the command line and the
// `temporal` CLI share one set of TEMPORAL_* variables (and profiles in temporal.toml).
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	zxcvbn "github.com/ccojocar/zxcvbn-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"

	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/secrets"
)

// Config is everything the processes read from the environment.
type Config struct {
	// DatabaseURL is a PostgreSQL URL (DATABASE_URL).
	DatabaseURL string
	// SecretKeys seal stored credentials (METERBRIDGE_SECRET_KEYS: "id:base64key,...").
	SecretKeys string
	// APIAddr is where the HTTP API listens (METERBRIDGE_API_ADDR, default 127.0.0.1:8080).
	APIAddr string
	// AdminToken, when set, is imported as an admin API token at start
	// (METERBRIDGE_ADMIN_TOKEN, owner METERBRIDGE_ADMIN_EMAIL).
	AdminToken string
	AdminEmail string
	// RateLimit is requests per second per API token (METERBRIDGE_API_RATE, default 20).
	RateLimit float64
	// TrustedProxies are the reverse proxies in front of the API whose X-Forwarded-For is
	// believed (METERBRIDGE_TRUSTED_PROXIES: comma-separated addresses or CIDRs; default
	// none, so the TCP peer is the client).
	TrustedProxies []string
	// TaskQueue is the Temporal task queue of workflows and activities
	// (METERBRIDGE_TASK_QUEUE, default "meterbridge"); separate deployments sharing one
	// namespace use separate queues.
	TaskQueue string
	// AllowPrivateTargets lets PSA, vendor and webhook URLs reach loopback and private-network
	// addresses, and loopback over plain http (METERBRIDGE_ALLOW_PRIVATE_TARGETS, default
	// off): for the dev stack's emulators, tests, and a PSA on the local network. Link-local
	// and cloud-metadata addresses stay refused. See remote/egress.
	AllowPrivateTargets bool
	// SMTP delivers notifications.
	SMTP SMTP
	// TemporalUI is the Temporal Web UI's base URL (METERBRIDGE_TEMPORAL_UI_URL); when set,
	// the console links cycles and schedules to their pages there.
	TemporalUI string
	// SecureCookies marks console session cookies Secure even on plain HTTP, for a
	// TLS-terminating proxy in front (METERBRIDGE_CONSOLE_SECURE_COOKIES=true).
	SecureCookies bool
	// MetricsAddr is where the process serves /metrics (and the worker /healthz and
	// /readyz): METERBRIDGE_METRICS_ADDR, off when empty (the default). Keep it off the
	// public network: it needs no token.
	MetricsAddr string
	// LogLevel is debug, info, warn or error (METERBRIDGE_LOG_LEVEL); LogFormat text or json.
	LogLevel  slog.Level
	LogFormat string
}

// SMTP says how to send e-mail.
type SMTP struct {
	Addr     string // host:port (METERBRIDGE_SMTP_ADDR); empty disables e-mail
	Username string // METERBRIDGE_SMTP_USERNAME
	Password string // METERBRIDGE_SMTP_PASSWORD
	From     string // METERBRIDGE_SMTP_FROM
	// TLS is "starttls" (default: required), "tls" (implicit, port 465) or "none" (loopback only).
	TLS     string
	Timeout time.Duration
}

// Getenv looks variables up; tests and the dev stack pass their own.
type Getenv func(string) string

// Load reads the configuration and checks it.
func Load(getenv Getenv) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		SecretKeys:  getenv("METERBRIDGE_SECRET_KEYS"),
		APIAddr:     or(getenv("METERBRIDGE_API_ADDR"), "127.0.0.1:8080"),
		AdminToken:  getenv("METERBRIDGE_ADMIN_TOKEN"),
		AdminEmail:  or(getenv("METERBRIDGE_ADMIN_EMAIL"), "admin@localhost"),
		LogFormat:   or(getenv("METERBRIDGE_LOG_FORMAT"), "text"),
		TaskQueue:   or(getenv("METERBRIDGE_TASK_QUEUE"), "meterbridge"),
		MetricsAddr: strings.TrimSpace(getenv("METERBRIDGE_METRICS_ADDR")),
		SMTP: SMTP{
			Addr:     getenv("METERBRIDGE_SMTP_ADDR"),
			Username: getenv("METERBRIDGE_SMTP_USERNAME"),
			Password: getenv("METERBRIDGE_SMTP_PASSWORD"),
			From:     or(getenv("METERBRIDGE_SMTP_FROM"), "meterbridge@localhost"),
			TLS:      or(getenv("METERBRIDGE_SMTP_TLS"), "starttls"),
			Timeout:  30 * time.Second,
		},
	}
	c.TemporalUI = strings.TrimRight(strings.TrimSpace(getenv("METERBRIDGE_TEMPORAL_UI_URL")), "/")
	if c.TemporalUI != "" {
		if u, err := url.Parse(c.TemporalUI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("METERBRIDGE_TEMPORAL_UI_URL=%q: want an http(s) URL such as https://temporal.example.com", c.TemporalUI)
		}
	}
	switch v := strings.TrimSpace(getenv("METERBRIDGE_CONSOLE_SECURE_COOKIES")); v {
	case "", "false", "0":
	case "true", "1":
		c.SecureCookies = true
	default:
		return c, fmt.Errorf("METERBRIDGE_CONSOLE_SECURE_COOKIES=%q: want true or false", v)
	}
	rate := or(getenv("METERBRIDGE_API_RATE"), "20")
	r, err := strconv.ParseFloat(rate, 64)
	if err != nil || r <= 0 {
		return c, fmt.Errorf("METERBRIDGE_API_RATE=%q: want a positive number of requests per second", rate)
	}
	c.RateLimit = r
	for _, p := range strings.Split(getenv("METERBRIDGE_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return c, fmt.Errorf("METERBRIDGE_TRUSTED_PROXIES: %q is neither an IP address nor a CIDR", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if v := strings.TrimSpace(getenv("METERBRIDGE_ALLOW_PRIVATE_TARGETS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("METERBRIDGE_ALLOW_PRIVATE_TARGETS=%q: want true or false", v)
		}
		c.AllowPrivateTargets = b
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("METERBRIDGE_LOG_LEVEL"), "info"))); err != nil {
		return c, fmt.Errorf("METERBRIDGE_LOG_LEVEL: %w", err)
	}
	switch c.SMTP.TLS {
	case "starttls", "tls":
	case "none":
		if host, _, err := net.SplitHostPort(c.SMTP.Addr); c.SMTP.Addr != "" && (err != nil || !isLoopback(host)) {
			return c, errors.New("METERBRIDGE_SMTP_TLS=none is allowed only for a loopback SMTP server")
		}
	default:
		return c, fmt.Errorf("METERBRIDGE_SMTP_TLS=%q: want starttls, tls or none", c.SMTP.TLS)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return c, fmt.Errorf("METERBRIDGE_METRICS_ADDR=%q: want host:port, such as 127.0.0.1:9464", c.MetricsAddr)
		}
	}
	if c.AdminToken != "" {
		if err := CheckTokenStrength(c.AdminToken); err != nil {
			return c, fmt.Errorf("METERBRIDGE_ADMIN_TOKEN %w", err)
		}
	}
	return c, nil
}

// MinTokenEntropy is the least estimated strength, in bits, of a token chosen outside
// (METERBRIDGE_ADMIN_TOKEN): 32 random hex digits reach it, a memorable phrase does not.
const MinTokenEntropy = 100

// CheckTokenStrength refuses a bearer token a person chose that is short or guessable: it
// opens every admin route on an address that may face the internet. The estimate is
// zxcvbn's, which finds words, names, dates, keyboard runs and repeats, not only counts
// characters.
func CheckTokenStrength(token string) error {
	if len(token) < 24 {
		return errors.New("must be at least 24 characters; generate one with: openssl rand -base64 32")
	}
	if len(token) > 512 {
		return errors.New("must be at most 512 characters")
	}
	if m := zxcvbn.PasswordStrength(token, []string{"meterbridge", "admin", "token", "bootstrap"}); m.Entropy < MinTokenEntropy {
		return fmt.Errorf("is too easy to guess (about %.0f bits; want at least %d): generate one with: openssl rand -base64 32", m.Entropy, MinTokenEntropy)
	}
	return nil
}

// RequireDatabase fails with a clear message when DATABASE_URL is missing.
func (c Config) RequireDatabase() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (for example postgres://meterbridge:secret@127.0.0.1:5432/meterbridge)")
	}
	return nil
}

// SecretBox opens the credential keys; it fails with a clear message when none are set.
func (c Config) SecretBox() (*secrets.Box, error) {
	if c.SecretKeys == "" {
		return nil, errors.New("METERBRIDGE_SECRET_KEYS is not set; generate a key with: meterbridge secrets new-key")
	}
	return secrets.ParseKeys(c.SecretKeys)
}

// Outbound returns the outbound policy every PSA, vendor and webhook request keeps to.
func (c Config) Outbound() *egress.Policy {
	return egress.New(egress.Options{AllowPrivate: c.AllowPrivateTargets})
}

// Logger builds the process logger.
func (c Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// TemporalOptions loads the Temporal client options through envconfig (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, temporal.toml).
// overrides win over the process environment (the dev stack points at its own server).
func TemporalOptions(overrides map[string]string, logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: lookup(overrides)})
	if err != nil {
		return opts, fmt.Errorf("temporal client configuration: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger.With("component", "temporal"))
	}
	return opts, nil
}

// lookup is the process environment with overrides on top.
type lookup map[string]string

func (l lookup) Environ() []string {
	env := os.Environ()
	for k, v := range l {
		env = append(env, k+"="+v)
	}
	return env
}

func (l lookup) LookupEnv(key string) (string, bool) {
	if v, ok := l[key]; ok {
		return v, true
	}
	return os.LookupEnv(key)
}

func or(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
