package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

type pendingAnswer struct {
	Pending []store.Item `json:"pending"`
}

type cyclesAnswer struct {
	Cycles []struct {
		store.Cycle
		StartedBy string `json:"started_by"`
	} `json:"cycles"`
}

type errorAnswer struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// The walking skeleton: publish → usage and current quantities read → pending updates →
// approval (refused with 503 while no worker runs, answered once one does) → the new worker
// pushes each quantity exactly once → history shows the cycle.
func TestPublishFlowsEndToEndAndSurvivesAWorkerRestart(t *testing.T) {
	s := newStack(t)
	s.startWorker()

	var started struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
		Period     string `json:"period"`
	}
	require.Equal(t, http.StatusAccepted, s.call("POST", s.tp+"/publish", s.approverToken, nil, &started))
	require.Equal(t, workflows.BillingCycleID(s.tenantID, billing.Period(started.Period)), started.WorkflowID)

	var pending pendingAnswer
	eventually(t, 30*time.Second, "three pending updates", func() bool {
		s.call("GET", s.tp+"/pending", s.viewerToken, nil, &pending)
		return len(pending.Pending) == 3
	})
	clients := demo.BackupClients()
	for i, it := range pending.Pending {
		c := clients[i]
		require.Equal(t, c.ClientID, it.AccountID)
		require.True(t, it.OldQty.Decimal.Equal(c.BilledGB), "old %s, want %s", it.OldQty.Decimal, c.BilledGB)
		require.True(t, it.NewQty.Decimal.Equal(c.UsageGB), "new %s, want %s", it.NewQty.Decimal, c.UsageGB)
		require.True(t, it.Delta.Decimal.Equal(c.UsageGB.Sub(c.BilledGB)))
	}

	// The worker goes away while the cycle waits: an approval cannot be confirmed (503) and
	// nothing is written.
	s.stopWorker()
	var e errorAnswer
	require.Equal(t, http.StatusServiceUnavailable, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, &e))
	require.Equal(t, "no_worker", e.Error.Code)
	for _, c := range clients {
		require.Zero(t, s.world.ConnectWise.Writes(cwemu.Additions, c.Target.AdditionID), "nothing may be written without a worker")
	}

	// A new worker takes over. Approving again is answered with what it did; the unconfirmed
	// approval may have reached the cycle first (then nothing is left pending).
	s.startWorker()
	var decided decisionAnswer
	code := s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, &decided)
	if code == http.StatusOK {
		require.Equal(t, 3, decided.Approved+decided.AlreadyDecided)
	} else {
		require.Equal(t, http.StatusConflict, code)
	}
	var cycles cyclesAnswer
	eventually(t, 60*time.Second, "the cycle to complete", func() bool {
		s.call("GET", s.tp+"/cycles", s.viewerToken, nil, &cycles)
		return len(cycles.Cycles) == 1 && cycles.Cycles[0].Status.Final()
	})
	cy := cycles.Cycles[0]
	require.Equal(t, billing.Completed, cy.Status, "error: %s", cy.Error)
	require.Equal(t, "ann@demo-msp.example", cy.StartedBy)
	require.Equal(t, 3, cy.Counts.Applied)
	require.Equal(t, started.RunID, cy.ID)

	for _, c := range clients {
		a, ok := s.world.ConnectWise.Addition(c.Target.AgreementID, c.Target.AdditionID)
		require.True(t, ok)
		require.True(t, a.Quantity.Equal(c.UsageGB), "%s holds %s, want %s", c.Name, a.Quantity, c.UsageGB)
		require.Equal(t, 1, s.world.ConnectWise.Writes(cwemu.Additions, c.Target.AdditionID), "%s written more than once", c.Name)
	}

	// The run is filterable by tenant and period in the Temporal UI.
	require.NoError(t, s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil))
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), started.WorkflowID, started.RunID)
	require.NoError(t, err)
	sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	require.Contains(t, string(sa[workflows.TenantKey.GetName()].GetData()), s.tenantID)
	require.Contains(t, string(sa[workflows.PeriodKey.GetName()].GetData()), started.Period)
	require.Contains(t, string(sa[workflows.PhaseKey.GetName()].GetData()), string(billing.PhaseDone))

	// The finished cycle's page lists each client's outcome.
	var one struct {
		Items []store.Item `json:"items"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", s.tp+"/cycles/"+cy.ID, s.viewerToken, nil, &one))
	require.Len(t, one.Items, 3)
	for _, it := range one.Items {
		require.Equal(t, billing.Applied, it.State)
		require.True(t, it.AppliedQty.Decimal.Equal(it.NewQty.Decimal))
	}

	// The managers were told.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := s.mail.WaitFor(ctx, 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Subject, "completed")
	require.Equal(t, []string{"billing@demo-msp.example"}, msgs[0].To)

	// Nothing is pending any more: approving again is a conflict and changes nothing.
	require.Equal(t, http.StatusConflict, s.call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, &e))
	require.Equal(t, "nothing_pending", e.Error.Code)
}

func TestBadInputChangesNothing(t *testing.T) {
	s := newStack(t)
	cases := []struct {
		name, method, path, body string
		token                    string
		status                   int
		code, field              string
	}{
		{"unknown tenant", "POST", "/api/v1/tenants/nobody/publish", "", s.adminToken, 404, "not_found", ""},
		{"malformed JSON", "POST", s.tp + "/pending/approve", `{"all": tru`, s.approverToken, 400, "invalid_json", ""},
		{"unknown field", "POST", s.tp + "/pending/approve", `{"all": true, "everything": 1}`, s.approverToken, 400, "unknown_field", "everything"},
		{"both ids and all", "POST", s.tp + "/pending/approve", `{"all": true, "ids": [1]}`, s.approverToken, 422, "validation_failed", "ids"},
		{"nothing pending", "POST", s.tp + "/pending/approve", `{"all": true}`, s.approverToken, 409, "nothing_pending", ""},
		{"wrong type", "POST", s.tp + "/pending/approve", `{"ids": "7"}`, s.approverToken, 400, "invalid_type", "ids"},
		{"bad period", "POST", s.tp + "/publish", `{"period": "2026-13"}`, s.approverToken, 422, "validation_failed", "period"},
		{"day as a usage period", "POST", s.tp + "/publish", `{"period": "2026-01-05"}`, s.approverToken, 422, "validation_failed", "period"},
		{"future period", "POST", s.tp + "/publish", `{"period": "2099-01"}`, s.approverToken, 422, "validation_failed", "period"},
		{"period with sync now", "POST", s.tp + "/publish", `{"kind": "licence_sync", "period": "2026-01"}`, s.approverToken, 422, "validation_failed", "period"},
		{"bad time zone", "PATCH", s.tp, `{"time_zone": "Mars/Olympus"}`, s.adminToken, 422, "validation_failed", "time_zone"},
		{"bad schedule day", "PATCH", s.tp, `{"settings": {"publish": {"schedule": {"enabled": true, "cadence": "monthly", "day": "32"}}}}`, s.adminToken, 422, "validation_failed", "settings.publish.schedule.day"},
		{"cancel an unknown cycle", "POST", s.tp + "/cycles/01a22978-a249-75fa-ac4b-1362166a1e12/cancel", "", s.approverToken, 404, "not_found", ""},
		{"cancel a cycle that is no UUID", "POST", s.tp + "/cycles/nope/cancel", "", s.approverToken, 404, "not_found", ""},
		{"cancel with a long reason", "POST", s.tp + "/cycles/01a22978-a249-75fa-ac4b-1362166a1e12/cancel", `{"reason": "` + strings.Repeat("x", 501) + `"}`, s.approverToken, 422, "validation_failed", "reason"},
		{"cancel with an unknown field", "POST", s.tp + "/cycles/01a22978-a249-75fa-ac4b-1362166a1e12/cancel", `{"why": "x"}`, s.approverToken, 400, "unknown_field", "why"},
		{"viewer cannot cancel", "POST", s.tp + "/cycles/01a22978-a249-75fa-ac4b-1362166a1e12/cancel", "", s.viewerToken, 403, "forbidden", ""},
		{"no token", "POST", s.tp + "/publish", "", "", 401, "unauthorized", ""},
		{"viewer cannot publish", "POST", s.tp + "/publish", "", s.viewerToken, 403, "forbidden", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			var e errorAnswer
			require.Equal(t, tc.status, s.call(tc.method, tc.path, tc.token, body, &e), "answer %+v", e)
			require.Equal(t, tc.code, e.Error.Code)
			require.Equal(t, tc.field, e.Error.Field)
			require.NotEmpty(t, e.Error.Message)
		})
	}
	cycles, err := s.store.ListCycles(context.Background(), s.tenantID, 0)
	require.NoError(t, err)
	require.Empty(t, cycles, "no request may have started a cycle")
	tn, err := s.store.GetTenant(context.Background(), s.tenantID)
	require.NoError(t, err)
	require.Equal(t, "Europe/London", tn.TimeZone)
	require.False(t, tn.Settings.Publish.Schedule.Enabled)
}
