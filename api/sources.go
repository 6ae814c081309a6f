package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// sourceKinds are the vendor connections a tenant can have; each is its connection role.
var sourceKinds = []string{store.RoleBackup, store.RoleLicenses, store.RoleGauges}

// sourceKind reads {kind} from the path. An unknown kind is 404: the path names a
// resource that does not exist, like an unknown tenant or mapping.
func sourceKind(c *gin.Context) (string, error) {
	k := c.Param("kind")
	for _, known := range sourceKinds {
		if k == known {
			return k, nil
		}
	}
	e := errNotFound("source kind")
	e.Message = fmt.Sprintf("source kind %q not found; the kinds are %v", k, sourceKinds)
	return "", e
}

type putSourceRequest struct {
	// Provider defaults to the kind (today each kind has one provider of the same name).
	Provider string `json:"provider" binding:"omitempty,max=40"`
	// Credentials are the provider's flat fields, secrets included.
	Credentials json.RawMessage `json:"credentials" binding:"required"`
}

// putSource sets a vendor connection (backup, licenses or gauges): the fields are validated
// and the secret ones sealed like the PSA's. It answers the connection status without
// secrets.
func (s *server) putSource(c *gin.Context) {
	kind, err := sourceKind(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req putSourceRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.Provider == "" {
		req.Provider = kind
	}
	p, err := s.prepareCredentials(kind, req.Provider, "provider", req.Credentials)
	if err != nil {
		fail(c, err)
		return
	}
	tenantID := c.Param("tenant")
	if err := s.store.PutConnection(c.Request.Context(), store.Connection{TenantID: tenantID, Role: kind, Provider: req.Provider,
		Config: p.Config, Secret: p.Secret, UpdatedBy: caller(c).Email}); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, tenantID, "source.saved", kind+" connection saved ("+req.Provider+")", map[string]any{"kind": kind, "provider": req.Provider})
	st, err := s.store.GetConnectionStatus(c.Request.Context(), tenantID, kind)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"connection": st})
}

type testSourceRequest struct {
	Provider    string          `json:"provider" binding:"omitempty,max=40"`
	Credentials json.RawMessage `json:"credentials" binding:"required_with=Provider"`
}

// testSource is "test connection" of a vendor source: a cheap read with the stored
// credentials (or with credentials sent in the body, which are not stored), answering
// whether it worked and what failed. It changes nothing at the vendor.
func (s *server) testSource(c *gin.Context) {
	kind, err := sourceKind(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req testSourceRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			fail(c, err)
			return
		}
	}
	if req.Provider == "" {
		req.Provider = kind
	}
	s.testConnection(c, kind, req.Provider, "provider", req.Credentials, "source_not_configured")
}
