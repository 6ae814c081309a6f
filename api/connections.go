package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// checkTimeout bounds a connection test, leaving the request time to answer and record it.
const checkTimeout = 10 * time.Second

// prepareCredentials validates a connection's flat fields (secrets included) through
// connect.Prepare. A wrong field is a 422 naming it as "credentials.<name>"; an unknown
// provider names providerField.
func (s *server) prepareCredentials(role, provider, providerField string, raw json.RawMessage) (connect.Prepared, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return connect.Prepared{}, errInvalid("credentials", "must be a JSON object of the %s provider's fields", provider)
	}
	p, err := s.connect.Prepare(role, provider, raw)
	if err == nil {
		return p, nil
	}
	var fe *tenant.FieldError
	if !errors.As(err, &fe) {
		return connect.Prepared{}, err
	}
	switch fe.Field {
	case "":
		return connect.Prepared{}, errInvalid("credentials", "%s", fe.Reason)
	case "kind":
		return connect.Prepared{}, errInvalid(providerField, "%s", fe.Reason)
	}
	return connect.Prepared{}, errInvalid("credentials."+fe.Field, "%s", fe.Reason)
}

// testAnswer is what a connection test answers: psa.CheckResult plus what was tested.
type testAnswer struct {
	psa.CheckResult
	Role     string `json:"role"`
	Provider string `json:"provider"`
	// Tested is "stored" (the saved credentials) or "request" (credentials sent with the
	// test, which were not saved).
	Tested string `json:"tested"`
}

// testConnection answers a test of credentials: those in the body when given (admins
// only, nothing stored), else the stored ones, whose outcome is kept for the dashboard and
// the site history. Either way only cheap reads reach the outside service.
func (s *server) testConnection(c *gin.Context, role, provider, providerField string, creds json.RawMessage, notConfigured string) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), checkTimeout)
	defer cancel()
	if creds != nil {
		// Testing arbitrary credentials makes this server call an address the caller picks;
		// only admins, who may store connections anyway, may do that.
		if rank(caller(c).Role) < rank(store.RoleAdmin) {
			fail(c, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "testing credentials that are not stored needs an admin token"})
			return
		}
		p, err := s.prepareCredentials(role, provider, providerField, creds)
		if err != nil {
			fail(c, err)
			return
		}
		if !s.allowTest(c) {
			return
		}
		res := connect.Check(ctx, p.Client())
		c.JSON(http.StatusOK, testAnswer{CheckResult: res, Role: role, Provider: provider, Tested: "request"})
		return
	}
	tenantID := c.Param("tenant")
	res, st, err := s.connect.TestAndRecord(ctx, tenantID, role, caller(c).Email, map[string]any{"request_id": requestID(c)})
	var tooSoon *connect.TestTooSoonError
	if errors.As(err, &tooSoon) {
		fail(c, err)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		fail(c, errConflict(notConfigured, "the tenant has no %s connection to test; send credentials in the body or save them first", role))
		return
	}
	if err != nil && res.Message == "" {
		fail(c, err)
		return
	}
	if err != nil {
		logger(c).Error("connection test outcome not recorded", "err", err, "role", role)
	}
	c.JSON(http.StatusOK, testAnswer{CheckResult: res, Role: role, Provider: st.Provider, Tested: "stored"})
}

// allowTest takes a connection test from the tenant's budget, or answers 429 with the wait.
func (s *server) allowTest(c *gin.Context) bool {
	wait, ok := s.connect.AllowTest(c.Param("tenant"))
	if !ok {
		fail(c, &connect.TestTooSoonError{Wait: wait})
	}
	return ok
}

func requestID(c *gin.Context) string { return c.Writer.Header().Get("X-Request-ID") }
