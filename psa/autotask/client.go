// Package autotask is meterbridge's client for the Autotask PSA REST API (v1.0). It reads
// companies, contracts and services, reads contract service units, and changes units the
// only way Autotask allows: by creating ContractServiceAdjustments, which are signed,
// effective-dated deltas.
//
// Every failure is a *remote.Error. The client discovers the user's zone, keeps to
// Autotask's thread limit and hourly threshold, retries 429 and 5xx through remote.Sender,
// and never repeats a create whose response was lost without first reading back the units.
// The API facts it follows, and which of them are unconfirmed, are in
// shared/reference/psa-apis.md section 2 and in "Unconfirmed:" comments here.
package autotask

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/telemetry"
)

var _ psa.Client = (*Client)(nil)

// Client is a connection to one Autotask database. It is safe for concurrent use.
type Client struct {
	cfg    Config
	sender *remote.Sender
	// creates sends POSTs that create things: one attempt, because a lost response may hide a
	// create that landed; callers read back before trying again.
	creates *remote.Sender
	lim     *limits

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// slowdown is the pause before each request while the database is past half its threshold.
	slowdown time.Duration

	zoneMu sync.Mutex
	zone   *ZoneInfo
	base   string // ".../atservicesrest/v1.0"

	// infoMu guards fieldCache: entity field lists by lower-cased entity (entityinfo.go).
	infoMu     sync.Mutex
	fieldCache map[string]cachedFields
}

// New returns a client for cfg. hc may be nil (30-second timeout); its Transport is wrapped,
// not modified, to enforce the thread limit and the hourly budget.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("autotask config: %w", err)
	}
	cfg = cfg.withDefaults()
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := &Client{
		cfg:      cfg,
		lim:      sharedLimits(cfg.UserName, cfg.IntegrationCode),
		now:      time.Now,
		sleep:    remote.Sleep,
		slowdown: 500 * time.Millisecond,
	}
	// Credentials travel in plain headers (UserName, Secret, ApiIntegrationCode), which Go
	// forwards on redirects: hc's redirect rule (the outbound policy's, from connect) or, for
	// a bare client, one that stays on the host and drops them likewise.
	redirect := hc.CheckRedirect
	if redirect == nil {
		redirect = sameHostWithoutCredentials
	}
	wrapped := &http.Client{
		Transport:     &limitTransport{next: next, lim: c.lim, budget: cfg.HourlyBudget, now: func() time.Time { return c.now() }},
		Jar:           hc.Jar,
		Timeout:       hc.Timeout,
		CheckRedirect: redirect,
	}
	c.sender = remote.NewSender(service, wrapped)
	c.creates = remote.NewSender(service, wrapped)
	c.creates.Policy.MaxAttempts = 1
	if cfg.BaseURL != "" {
		c.base = restRoot(cfg.BaseURL) + "/v1.0"
	}
	return c, nil
}

func sameHostWithoutCredentials(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing redirect to another host %q", req.URL.Host)
	}
	for _, h := range egress.CredentialHeaders {
		req.Header.Del(h)
	}
	return nil
}

// Kind reports psa.Autotask.
func (c *Client) Kind() psa.Kind { return psa.Autotask }

// Config returns the configuration in use (with defaults applied); log it with Redacted.
func (c *Client) Config() Config { return c.cfg }

func restRoot(u string) string {
	u = strings.TrimRight(u, "/")
	if strings.HasSuffix(strings.ToLower(u), "/v1.0") {
		u = u[:len(u)-len("/v1.0")]
	}
	return strings.TrimRight(u, "/")
}

func (c *Client) headers() http.Header {
	h := http.Header{}
	h.Set("ApiIntegrationCode", c.cfg.IntegrationCode)
	h.Set("UserName", c.cfg.UserName)
	h.Set("Secret", c.cfg.Secret)
	if c.cfg.ImpersonationResourceID > 0 {
		h.Set("ImpersonationResourceId", strconv.FormatInt(c.cfg.ImpersonationResourceID, 10))
	}
	h.Set("Accept", "application/json")
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "meterbridge")
	return h
}

// sendOpts varies how one request is sent.
type sendOpts struct {
	sender *remote.Sender // nil: the retrying sender
	anon   bool           // no credential headers (zone discovery)
	noPoll bool           // do not poll ThresholdInformation first (the poll itself)
}

// send admits the request against the client-side limits, sends it, and turns errors listed
// inside a 2xx body into failures.
func (c *Client) send(ctx context.Context, r remote.Request, o sendOpts) (*remote.Response, error) {
	if !o.anon && !o.noPoll && c.lim.pollDue(c.cfg.ThresholdPollEvery) {
		// A failed poll must not fail the request it precedes; that request reports its own errors.
		_, _ = c.ThresholdInformation(ctx)
	}
	if err := c.admit(ctx, r.Op); err != nil {
		return nil, err
	}
	if o.anon {
		r.Header = http.Header{"Accept": {"application/json"}, "User-Agent": {"meterbridge"}}
	} else {
		r.Header = c.headers()
	}
	s := o.sender
	if s == nil {
		s = c.sender
	}
	resp, err := s.Do(ctx, r, decodeError)
	if err != nil {
		var be *budgetExceeded
		if errors.As(err, &be) {
			return nil, c.budgetError(r.Op, be.wait)
		}
		return nil, err
	}
	if err := errorIn2xx(r.Op, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// admit waits for the hourly budget and for the database's threshold pressure. A wait
// longer than the sender's MaxRetryAfter is handed back as RateLimited, so a durable
// workflow waits instead of a goroutine.
func (c *Client) admit(ctx context.Context, op string) error {
	for {
		d := c.lim.wait(c.now(), c.cfg.HourlyBudget)
		if d == 0 {
			break
		}
		if d > c.sender.Policy.MaxRetryAfter || !remote.WaitsAllowed(ctx) {
			telemetry.RateLimitWait(service, "deferred", d)
			return c.budgetError(op, d)
		}
		telemetry.RateLimitWait(service, "budget", d)
		if err := c.sleep(ctx, d); err != nil {
			return &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Message: "waiting for the hourly budget: " + err.Error(), Err: err}
		}
	}
	u, age := c.lim.currentUsage(c.now())
	if u >= 1 {
		if age < defaultRetryAfter {
			return &remote.Error{Kind: remote.RateLimited, Service: service, Op: op, RetryAfter: defaultRetryAfter - age,
				Message: "Autotask reports the database's hourly request threshold used up"}
		}
		// The report is old enough to be wrong by now: read it again before this request.
		c.lim.pollNext()
	}
	if u >= 0.5 {
		// Past half the threshold Autotask slows every integration down; adding our own pause
		// leaves more of what is left to the others on the database.
		pause := c.slowdown
		if u >= 0.8 {
			pause *= 2
		}
		telemetry.RateLimitWait(service, "threshold", pause)
		if err := c.sleep(ctx, pause); err != nil {
			return &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Message: err.Error(), Err: err}
		}
	}
	return nil
}

func (c *Client) budgetError(op string, wait time.Duration) error {
	return &remote.Error{Kind: remote.RateLimited, Service: service, Op: op, RetryAfter: wait,
		Message: fmt.Sprintf("client-side budget of %d requests per hour used up", c.cfg.HourlyBudget)}
}

func (c *Client) today() time.Time { return day(c.now()) }

// day is the UTC midnight of t's UTC date; Autotask dates are UTC.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
