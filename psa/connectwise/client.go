package connectwise

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/meterbridge/meterbridge/remote"
)

// Client calls one tenant's ConnectWise PSA. It is safe for concurrent use.
type Client struct {
	cfg  Config
	auth string // the Basic credentials header value: secret, never logged
	// send retries 429 and transient 5xx; create is the same with one attempt, because a
	// create that timed out may have succeeded and must be looked up before it is resent.
	send   *remote.Sender
	create *remote.Sender
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	codebase string // "" until resolved
}

// New returns a client for cfg. hc carries timeouts and transport; nil means a 30-second
// per-request timeout. No call is made until the first request.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.normalized()
	s := remote.NewSender(service, hc)
	once := *s
	once.Policy.MaxAttempts = 1
	return &Client{
		cfg:      cfg,
		auth:     "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.CompanyID+"+"+cfg.PublicKey+":"+cfg.PrivateKey)),
		send:     s,
		create:   &once,
		log:      slog.Default(),
		now:      time.Now,
		codebase: cfg.Codebase,
	}, nil
}

// SetRetryPolicy replaces the retry policy of every call except creates, which are never
// resent blindly. Call it before the client is shared.
func (c *Client) SetRetryPolicy(p remote.Policy) { c.send.Policy = p }

// SetLogger replaces the logger (slog.Default otherwise). The client never logs secrets.
func (c *Client) SetLogger(l *slog.Logger) { c.log = l }

// Config returns the configuration in use, secret redacted.
func (c *Client) Config() Config { return c.cfg.Redacted() }

// apiRequest is one call under {site}/{codebase}apis/3.0.
type apiRequest struct {
	method string
	path   string // starts with "/", e.g. "/finance/agreements/12/additions"
	query  url.Values
	body   any
	// create marks a POST that creates a record: sent once, never retried here.
	create bool
}

func (r apiRequest) op() string { return r.method + " " + r.path }

// call sends r and handles what only ConnectWise does with 404: the tenant's codebase may
// have moved (re-resolve and retry once), and on cloud wrong credentials can come back as
// 404 instead of 401 (probe a path that always exists to tell the two apart).
// Unconfirmed: the body of such a 404 (the docs only say it happens); any 404 that is not
// a record-level NotFound is treated this way, which costs two extra reads at worst.
func (c *Client) call(ctx context.Context, r apiRequest) (*remote.Response, error) {
	codebase, err := c.resolveCodebase(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.sendTo(ctx, codebase, r)
	if !unexpected404(err) {
		return resp, err
	}
	fresh, rerr := c.rediscover(ctx, codebase)
	if rerr != nil {
		return nil, rerr
	}
	if fresh != codebase {
		c.log.InfoContext(ctx, "connectwise codebase changed; retrying", "site", c.cfg.SiteURL, "old", codebase, "new", fresh)
		return c.sendTo(ctx, fresh, r)
	}
	if r.path == systemInfoPath {
		return nil, asCredentials(err, "ConnectWise answered 404 for /system/info, which always exists; on cloud this is how refused credentials look")
	}
	if _, perr := c.sendTo(ctx, fresh, apiRequest{method: http.MethodGet, path: systemInfoPath}); perr != nil {
		if k := remote.KindOf(perr); k == remote.NotFound || k == remote.Credentials {
			return nil, asCredentials(err, "ConnectWise answered 404 even for /system/info; on cloud this is how refused credentials look")
		}
		return nil, perr
	}
	return nil, err
}

// unexpected404 is a 404 that does not say "this record does not exist": an unknown endpoint
// ({"code":"ConnectWiseApi",...}), an empty body, or a proxy page.
// Unconfirmed: the code of a missing record's 404. We assume "NotFound" (seen in field
// errors); any other 404 costs a companyinfo and a /system/info probe, then stands.
func unexpected404(err error) bool {
	var re *remote.Error
	return errors.As(err, &re) && re.Status == http.StatusNotFound && !strings.EqualFold(re.Code, codeNotFound)
}

func asCredentials(err error, why string) error {
	var re *remote.Error
	if !errors.As(err, &re) {
		return err
	}
	cp := *re
	cp.Kind = remote.Credentials
	cp.Message = why + " (" + re.Message + ")"
	cp.Err = err
	return &cp
}

func (c *Client) sendTo(ctx context.Context, codebase string, r apiRequest) (*remote.Response, error) {
	u := c.cfg.SiteURL + "/" + codebase + "apis/3.0" + r.path
	if len(r.query) > 0 {
		u += "?" + encodeQuery(r.query)
	}
	h := http.Header{}
	h.Set("Authorization", c.auth)
	h.Set("clientId", c.cfg.ClientID)
	h.Set("Accept", "application/vnd.connectwise.com+json; version="+c.cfg.APIVersion)
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, &remote.Error{Kind: remote.Invalid, Service: service, Op: r.op(), Message: "encode request: " + err.Error(), Err: err}
		}
		body = b
		h.Set("Content-Type", "application/json")
	}
	s := c.send
	if r.create {
		s = c.create
	}
	return s.Do(ctx, remote.Request{Method: r.method, URL: u, Header: h, Body: body, Op: r.op(), Idempotent: !r.create}, DecodeError)
}

// encodeQuery percent-encodes every reserved character and spaces as %20 rather than '+',
// so a '+' or space inside a condition value cannot be read two ways.
// Unconfirmed: whether the server decodes '+' as a space in query strings; %20 works either way.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

// getJSON GETs path and decodes the body into out.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) (*remote.Response, error) {
	resp, err := c.call(ctx, apiRequest{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return nil, err
	}
	return resp, decodeBody(http.MethodGet+" "+path, resp, out)
}

// writeJSON sends a body-carrying request and decodes the answer into out (nil: ignore).
func (c *Client) writeJSON(ctx context.Context, r apiRequest, out any) error {
	resp, err := c.call(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return decodeBody(r.op(), resp, out)
}

func decodeBody(op string, resp *remote.Response, out any) error {
	if err := json.Unmarshal(resp.Body, out); err != nil {
		// A 2xx body we cannot read is usually a proxy or maintenance page: worth retrying.
		return &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status,
			Message: "unreadable response: " + remote.Unexpected(resp.Status, resp.Header, resp.Body), Err: err}
	}
	return nil
}

func itemPath(collection string, id int64) string { return fmt.Sprintf("%s/%d", collection, id) }
