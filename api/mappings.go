package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/store"
)

var mappingIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// mappingID reads {mapping} from the path.
func mappingID(c *gin.Context) (string, error) {
	id := c.Param("mapping")
	if !mappingIDRE.MatchString(id) {
		return "", errBadRequest("invalid_path", "mapping", "a mapping ID is 1–100 letters, digits and . _ : -")
	}
	return id, nil
}

type putMappingRequest struct {
	Source    string `json:"source" binding:"required,oneof=backup licenses"`
	AccountID string `json:"account_id" binding:"required,max=200"`
	// Item is the licence type, or "storage_gb" for backup.
	Item   string         `json:"item" binding:"required,max=100"`
	Target *mappingTarget `json:"target" binding:"required"`
}

type mappingTarget struct {
	// CompanyID may be 0 for Autotask, which fills it from the contract.
	CompanyID   int64 `json:"company_id" binding:"gte=0"`
	AgreementID int64 `json:"agreement_id" binding:"required,gt=0"`
	AdditionID  int64 `json:"addition_id" binding:"required,gt=0"`
}

// putMapping creates (201) or replaces (200) a mapping after checking its target against
// the tenant's PSA and stores the target's names. A target the PSA cannot bill (a contract
// without that service, an addition of another agreement) is 422 target_not_billable; no
// PSA connection is 409 psa_not_configured; an unreachable PSA 503; another mapping of the
// same account and item 409 mapping_exists.
func (s *server) putMapping(c *gin.Context) {
	id, err := mappingID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req putMappingRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := checkMappingKey(req); err != nil {
		fail(c, err)
		return
	}
	tenantID := c.Param("tenant")
	target := psa.Target{CompanyID: req.Target.CompanyID, AgreementID: req.Target.AgreementID, AdditionID: req.Target.AdditionID}
	res, err := s.connect.SaveMapping(c.Request.Context(), store.Mapping{TenantID: tenantID, ID: id, Source: req.Source,
		AccountID: req.AccountID, Item: req.Item, Target: target}, caller(c).Email, map[string]any{"request_id": requestID(c)})
	switch {
	case errors.Is(err, store.ErrConflict):
		fail(c, errConflict("mapping_exists", "another mapping already sends %s account %s, %s; change or delete that one", req.Source, req.AccountID, req.Item))
		return
	case errors.Is(err, store.ErrPSAChanged):
		fail(c, errConflict("psa_changed", "%s", err.Error()))
		return
	case err != nil:
		fail(c, psaCallError(err))
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		c.Header("Location", "/api/v1/tenants/"+tenantID+"/mappings/"+id)
	}
	c.JSON(status, gin.H{"mapping": res.Mapping})
}

// checkMappingKey refuses account IDs and items that could not have come from a vendor
// (store.CheckMappingKey, shared with the console).
func checkMappingKey(req putMappingRequest) error {
	return store.CheckMappingKey(req.Source, req.AccountID, req.Item)
}

// psaCallError turns a failed PSA look-up into an answer: the target is not billable
// (422), the PSA is not configured (409), refuses the stored credentials (502) or cannot be
// reached (503).
func psaCallError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errConflict("psa_not_configured", "the tenant has no PSA connection; set one with PUT /api/v1/tenants/{tenant}/psa first")
	}
	var re *remote.Error
	if errors.As(err, &re) {
		switch re.Kind {
		case remote.NotFound, remote.Invalid:
			field := "target"
			switch re.Field {
			case "company_id", "agreement_id", "addition_id":
				field += "." + re.Field
			}
			reason := re.Message
			if reason == "" {
				reason = err.Error()
			}
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "target_not_billable", Field: field,
				Message: "the PSA cannot bill this target: " + reason}
		case remote.Refused:
			return &apiError{Status: http.StatusConflict, Code: "psa_url_refused",
				Message: "the outbound policy refuses where the PSA connection points; fix it with PUT /psa: " + re.Error()}
		case remote.Credentials:
			return &apiError{Status: http.StatusBadGateway, Code: "psa_credentials_rejected",
				Message: "the PSA refused the stored credentials; fix them with PUT /psa and test the connection: " + re.Error()}
		case remote.RateLimited, remote.Unavailable:
			wait := re.RetryAfter
			if wait < 5*time.Second {
				wait = 5 * time.Second
			}
			return &apiError{Status: http.StatusServiceUnavailable, Code: "psa_unavailable",
				Message: "the PSA could not be reached or is busy; try again later: " + re.Error(), RetryAfter: wait}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "psa_unavailable", Message: "the PSA did not answer in time; try again later",
			RetryAfter: 5 * time.Second}
	}
	return err
}

// getMapping answers one mapping.
func (s *server) getMapping(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	id, err := mappingID(c)
	if err != nil {
		fail(c, err)
		return
	}
	m, err := s.store.GetMapping(c.Request.Context(), c.Param("tenant"), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"mapping": m})
}

// deleteMapping deletes a mapping (204; 404 when the tenant has no such mapping) and
// records it in the site history.
func (s *server) deleteMapping(c *gin.Context) {
	id, err := mappingID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if _, err := s.store.RemoveMapping(c.Request.Context(), c.Param("tenant"), id, caller(c).Email,
		map[string]any{"request_id": requestID(c)}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = errNotFound("mapping")
		}
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// listMappings answers the tenant's mappings (?source=backup|licenses), ordered by ID.
func (s *server) listMappings(c *gin.Context) {
	if err := rejectUnknownQuery(c, "source"); err != nil {
		fail(c, err)
		return
	}
	source := c.Query("source")
	if err := queryOneOf("source", source, store.RoleBackup, store.RoleLicenses); err != nil {
		fail(c, err)
		return
	}
	ms, err := s.store.ListMappings(c.Request.Context(), c.Param("tenant"), source)
	if err != nil {
		fail(c, err)
		return
	}
	if ms == nil {
		ms = []store.Mapping{}
	}
	c.JSON(http.StatusOK, gin.H{"mappings": ms})
}

// listAccounts answers the vendor accounts' items with their mapping status
// (?source=backup|licenses, ?status=unmapped|ok|error) and the counts per status.
func (s *server) listAccounts(c *gin.Context) {
	if err := rejectUnknownQuery(c, "source", "status"); err != nil {
		fail(c, err)
		return
	}
	f := store.AccountFilter{Source: c.Query("source"), Status: c.Query("status")}
	if err := queryOneOf("source", f.Source, store.RoleBackup, store.RoleLicenses); err != nil {
		fail(c, err)
		return
	}
	if err := queryOneOf("status", f.Status, "unmapped", "ok", "error"); err != nil {
		fail(c, err)
		return
	}
	list, err := s.store.ListAccounts(c.Request.Context(), c.Param("tenant"), f)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list)
}

// queryOneOf accepts an empty value or one of the allowed ones.
func queryOneOf(name, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errBadRequest("invalid_query", name, "%s must be one of: %s", name, strings.Join(allowed, ", "))
}
