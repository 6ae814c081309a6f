package autotask

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/meterbridge/meterbridge/remote"
)

// ZoneInfo is zone discovery's answer: which regional host serves the user.
type ZoneInfo struct {
	ZoneName string `json:"zoneName"`
	// URL is the zone's REST root, e.g. "https://webservices15.autotask.net/atservicesrest/".
	URL    string `json:"url"`
	WebURL string `json:"webUrl"`
	CI     int64  `json:"ci"`
}

// Zone returns the user's zone, discovering it on first use and caching it. With
// Config.BaseURL set it reports that URL without asking.
func (c *Client) Zone(ctx context.Context) (ZoneInfo, error) {
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()
	if c.zone != nil {
		return *c.zone, nil
	}
	if c.base != "" {
		return ZoneInfo{URL: strings.TrimSuffix(c.base, "/v1.0")}, nil
	}
	z, err := c.discover(ctx)
	if err != nil {
		return ZoneInfo{}, err
	}
	c.zone = &z
	c.base = restRoot(z.URL) + "/v1.0"
	return z, nil
}

// apiBase is the zone's ".../v1.0" root every entity path hangs from.
func (c *Client) apiBase(ctx context.Context) (string, error) {
	c.zoneMu.Lock()
	b := c.base
	c.zoneMu.Unlock()
	if b != "" {
		return b, nil
	}
	if _, err := c.Zone(ctx); err != nil {
		return "", err
	}
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()
	return c.base, nil
}

func (c *Client) discover(ctx context.Context) (ZoneInfo, error) {
	const op = "GET /v1.0/zoneInformation"
	u := restRoot(c.cfg.ZoneDiscoveryURL) + "/v1.0/zoneInformation?user=" + url.QueryEscape(c.cfg.UserName)
	// Discovery needs only the user name, so the secret is not sent to it.
	// Unconfirmed: that zoneInformation never asks for the credential headers.
	resp, err := c.send(ctx, remote.Request{Method: http.MethodGet, URL: u, Op: op, Idempotent: true}, sendOpts{anon: true})
	if err != nil {
		var re *remote.Error
		if errors.As(err, &re) && !re.Kind.Retryable() {
			// Discovery refuses only a user name it does not know; a person must fix that.
			//
			// Unconfirmed: the status Autotask answers for an unknown user (404 and 500 have
			// both been reported); every non-retryable answer is treated alike.
			cred := *re
			cred.Kind = remote.Credentials
			cred.Message = "zone discovery does not recognise user " + c.cfg.UserName + ": " + re.Message
			return ZoneInfo{}, &cred
		}
		return ZoneInfo{}, err
	}
	var z ZoneInfo
	if err := json.Unmarshal(resp.Body, &z); err != nil {
		return ZoneInfo{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: "decode zone information: " + err.Error(), Err: err}
	}
	if err := c.checkZoneURL(z.URL); err != nil {
		return ZoneInfo{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: err.Error()}
	}
	return z, nil
}

// checkZoneURL refuses a zone that would take the credentials somewhere unexpected: the
// secret is sent to whatever host discovery names.
func (c *Client) checkZoneURL(raw string) error {
	if raw == "" {
		return errors.New("zone discovery returned no url")
	}
	zu, err := url.Parse(raw)
	if err != nil || zu.Host == "" || (zu.Scheme != "https" && zu.Scheme != "http") {
		return errors.New("zone discovery returned an unusable url " + raw)
	}
	du, _ := url.Parse(c.cfg.ZoneDiscoveryURL)
	if du.Scheme == "https" && zu.Scheme != "https" {
		return errors.New("zone discovery over https returned a plain-http zone " + raw)
	}
	if h := strings.ToLower(du.Hostname()); strings.HasSuffix(h, "autotask.net") &&
		!strings.HasSuffix(strings.ToLower(zu.Hostname()), ".autotask.net") {
		return errors.New("zone discovery returned a host outside autotask.net: " + zu.Hostname())
	}
	return nil
}
