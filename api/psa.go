package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

type putPSARequest struct {
	Kind string `json:"kind" binding:"required,oneof=connectwise autotask"`
	// Credentials are the provider's flat fields, secrets included (see connect.Prepare).
	Credentials json.RawMessage `json:"credentials" binding:"required"`
	// ConfirmReset must be true to switch to another kind of PSA.
	ConfirmReset bool `json:"confirm_reset"`
}

// psaAnswer is what PUT /psa answers: the stored connection without secrets and, after a
// switch, what was reset.
type psaAnswer struct {
	PSAKind      string                 `json:"psa_kind"`
	Connection   store.ConnectionStatus `json:"connection"`
	PreviousKind string                 `json:"previous_kind,omitempty"`
	Switched     bool                   `json:"switched"`
	Reset        *resetAnswer           `json:"reset,omitempty"`
}

type resetAnswer struct {
	MappingsDeleted int64    `json:"mappings_deleted"`
	SettingsReset   []string `json:"settings_reset"`
	// MissedPublish is this month's automatic publish the switch turned off before it ran.
	MissedPublish *store.MissedPublish `json:"missed_publish,omitempty"`
}

// putPSA sets the tenant's PSA kind and credentials and answers the connection status
// (secret_set and updated_at, never the secrets). Switching ConnectWise ↔ Autotask needs
// "confirm_reset": true (else 409 confirm_reset_required, saying what would go) and no open
// cycle (else 409 cycles_open, listing each open cycle with the path that cancels it: a
// waiting cycle is cancelled at once, a pushing one once its push ends, one whose workflow
// no longer runs is closed); it deletes every mapping and resets the automation settings in
// the same transaction (store.SetPSA), then pauses the schedules to match.
func (s *server) putPSA(c *gin.Context) {
	var req putPSARequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	p, err := s.prepareCredentials(store.RolePSA, req.Kind, "kind", req.Credentials)
	if err != nil {
		fail(c, err)
		return
	}
	tenantID := c.Param("tenant")
	res, err := s.store.SetPSA(c.Request.Context(), store.PSAChange{TenantID: tenantID, Kind: req.Kind, Config: p.Config, Secret: p.Secret,
		Actor: caller(c).Email, ConfirmReset: req.ConfirmReset, Details: map[string]any{"request_id": requestID(c)}})
	var reset *store.ResetRequiredError
	var open *store.OpenCyclesError
	switch {
	case errors.As(err, &reset):
		e := errConflict("confirm_reset_required", "%s", reset.Error())
		e.Field = "confirm_reset"
		e.Extra = map[string]any{"from": reset.From, "to": reset.To, "mappings": reset.Mappings, "settings": orEmptyStrings(reset.Settings)}
		if reset.MissedPublish != nil {
			e.Extra["missed_publish"] = reset.MissedPublish
		}
		fail(c, e)
		return
	case errors.As(err, &open):
		e := errConflict("cycles_open", "%s", open.Error())
		cycles := make([]gin.H, 0, len(open.Cycles))
		ids := make([]string, 0, len(open.Cycles))
		for _, cy := range open.Cycles {
			ids = append(ids, cy.WorkflowID)
			cycles = append(cycles, gin.H{"cycle_id": cy.ID, "workflow_id": cy.WorkflowID, "kind": cy.Kind, "period": cy.Period,
				"status": cy.Status, "cancel": "/api/v1/tenants/" + tenantID + "/cycles/" + cy.ID + "/cancel"})
		}
		e.Extra = map[string]any{"workflow_ids": ids, "cycles": cycles}
		fail(c, e)
		return
	case err != nil:
		fail(c, err)
		return
	}
	details := map[string]any{"kind": req.Kind, "switched": res.Switched, "mappings_deleted": res.MappingsDeleted}
	s.audit(c, tenantID, "psa.saved", "PSA connection saved ("+req.Kind+")", details)
	// Recorded now: the answer may still be a 503 (schedules), but the change stands.
	s.adminAudit(c, "psa.saved", tenantID, "PSA connection saved ("+req.Kind+")", details)
	out := psaAnswer{PSAKind: res.Tenant.PSAKind, Connection: res.Connection, Switched: res.Switched}
	if res.Switched {
		out.PreviousKind = res.From
		out.Reset = &resetAnswer{MappingsDeleted: res.MappingsDeleted, SettingsReset: orEmptyStrings(res.SettingsReset), MissedPublish: res.MissedPublish}
		// The schedules follow the settings the switch turned off.
		if err := s.starter.SyncSchedules(c.Request.Context(), res.Tenant); err != nil {
			logger(c).Error("schedules not updated after PSA switch", "err", err)
			fail(c, &apiError{Status: http.StatusServiceUnavailable, Code: "schedules_not_updated",
				Message: "the PSA was switched, but the schedules could not be paused in Temporal; repeat with PATCH of the tenant", RetryAfter: 5 * time.Second})
			return
		}
	}
	c.JSON(http.StatusOK, out)
}

type testPSARequest struct {
	// Kind and Credentials test credentials before saving them (admins only).
	Kind        string          `json:"kind" binding:"required_with=Credentials,omitempty,oneof=connectwise autotask"`
	Credentials json.RawMessage `json:"credentials" binding:"required_with=Kind"`
}

// testPSA is "test connection": it calls cheap reads of the PSA with the stored credentials
// (or with kind and credentials sent in the body, which are not stored) and answers what
// worked or exactly what failed (ok, message, details). It changes nothing in the PSA.
func (s *server) testPSA(c *gin.Context) {
	var req testPSARequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			fail(c, err)
			return
		}
	}
	s.testConnection(c, store.RolePSA, req.Kind, "kind", req.Credentials, "psa_not_configured")
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
