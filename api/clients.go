package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/store"
)

// The backup clients of the usage publish (issue 11): which are published, and the Managed
// IDs typed in meterbridge. The list reads the backup usage service; a change is checked
// (a typed Managed ID against ConnectWise) and stored with its site-history row.

// listClients answers GET …/clients: the backup clients the service reports this month (in
// the tenant's zone), and those it no longer reports that the tenant made a choice for, each
// with its inclusion, its Managed IDs, its mapping and what the next publish does with it.
func (s *server) listClients(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	list, err := s.connect.BackupClients(c.Request.Context(), c.Param("tenant"), time.Now())
	if err != nil {
		fail(c, clientError(err))
		return
	}
	c.JSON(http.StatusOK, list)
}

// patchClientRequest changes what the tenant chose for one backup client. Absent fields
// stay as they are.
type patchClientRequest struct {
	// Included says whether publishes write the client.
	Included *bool `json:"included"`
	// ManagedID types (or corrects) the client's Managed ID, checked against ConnectWise;
	// null or "" removes the typed one, so the one the backup service reports is used.
	ManagedID optionalString `json:"managed_id"`
}

// optionalString is a JSON field that may be absent (Set is false), null or a string.
type optionalString struct {
	Set   bool
	Value string
}

// UnmarshalJSON reads null as "" and refuses anything but a string.
func (o *optionalString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = ""
		return nil
	}
	if err := json.Unmarshal(b, &o.Value); err != nil {
		return &json.UnmarshalTypeError{Value: "a non-string value", Type: reflect.TypeOf(""), Field: "managed_id"}
	}
	return nil
}

// patchClient answers PATCH …/clients/{client}: 200 with the client as the list shows it;
// 422 naming managed_id for a Managed ID ConnectWise does not know (nothing is stored); 404
// for a client neither the backup service nor the tenant's records know; PSA and backup
// service failures as elsewhere (409 not configured, 502 credentials, 503 unreachable).
func (s *server) patchClient(c *gin.Context) {
	id := c.Param("client")
	if err := store.CheckClientID(id); err != nil {
		fail(c, errBadRequest("invalid_path", "client", "a backup client ID %s", err))
		return
	}
	var req patchClientRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	ch := store.BackupClientChange{TenantID: c.Param("tenant"), ClientID: id, Included: req.Included, Actor: caller(c).Email,
		Details: auditDetails(c, nil)}
	if req.ManagedID.Set {
		v := strings.TrimSpace(req.ManagedID.Value)
		if err := checkTypedManagedID(v); err != nil {
			fail(c, err)
			return
		}
		ch.ManagedID = &v
	}
	if ch.Included == nil && ch.ManagedID == nil {
		fail(c, errInvalid("", "send included, managed_id or both"))
		return
	}
	got, err := s.connect.SaveBackupClient(c.Request.Context(), ch, time.Now())
	if err != nil {
		fail(c, clientError(err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"client": got})
}

// checkTypedManagedID refuses what no ConnectWise company identifier can be, before asking
// ConnectWise: at most 30 characters, one line.
func checkTypedManagedID(v string) error {
	if len([]rune(v)) > 30 {
		return errInvalid("managed_id", "a Managed ID is a ConnectWise company identifier: at most 30 characters")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return errInvalid("managed_id", "a Managed ID must be one line without control characters")
		}
	}
	return nil
}

// clientError answers a failure of the backup clients' list, a client's change or a publish
// of one client (backupClientError), and the PSA's failures as for mappings (psaCallError).
// Anything else is left to the usual mapping.
func clientError(err error) error {
	if ae := backupClientError(err); ae != nil {
		return ae
	}
	var re *remote.Error
	if errors.As(err, &re) {
		return psaCallError(err)
	}
	return err
}

// backupClientError maps the connector's answers about backup clients: an unknown client
// 404, a refused Managed ID or client 422 naming the field, no backup or PSA connection 409,
// the backup service's own failures 502/503. nil for any other error.
func backupClientError(err error) *apiError {
	var mid *connect.ManagedIDError
	var np *connect.ClientNotPublishableError
	var re *remote.Error
	switch {
	case errors.Is(err, connect.ErrUnknownClient):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Field: "client",
			Message: "backup client not found: the backup service does not report it and the tenant has no record of it"}
	case errors.As(err, &mid):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "managed_id_unknown", Field: "managed_id",
			Message: "not the Managed ID of one ConnectWise company: " + remoteWords(mid.Err)}
	case errors.As(err, &np):
		return errInvalid("client_id", "%s", np.Error())
	case errors.Is(err, connect.ErrPSANotConfigured):
		return errConflict("psa_not_configured", "the tenant has no PSA connection to check the Managed ID with; set one with PUT /api/v1/tenants/{tenant}/psa first")
	case errors.Is(err, connect.ErrBackupNotConfigured):
		return errConflict("backup_not_configured", "the tenant has no backup usage connection; set one with PUT /api/v1/tenants/{tenant}/sources/backup first")
	case errors.As(err, &re) && re.Service == "backup":
		switch re.Kind {
		case remote.Credentials:
			return &apiError{Status: http.StatusBadGateway, Code: "backup_credentials_rejected",
				Message: "the backup service refused the stored credentials; fix them with PUT /sources/backup: " + re.Error()}
		case remote.RateLimited, remote.Unavailable:
			return &apiError{Status: http.StatusServiceUnavailable, Code: "backup_unavailable",
				Message: "the backup service could not be reached or is busy; try again later: " + re.Error(), RetryAfter: max(re.RetryAfter, 5*time.Second)}
		}
		return &apiError{Status: http.StatusBadGateway, Code: "backup_refused", Message: "the backup service refused the request: " + re.Error()}
	}
	return nil
}

// remoteWords is what an outside service said, without repeating our own operation.
func remoteWords(err error) string {
	var re *remote.Error
	if errors.As(err, &re) && re.Message != "" {
		return re.Message
	}
	return err.Error()
}

// ExplainClient is Explain for the backup clients' list, a client's change and a publish
// of one client.
func ExplainClient(err error) Problem { return Explain(clientError(err)) }
