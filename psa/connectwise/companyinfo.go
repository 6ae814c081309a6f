package connectwise

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/meterbridge/meterbridge/remote"
)

// CompanyInfo is what the unauthenticated login/companyinfo endpoint says about a company
// login id. Unconfirmed: every field but Codebase; the client depends on Codebase only.
type CompanyInfo struct {
	CompanyName   string `json:"CompanyName"`
	Codebase      string `json:"Codebase"`
	VersionCode   string `json:"VersionCode"`
	VersionNumber string `json:"VersionNumber"`
	CompanyID     string `json:"CompanyID"`
	IsCloud       bool   `json:"IsCloud"`
	SiteURL       string `json:"SiteUrl"`
}

// CompanyInfo asks the site which codebase serves the configured company. It sends no
// credentials. An unknown company id (the API answers JSON null) is a Credentials error:
// a person must fix the configuration.
func (c *Client) CompanyInfo(ctx context.Context) (CompanyInfo, error) {
	op := "GET /login/companyinfo"
	u := c.cfg.SiteURL + "/login/companyinfo/" + url.PathEscape(c.cfg.CompanyID)
	h := http.Header{"Accept": {"application/json"}}
	resp, err := c.send.Do(ctx, remote.Request{Method: http.MethodGet, URL: u, Header: h, Op: op, Idempotent: true}, DecodeError)
	if err != nil {
		return CompanyInfo{}, err
	}
	body := bytes.TrimSpace(resp.Body)
	if len(body) == 0 || bytes.Equal(body, []byte("null")) {
		return CompanyInfo{}, &remote.Error{Kind: remote.Credentials, Service: service, Op: op, Status: resp.Status,
			Code: "UnknownCompany", Field: "company_id",
			Message: "ConnectWise does not know company id " + `"` + c.cfg.CompanyID + `"` + " on " + c.cfg.SiteURL}
	}
	var info CompanyInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return CompanyInfo{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status,
			Message: "unreadable companyinfo: " + remote.Unexpected(resp.Status, resp.Header, resp.Body), Err: err}
	}
	info.Codebase = normalizeCodebase(info.Codebase)
	if !codebasePattern.MatchString(info.Codebase) {
		return CompanyInfo{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status,
			Message: fmt.Sprintf("companyinfo gave no usable codebase (%q)", clean(info.Codebase, 40))}
	}
	return info, nil
}

// resolveCodebase returns the codebase in use, discovering it on first need.
func (c *Client) resolveCodebase(ctx context.Context) (string, error) {
	c.mu.Lock()
	cb := c.codebase
	c.mu.Unlock()
	if cb != "" {
		return cb, nil
	}
	info, err := c.CompanyInfo(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.codebase == "" {
		c.codebase = info.Codebase
	}
	return c.codebase, nil
}

// rediscover asks companyinfo again after an unexpected 404 on stale, and remembers the
// answer. A pinned Config.Codebase is re-resolved too: a hosted tenant moved to a new
// release answers 404 on the old segment either way.
func (c *Client) rediscover(ctx context.Context, stale string) (string, error) {
	info, err := c.CompanyInfo(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.codebase == stale {
		c.codebase = info.Codebase
	}
	return c.codebase, nil
}
