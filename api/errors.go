package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/meterbridge/meterbridge/access"
	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// apiError is an answer of {"error": {"code", "message", "field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfter sets the Retry-After header (429, 503).
	RetryAfter time.Duration `json:"-"`
	// Extra carries structured details some errors add (IDs that were not pending, the
	// workflow already running).
	Extra map[string]any `json:"details,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errBadRequest(code, field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func errInvalid(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Field: field, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(what string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

func errConflict(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// fail writes err as the JSON error answer and stops the chain.
func fail(c *gin.Context, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		logger(c).Error("request failed", "err", err, "status", ae.Status)
	}
	if ae.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
	}
	c.AbortWithStatusJSON(ae.Status, gin.H{"error": ae})
}

// toAPIError maps domain, store and Temporal errors to HTTP answers.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if ce := backupClientError(err); ce != nil {
		return ce
	}
	var acc *access.Error
	if errors.As(err, &acc) {
		switch acc.Kind {
		case access.Unauthenticated:
			return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: acc.Message}
		case access.Forbidden:
			return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: acc.Message}
		case access.NotFound:
			return errNotFound("tenant")
		case access.RateLimited:
			return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: acc.Message, RetryAfter: acc.RetryAfter}
		}
	}
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		return errInvalid(fe.Field, "%s", fe.Reason)
	}
	var tooSoon *connect.TestTooSoonError
	if errors.As(err, &tooSoon) {
		return &apiError{Status: http.StatusTooManyRequests, Code: "test_too_soon", Message: tooSoon.Error(), RetryAfter: tooSoon.Wait}
	}
	var running *starter.AlreadyRunningError
	if errors.As(err, &running) {
		e := errConflict("already_running", "%s", running.Error())
		e.Extra = map[string]any{"workflow_id": running.WorkflowID, "run_id": running.RunID}
		return e
	}
	var noWorker *starter.NoWorkerError
	if errors.As(err, &noWorker) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "no_worker", Message: noWorker.Error(), RetryAfter: 10 * time.Second,
			Extra: map[string]any{"workflow_id": noWorker.WorkflowID}}
	}
	var past *starter.PastApprovalError
	if errors.As(err, &past) {
		e := errConflict("cycle_past_approval", "%s", past.Error())
		e.Extra = map[string]any{"cycle_id": past.CycleID, "workflow_id": past.WorkflowID, "status": past.Status}
		return e
	}
	var notCancellable *starter.NotCancellableError
	if errors.As(err, &notCancellable) {
		e := errConflict("cycle_not_cancellable", "%s", notCancellable.Error())
		e.Extra = map[string]any{"cycle_id": notCancellable.CycleID}
		if notCancellable.Status != "" {
			e.Extra["status"] = notCancellable.Status
		}
		return e
	}
	var notRunning *starter.CycleNotRunningError
	if errors.As(err, &notRunning) {
		e := errConflict("cycle_not_running", "%s", notRunning.Error())
		e.Extra = map[string]any{"cycle_id": notRunning.CycleID, "workflow_id": notRunning.WorkflowID}
		return e
	}
	var unknown *starter.UnknownItemsError
	if errors.As(err, &unknown) {
		e := errInvalid("ids", "%s", unknown.Error())
		e.Extra = map[string]any{"ids": unknown.IDs}
		return e
	}
	var notFound *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var exists *serviceerror.AlreadyExists
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	var notReady *serviceerror.WorkflowNotReady
	var canceled *serviceerror.Canceled
	switch {
	case errors.Is(err, starter.ErrNothingPending):
		return errConflict("nothing_pending", "nothing is pending approval")
	case errors.Is(err, store.ErrNotFound), errors.As(err, &notFound):
		return errNotFound("resource")
	case errors.Is(err, store.ErrConflict):
		return errConflict("conflict", "%s", err.Error())
	case errors.As(err, &started):
		return errConflict("already_running", "the workflow is already running")
	case errors.As(err, &exists):
		return errConflict("already_exists", "it already exists")
	case errors.As(err, &unavailable), errors.As(err, &deadline), errors.As(err, &notReady), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "a backing service did not answer in time; try again",
			RetryAfter: 5 * time.Second}
	case errors.As(err, &exhausted):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "busy", Message: "the workflow service is busy; try again shortly",
			RetryAfter: 5 * time.Second}
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		// The caller went away (or the server is stopping); the answer is rarely read.
		return &apiError{Status: http.StatusServiceUnavailable, Code: "canceled", Message: "the request was canceled before it finished",
			RetryAfter: time.Second}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
}

// Problem is what the API answers for an error, for other front ends (the console) that
// show people the same message: the status, the stable code, the message, the field it
// names and when to try again.
type Problem struct {
	Status     int
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration
	Details    map[string]any
}

// Explain maps an error of the store, the starter, the connector or access to the answer
// the API gives for it.
func Explain(err error) Problem {
	ae := toAPIError(err)
	return Problem{Status: ae.Status, Code: ae.Code, Message: ae.Message, Field: ae.Field, RetryAfter: ae.RetryAfter, Details: ae.Extra}
}

// ExplainPSA is Explain for an error of a PSA call made to check or look up a mapping's
// target (not billable, not configured, credentials refused, unreachable).
func ExplainPSA(err error) Problem { return Explain(psaCallError(err)) }

// ExplainMetric is Explain for the scorecard's refusals (sync too soon, frozen week).
func ExplainMetric(err error) Problem { return Explain(metricError(err)) }

// ExplainLookup is Explain for a failed PSA look-up of what ("company", "agreement").
func ExplainLookup(err error, what string) Problem { return Explain(psaLookupError(err, what)) }
