package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// Handlers pass Temporal, store and domain errors to fail unchanged (or wrapped with %w);
// each must become a clear answer, never a 500 that hides a caller's mistake.
func TestErrorsMapToClearStatuses(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("signal billing-cycle/acme/2026-01: %w", err) }
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		retry  bool
	}{
		{"temporal not found", serviceerror.NewNotFound("workflow not found"), 404, "not_found", false},
		{"temporal not found, wrapped", wrap(serviceerror.NewNotFound("workflow execution already completed")), 404, "not_found", false},
		{"temporal already started", serviceerror.NewWorkflowExecutionAlreadyStarted("started", "req", "run-1"), 409, "already_running", false},
		{"temporal already started, wrapped", wrap(serviceerror.NewWorkflowExecutionAlreadyStarted("started", "req", "run-1")), 409, "already_running", false},
		{"temporal already exists", serviceerror.NewAlreadyExists("schedule exists"), 409, "already_exists", false},
		{"temporal unavailable", serviceerror.NewUnavailable("frontend down"), 503, "unavailable", true},
		{"temporal unavailable, wrapped", wrap(serviceerror.NewUnavailable("frontend down")), 503, "unavailable", true},
		{"temporal deadline", serviceerror.NewDeadlineExceeded("slow"), 503, "unavailable", true},
		{"temporal resource exhausted", serviceerror.NewResourceExhausted(0, "rps limit"), 503, "busy", true},
		{"temporal canceled", serviceerror.NewCanceled("canceled"), 503, "canceled", true},
		{"context deadline", wrap(context.DeadlineExceeded), 503, "unavailable", true},
		{"context canceled", wrap(context.Canceled), 503, "canceled", true},
		{"cycle already running", &starter.AlreadyRunningError{WorkflowID: "billing-cycle/acme/2026-01", RunID: "r"}, 409, "already_running", false},
		{"nothing pending", starter.ErrNothingPending, 409, "nothing_pending", false},
		{"unknown pending ids", &starter.UnknownItemsError{IDs: []int64{7}}, 422, "validation_failed", false},
		{"store not found", fmt.Errorf("cycle x: %w", store.ErrNotFound), 404, "not_found", false},
		{"store conflict", fmt.Errorf("tenant acme: %w", store.ErrConflict), 409, "conflict", false},
		{"field error", &tenant.FieldError{Field: "time_zone", Reason: "unknown"}, 422, "validation_failed", false},
		{"anything else", errors.New("boom"), 500, "internal", false},
		{"temporal invalid argument", serviceerror.NewInvalidArgument("bad"), 500, "internal", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ae := toAPIError(tc.err)
			if ae.Status != tc.status || ae.Code != tc.code {
				t.Fatalf("toAPIError(%v) = %d %s, want %d %s", tc.err, ae.Status, ae.Code, tc.status, tc.code)
			}
			if tc.retry != (ae.RetryAfter > 0) {
				t.Errorf("Retry-After %v, want one: %v", ae.RetryAfter, tc.retry)
			}
			if ae.Message == "" {
				t.Error("no message")
			}
			if ae.Status == http.StatusInternalServerError && ae.Message != "internal error; see the server log" {
				t.Errorf("a 500 must not show the error's text: %q", ae.Message)
			}
		})
	}
}
