// Package connect turns a tenant's stored connections into working clients: it knows each
// provider's fields, which of them are secret (sealed by the store), how to validate them,
// and how to open the client. Activities reach PSA and vendor APIs only through it, so
// credentials are loaded where they are used and never travel in workflow payloads.
package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/psa/autotask"
	"github.com/meterbridge/meterbridge/psa/connectwise"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/backup"
	"github.com/meterbridge/meterbridge/sources/gauges"
	"github.com/meterbridge/meterbridge/sources/licenses"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// provider describes one kind of connection.
type provider struct {
	role string
	name string
	// secrets are the field names sealed apart from the rest.
	secrets []string
	// urls are the fields naming where requests go; the outbound policy checks them when the
	// connection is saved (and every connection again when it is made).
	urls []string
	// open validates the flat fields and builds the client.
	open func(fields []byte, hc *http.Client) (any, error)
}

type cwFields struct {
	connectwise.Config
	PrivateKey string `json:"private_key"`
	// BackupConfigType is where basic mode's configuration type was set before it became a
	// tenant setting (settings.publish.backup_stats.configuration_type, migration 00090).
	// Connections saved with it still open — their sealed secret is bound to their fields,
	// so the field stays stored — and it is ignored; a new save with it is refused (Prepare).
	BackupConfigType string `json:"backup_config_type,omitempty"`
}

var providers = []provider{
	{role: store.RolePSA, name: string(psa.ConnectWise), secrets: []string{"private_key"}, urls: []string{"site_url"}, open: func(b []byte, hc *http.Client) (any, error) {
		var f cwFields
		if err := strict(b, &f); err != nil {
			return nil, err
		}
		cfg := f.Config.WithSecret(f.PrivateKey)
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return connectwise.New(cfg, hc)
	}},
	{role: store.RolePSA, name: string(psa.Autotask), secrets: []string{"secret", "integration_code"}, urls: []string{"zone_discovery_url", "base_url"}, open: func(b []byte, hc *http.Client) (any, error) {
		var cfg autotask.Config
		if err := strict(b, &cfg); err != nil {
			return nil, err
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return autotask.New(cfg, hc)
	}},
	{role: store.RoleBackup, name: "backup", secrets: []string{"api_key"}, urls: []string{"base_url"}, open: func(b []byte, hc *http.Client) (any, error) {
		var cfg backup.Config
		if err := strict(b, &cfg); err != nil {
			return nil, err
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return backup.New(cfg, hc)
	}},
	{role: store.RoleLicenses, name: "licenses", secrets: []string{"api_key"}, urls: []string{"base_url"}, open: func(b []byte, hc *http.Client) (any, error) {
		var cfg licenses.Config
		if err := strict(b, &cfg); err != nil {
			return nil, err
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return licenses.New(cfg, hc)
	}},
	{role: store.RoleGauges, name: "gauges", secrets: []string{"client_secret"}, urls: []string{"base_url", "token_url"}, open: func(b []byte, hc *http.Client) (any, error) {
		var cfg gauges.Config
		if err := strict(b, &cfg); err != nil {
			return nil, err
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return gauges.New(cfg, hc)
	}},
}

func lookup(role, name string) (provider, error) {
	for _, p := range providers {
		if p.role == role && p.name == name {
			return p, nil
		}
	}
	var names []string
	for _, p := range providers {
		if p.role == role {
			names = append(names, p.name)
		}
	}
	return provider{}, &tenant.FieldError{Field: "kind", Reason: fmt.Sprintf("unknown %s provider %q (known: %v)", role, name, names)}
}

// Prepared is a validated connection ready for the store: Config may be shown, Secret is
// sealed.
type Prepared struct {
	Role     string
	Provider string
	Config   json.RawMessage
	Secret   json.RawMessage
	client   any
}

// Client returns the client built while validating (for a test before saving).
func (p Prepared) Client() any { return p.client }

// Prepare validates the flat fields of a connection (all fields, secrets included, as one
// JSON object), splits them into shown and sealed parts, and builds the client once to prove
// the fields make sense. Field errors are *tenant.FieldError naming the field; a URL the
// outbound policy refuses is one of them.
func (c *Connector) Prepare(role, name string, fields json.RawMessage) (Prepared, error) {
	p, err := lookup(role, name)
	if err != nil {
		return Prepared{}, err
	}
	cl, err := p.open(fields, c.http)
	if err != nil {
		return Prepared{}, fieldError(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(fields, &all); err != nil {
		return Prepared{}, &tenant.FieldError{Field: "", Reason: "fields must be a JSON object"}
	}
	if _, old := all["backup_config_type"]; old && name == string(psa.ConnectWise) {
		return Prepared{}, &tenant.FieldError{Field: "backup_config_type",
			Reason: "is a tenant setting now: set settings.publish.backup_stats.configuration_type with PATCH of the tenant"}
	}
	for _, f := range p.urls {
		var u string
		if json.Unmarshal(all[f], &u) != nil || u == "" {
			continue // absent or optional: the provider's own validation has spoken
		}
		if err := c.policy.CheckURL(u); err != nil {
			return Prepared{}, &tenant.FieldError{Field: f, Reason: err.Error()}
		}
	}
	secret := map[string]json.RawMessage{}
	for _, k := range p.secrets {
		if v, ok := all[k]; ok {
			secret[k] = v
			delete(all, k)
		}
	}
	cfg, _ := json.Marshal(all)
	sec, _ := json.Marshal(secret)
	return Prepared{Role: role, Provider: name, Config: cfg, Secret: sec, client: cl}, nil
}

// SecretFields lists the sealed field names of a provider, for documentation and redaction.
func SecretFields(role, name string) []string {
	p, err := lookup(role, name)
	if err != nil {
		return nil
	}
	return append([]string(nil), p.secrets...)
}

// open merges the stored parts back and builds the client.
func open(c store.Connection, hc *http.Client) (any, error) {
	p, err := lookup(c.Role, c.Provider)
	if err != nil {
		return nil, err
	}
	var all, secret map[string]json.RawMessage
	if err := json.Unmarshal(c.Config, &all); err != nil {
		return nil, fmt.Errorf("stored %s config: %w", c.Role, err)
	}
	if err := json.Unmarshal(c.Secret, &secret); err != nil {
		return nil, fmt.Errorf("stored %s secret: %w", c.Role, err)
	}
	if all == nil {
		all = map[string]json.RawMessage{}
	}
	for k, v := range secret {
		all[k] = v
	}
	merged, _ := json.Marshal(all)
	return p.open(merged, hc)
}

// strict decodes one JSON object, refusing unknown fields.
func strict(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	return nil
}

// fieldError turns each client package's configuration error into a *tenant.FieldError.
func fieldError(err error) error {
	var cw *connectwise.ConfigError
	var at *autotask.FieldError
	var re *remote.Error
	var ue *json.UnmarshalTypeError
	switch {
	case errors.As(err, &cw):
		return &tenant.FieldError{Field: cw.Field, Reason: cw.Reason}
	case errors.As(err, &at):
		return &tenant.FieldError{Field: at.Field, Reason: at.Message}
	case errors.As(err, &re) && re.Field != "":
		return &tenant.FieldError{Field: re.Field, Reason: re.Message}
	case errors.As(err, &ue):
		return &tenant.FieldError{Field: ue.Field, Reason: "must be " + ue.Type.String()}
	}
	msg := err.Error()
	if name, ok := unknownField(msg); ok {
		return &tenant.FieldError{Field: name, Reason: "unknown field"}
	}
	return &tenant.FieldError{Field: "", Reason: msg}
}

func unknownField(msg string) (string, bool) {
	const p = `json: unknown field "`
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p) : len(msg)-1], true
	}
	return "", false
}

// Connector opens and caches clients per tenant and connection. A cached client is reused
// until the connection changes (its updated_at moves), so discovery and token fetches are
// not repeated for every activity. Every client it opens sends through the outbound policy.
type Connector struct {
	store  *store.Store
	policy *egress.Policy
	http   *http.Client
	mu     sync.Mutex
	cache  map[string]cached
	tests  *testBudget
}

type cached struct {
	updated time.Time
	client  any
}

// New returns a connector over the store whose clients keep to policy (nil: the strict
// production policy), with 30-second timeouts per request.
func New(s *store.Store, policy *egress.Policy) *Connector {
	if policy == nil {
		policy = egress.Strict()
	}
	return &Connector{store: s, policy: policy, http: policy.Client(30 * time.Second), cache: map[string]cached{},
		tests: newTestBudget(DefaultTestBurst, DefaultTestEvery)}
}

// Connection tests make this server call out on a person's request, so each tenant has a
// budget of them (the API and the console share it): DefaultTestBurst at once, then one
// more every DefaultTestEvery.
const (
	DefaultTestBurst = 6
	DefaultTestEvery = 10 * time.Second
)

// TestTooSoonError refuses a connection test past the tenant's budget; Wait says when one
// more is allowed.
type TestTooSoonError struct{ Wait time.Duration }

func (e *TestTooSoonError) Error() string {
	return fmt.Sprintf("too many connection tests for this tenant; the next one is allowed in %d s", int((e.Wait+time.Second-1)/time.Second))
}

// SetTestBudget replaces the per-tenant budget of connection tests (before the connector is
// shared).
func (c *Connector) SetTestBudget(burst int, every time.Duration) {
	c.tests = newTestBudget(burst, every)
}

// AllowTest takes one connection test from the tenant's budget, or says how long to wait
// when it is used up.
func (c *Connector) AllowTest(tenantID string) (wait time.Duration, ok bool) {
	return c.tests.take(tenantID, time.Now())
}

type testBudget struct {
	mu       sync.Mutex
	burst    int
	every    time.Duration
	byTenant map[string]*rate.Limiter
}

func newTestBudget(burst int, every time.Duration) *testBudget {
	return &testBudget{burst: max(burst, 1), every: every, byTenant: map[string]*rate.Limiter{}}
}

func (b *testBudget) take(tenantID string, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.byTenant[tenantID]
	if !ok {
		lim = rate.NewLimiter(rate.Every(b.every), b.burst)
		b.byTenant[tenantID] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// Policy is the outbound policy the connector's clients keep to.
func (c *Connector) Policy() *egress.Policy { return c.policy }

func (c *Connector) get(ctx context.Context, tenantID, role string) (any, error) {
	conn, err := c.store.GetConnection(ctx, tenantID, role)
	if err != nil {
		return nil, err
	}
	key := tenantID + "/" + role + "/" + conn.Provider
	c.mu.Lock()
	if e, ok := c.cache[key]; ok && e.updated.Equal(conn.UpdatedAt) {
		c.mu.Unlock()
		return e.client, nil
	}
	c.mu.Unlock()
	cl, err := open(conn, c.http)
	if err != nil {
		return nil, fmt.Errorf("open %s connection of tenant %s: %w", role, tenantID, err)
	}
	c.mu.Lock()
	c.cache[key] = cached{updated: conn.UpdatedAt, client: cl}
	c.mu.Unlock()
	return cl, nil
}

// PSA opens the tenant's PSA client.
func (c *Connector) PSA(ctx context.Context, tenantID string) (psa.Client, error) {
	cl, err := c.get(ctx, tenantID, store.RolePSA)
	if err != nil {
		return nil, err
	}
	return cl.(psa.Client), nil
}

// Backup opens the tenant's backup usage source.
func (c *Connector) Backup(ctx context.Context, tenantID string) (sources.BackupUsage, error) {
	cl, err := c.get(ctx, tenantID, store.RoleBackup)
	if err != nil {
		return nil, err
	}
	return cl.(sources.BackupUsage), nil
}

// Licences opens the tenant's licence portal.
func (c *Connector) Licences(ctx context.Context, tenantID string) (sources.Licences, error) {
	cl, err := c.get(ctx, tenantID, store.RoleLicenses)
	if err != nil {
		return nil, err
	}
	return cl.(sources.Licences), nil
}

// Gauges opens the tenant's gauge service.
func (c *Connector) Gauges(ctx context.Context, tenantID string) (sources.GaugeValues, error) {
	cl, err := c.get(ctx, tenantID, store.RoleGauges)
	if err != nil {
		return nil, err
	}
	return cl.(sources.GaugeValues), nil
}

// Check tests a client with cheap reads and no changes.
func Check(ctx context.Context, client any) psa.CheckResult {
	switch cl := client.(type) {
	case psa.Client:
		return cl.Check(ctx)
	case interface{ Check(context.Context) error }:
		if err := cl.Check(ctx); err != nil {
			return psa.CheckResult{OK: false, Message: err.Error()}
		}
		return psa.CheckResult{OK: true, Message: "credentials accepted"}
	}
	return psa.CheckResult{OK: false, Message: "this connection cannot be tested"}
}

// Providers lists the known providers per role.
func Providers() map[string][]string {
	out := map[string][]string{}
	for _, p := range providers {
		out[p.role] = append(out[p.role], p.name)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}
