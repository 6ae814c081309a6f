package gauges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

// accessToken returns the cached token, or fetches one when none is cached, the cached one
// is due for refresh, or it is stale (the one the caller just saw refused). A caller that
// finds another already replaced the stale token uses the replacement.
func (c *Client) accessToken(ctx context.Context, stale string) (string, error) {
	select {
	case c.tokenMu <- struct{}{}:
	case <-ctx.Done():
		return "", &remote.Error{Kind: remote.Unavailable, Service: service, Op: "wait for token", Message: ctx.Err().Error(), Err: ctx.Err()}
	}
	defer func() { <-c.tokenMu }()
	if c.token != "" && c.token != stale && (c.refreshAt.IsZero() || c.now().Before(c.refreshAt)) {
		return c.token, nil
	}
	c.token, c.refreshAt = "", time.Time{}
	requested := c.now()
	resp, err := c.send.Do(ctx, remote.Request{
		Method: http.MethodPost,
		URL:    c.tokenURL.String(),
		Header: http.Header{
			"Authorization": {c.basic},
			"Content-Type":  {"application/x-www-form-urlencoded"},
			"Accept":        {"application/json"},
		},
		Body:       []byte("grant_type=client_credentials"),
		Op:         "POST " + c.tokenURL.Path,
		Idempotent: true, // a second token is harmless
	}, decodeTokenError)
	if err != nil {
		return "", err
	}
	tr, err := decodeToken(resp.Body)
	if err != nil {
		return "", vendorapi.BadResponse(service, "POST "+c.tokenURL.Path, resp.Status, err)
	}
	c.token = tr.accessToken
	if tr.lifetime > 0 {
		// Timed from before the request, and refreshed a little early, so a token is never
		// sent in its last seconds.
		c.refreshAt = requested.Add(tr.lifetime - min(time.Minute, tr.lifetime/10))
	}
	return c.token, nil
}

type tokenResponse struct {
	accessToken string
	lifetime    time.Duration
}

// maxTokenLifetime bounds expires_in so a silly value cannot overflow a time.Duration.
const maxTokenLifetime = 365 * 24 * time.Hour

func decodeToken(body []byte) (tokenResponse, error) {
	var raw struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return tokenResponse{}, fmt.Errorf("decode token response: %w", err)
	}
	switch {
	case raw.AccessToken == "":
		return tokenResponse{}, errors.New("token response has no access_token")
	case len(raw.AccessToken) > 8192 || strings.ContainsFunc(raw.AccessToken, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return tokenResponse{}, errors.New("access_token is not a bearer token")
	case raw.TokenType != "" && !strings.EqualFold(raw.TokenType, "Bearer"):
		// A DPoP or MAC token would be refused by every call made with it.
		return tokenResponse{}, fmt.Errorf("token_type %q is not Bearer", raw.TokenType)
	}
	tr := tokenResponse{accessToken: raw.AccessToken}
	if len(raw.ExpiresIn) == 0 || string(raw.ExpiresIn) == "null" {
		return tr, nil
	}
	var secs remote.Decimal
	if err := json.Unmarshal(raw.ExpiresIn, &secs); err != nil {
		return tokenResponse{}, fmt.Errorf("expires_in: %w", err)
	}
	if secs.D.IsNegative() {
		return tokenResponse{}, fmt.Errorf("expires_in %s is negative", secs.D)
	}
	if secs.D.GreaterThan(decimalSeconds(maxTokenLifetime)) {
		tr.lifetime = maxTokenLifetime
	} else {
		tr.lifetime = time.Duration(secs.D.IntPart()) * time.Second
	}
	return tr, nil
}

// oauthError is an RFC 6749 §5.2 error body.
type oauthError struct {
	Error       json.RawMessage `json:"error"`
	Description string          `json:"error_description"`
}

// decodeTokenError reads the token endpoint's errors. The codes that say the client itself
// was refused are Credentials whatever the status: RFC 6749 lets servers answer 400 for them.
func decodeTokenError(status int, h http.Header, body []byte) *remote.Error {
	var oe oauthError
	var code string
	if json.Unmarshal(body, &oe) != nil || json.Unmarshal(oe.Error, &code) != nil || code == "" {
		return decodeAPIError(status, h, body)
	}
	e := &remote.Error{Code: code, Message: oe.Description}
	if e.Message == "" {
		e.Message = code
	}
	switch code {
	case "invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope":
		e.Kind = remote.Credentials
	}
	return e
}

func decimalSeconds(d time.Duration) decimal.Decimal {
	return decimal.NewFromInt(int64(d / time.Second))
}
