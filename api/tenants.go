package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

type createTenantRequest struct {
	ID       string           `json:"id" binding:"required,tenant_id"`
	Name     string           `json:"name" binding:"required,min=1,max=100"`
	TimeZone string           `json:"time_zone" binding:"required,iana_tz"`
	Settings *tenant.Settings `json:"settings"`
}

// tenantView is what GET answers: the tenant and its connections, never their secrets.
type tenantView struct {
	tenant.Tenant
	Connections []store.ConnectionStatus `json:"connections"`
}

func (s *server) createTenant(c *gin.Context) {
	var req createTenantRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	t := tenant.Tenant{ID: req.ID, Name: req.Name, TimeZone: req.TimeZone, Settings: tenant.Defaults()}
	if req.Settings != nil {
		t.Settings = *req.Settings
	}
	if err := t.Settings.Validate(); err != nil {
		fail(c, err)
		return
	}
	created, err := s.store.CreateTenant(c.Request.Context(), t)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, created.ID, "tenant.created", "tenant "+created.ID+" created", nil)
	c.JSON(http.StatusCreated, tenantView{Tenant: created, Connections: []store.ConnectionStatus{}})
}

func (s *server) getTenant(c *gin.Context) {
	t, err := s.store.GetTenant(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		fail(c, err)
		return
	}
	conns, err := s.store.ConnectionStatuses(c.Request.Context(), t.ID)
	if err != nil {
		fail(c, err)
		return
	}
	if conns == nil {
		conns = []store.ConnectionStatus{}
	}
	c.JSON(http.StatusOK, tenantView{Tenant: t, Connections: conns})
}

// patchableTenant is the part of a tenant PATCH may change. The body is a JSON merge patch
// (RFC 7396) over it: send only what changes, null to reset a setting to its zero value.
type patchableTenant struct {
	Name     string          `json:"name" binding:"required,min=1,max=100"`
	TimeZone string          `json:"time_zone" binding:"required,iana_tz"`
	Settings tenant.Settings `json:"settings"`
}

func (s *server) patchTenant(c *gin.Context) {
	var patch map[string]any
	if err := bindJSON(c, &patch); err != nil {
		fail(c, err)
		return
	}
	var changed []string
	_, after, err := s.store.UpdateTenant(c.Request.Context(), c.Param("tenant"), func(t *tenant.Tenant) error {
		cur, err := json.Marshal(patchableTenant{Name: t.Name, TimeZone: t.TimeZone, Settings: t.Settings})
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(cur, &doc); err != nil {
			return err
		}
		merged, err := json.Marshal(mergePatch(doc, patch))
		if err != nil {
			return err
		}
		var next patchableTenant
		if err := decodeStrict(merged, &next); err != nil {
			return err
		}
		if err := validate(&next); err != nil {
			return err
		}
		if err := next.Settings.Validate(); err != nil {
			return err
		}
		if !bytes.Equal(cur, mustJSON(next)) {
			changed = topLevelKeys(patch)
		}
		t.Name, t.TimeZone, t.Settings = next.Name, next.TimeZone, next.Settings
		return nil
	})
	if err != nil {
		fail(c, err)
		return
	}
	if len(changed) > 0 {
		s.audit(c, after.ID, "settings.saved", "settings saved", map[string]any{"changed": changed})
	}
	conns, err := s.store.ConnectionStatuses(c.Request.Context(), after.ID)
	if err != nil {
		fail(c, err)
		return
	}
	if conns == nil {
		conns = []store.ConnectionStatus{}
	}
	c.JSON(http.StatusOK, tenantView{Tenant: after, Connections: conns})
}

// mergePatch applies an RFC 7396 JSON merge patch to doc.
func mergePatch(doc map[string]any, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(doc, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			dm, _ := doc[k].(map[string]any)
			doc[k] = mergePatch(dm, pm)
			continue
		}
		doc[k] = pv
	}
	return doc
}

func topLevelKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// audit writes a site-history row for a state-changing request, naming the caller.
func (s *server) audit(c *gin.Context, tenantID, action, message string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	details["request_id"] = c.Writer.Header().Get("X-Request-ID")
	if err := s.store.AddHistory(c.Request.Context(), tenantID, store.SeverityInfo, caller(c).Email, action, message, details); err != nil {
		logger(c).Error("site history not written", "err", err, "action", action)
	}
}
