package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
)

// patchSettings changes the demo tenant's settings through the API (a JSON merge patch).
func (s *stack) patchSettings(patch string) {
	s.t.Helper()
	var e errorAnswer
	code := s.call("PATCH", s.tp, s.adminToken, json.RawMessage(patch), &e)
	require.Equal(s.t, http.StatusOK, code, "PATCH settings: %+v", e)
}

// waitCycle waits until the cycle with this ID has ended — its record final and its
// workflow closed (it notifies after recording) — and returns it. The workflow is followed by
// its ID, so a run that was reset or continued as new is waited for too.
func (s *stack) waitCycle(id string, timeout time.Duration) store.Cycle {
	s.t.Helper()
	var c store.Cycle
	eventually(s.t, timeout, "cycle "+id+" to end", func() bool {
		var err error
		c, err = s.store.GetCycle(context.Background(), s.tenantID, id)
		return err == nil && c.Status.Final()
	})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	require.NoError(s.t, s.temporal.GetWorkflow(ctx, c.WorkflowID, "").Get(ctx, nil))
	return c
}

// waitStatus waits until the cycle reaches a status.
func (s *stack) waitStatus(id string, status billing.Status, timeout time.Duration) store.Cycle {
	s.t.Helper()
	var c store.Cycle
	eventually(s.t, timeout, "cycle "+id+" to be "+string(status), func() bool {
		var err error
		c, err = s.store.GetCycle(context.Background(), s.tenantID, id)
		return err == nil && c.Status == status
	})
	return c
}

// publish asks for a usage publish and returns the run (cycle) ID.
func (s *stack) publish(body any) string {
	s.t.Helper()
	var started struct {
		RunID string `json:"run_id"`
	}
	var e errorAnswer
	code := s.call("POST", s.tp+"/publish", s.approverToken, body, &started)
	if code != http.StatusAccepted {
		s.call("POST", s.tp+"/publish", s.approverToken, body, &e)
	}
	require.Equal(s.t, http.StatusAccepted, code, "publish: %+v", e)
	return started.RunID
}

func (s *stack) items(cycleID string) []store.Item {
	s.t.Helper()
	items, err := s.store.CycleItems(context.Background(), s.tenantID, cycleID)
	require.NoError(s.t, err)
	return items
}

func (s *stack) historyActions() []string {
	s.t.Helper()
	h, err := s.store.ListHistory(context.Background(), s.tenantID, 0)
	require.NoError(s.t, err)
	var out []string
	for _, e := range h {
		out = append(out, e.Action)
	}
	return out
}
