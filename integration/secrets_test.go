package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/billing"
	bkemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	liemu "github.com/meterbridge/meterbridge/dev/emulators/licenses"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
	"github.com/meterbridge/meterbridge/store"
)

// No credential reaches workflow history, logs, the database's readable columns or an API
// answer: a publish cycle runs to completion, a second one fails on refused credentials
// (so remote errors travel into failures, cycle errors and site history), a licence
// refresh, a metric sync and connection tests run, a connection is replaced with new
// secrets and API tokens are created and misused — then every event of every workflow of
// the test (payloads decoded, failure messages included) and every log line of worker,
// activities and API are searched for each secret.
func TestNoSecretReachesHistoryLogsOrAnswers(t *testing.T) {
	s := newStack(t)
	logs := s.captureLogs()
	s.startWorker()
	var answers bytes.Buffer // every API answer body of the test
	call := func(method, path, token string, body any, want int) map[string]any {
		t.Helper()
		var out map[string]any
		code := s.call(method, path, token, body, &out)
		fmt.Fprintf(&answers, "%s %s → %d %v\n", method, path, code, out)
		require.Equal(t, want, code, "%s %s: %v", method, path, out)
		return out
	}

	cw := cwemu.DefaultCredentials
	secretsToFind := map[string]string{
		"ConnectWise private key":          cw.PrivateKey,
		"ConnectWise basic credentials":    base64.StdEncoding.EncodeToString([]byte(cw.CompanyID + "+" + cw.PublicKey + ":" + cw.PrivateKey)),
		"backup API key":                   bkemu.DemoAPIKey,
		"licence portal token":             liemu.DemoAPIToken,
		"gauge client secret":              gaemu.DemoClientSecret,
		"gauge basic credentials":          base64.StdEncoding.EncodeToString([]byte(gaemu.DemoClientID + ":" + gaemu.DemoClientSecret)),
		"admin API token":                  s.adminToken,
		"approver API token":               s.approverToken,
		"viewer API token":                 s.viewerToken,
		"unknown token sent by a stranger": "mbt_" + strings.Repeat("Zq", 21) + "x",
	}

	// 1. A publish cycle, approved and pushed.
	run := s.publish(nil)
	eventually(t, 30*time.Second, "pending updates", func() bool { return len(s.pendingOf(s.tenantID)) == 3 })
	call("POST", s.tp+"/pending/approve", s.approverToken, map[string]any{"all": true}, http.StatusOK)
	require.Equal(t, billing.Completed, s.waitCycle(run, 60*time.Second).Status)

	// 2. The backup service refuses the key: the next cycle fails, and says why. Its
	// notification goes to a chat webhook that carries its secret in the path (as Slack's
	// do) and cannot be reached, so that failure is recorded and retried too.
	hookSecret := "T0B0-hook-s3cret-0123456789"
	s.patchSettings(`{"settings": {"notify": {"webhook_url": "http://127.0.0.1:1/services/` + hookSecret + `"}}}`)
	s.world.Backup.Faults().Set(fault.Settings{RejectCredentials: true})
	failed := s.publish(nil)
	s.waitStatus(failed, billing.Failed, 60*time.Second) // its run keeps retrying the webhook
	s.world.Backup.Faults().Set(fault.Settings{})

	// 3. A licence refresh and a metric sync use the other two vendors' credentials.
	call("POST", s.tp+"/refresh", s.approverToken, nil, http.StatusAccepted)
	metric := call("POST", s.tp+"/metrics", s.approverToken, map[string]any{"name": "Open tickets", "owner_email": "ann@demo-msp.example",
		"time_zone": "Europe/London", "gauge_id": gaemu.DemoGaugeOpenTickets}, http.StatusCreated)
	metricID := metric["metric"].(map[string]any)["id"].(string)
	eventually(t, 30*time.Second, "the metric's first value", func() bool {
		cs, err := s.store.ListCheckins(context.Background(), s.tenantID, metricID, 0)
		return err == nil && len(cs) == 1
	})
	call("POST", s.tp+"/metrics/"+metricID+"/sync", s.approverToken, nil, http.StatusOK)

	// 4. Connection tests, with the stored credentials and with refused ones.
	call("POST", s.tp+"/psa/test", s.approverToken, nil, http.StatusOK)
	s.world.Licences.Faults().Set(fault.Settings{RejectCredentials: true})
	call("POST", s.tp+"/sources/licenses/test", s.approverToken, nil, http.StatusOK)
	s.world.Licences.Faults().Set(fault.Settings{})

	// 5. Credentials replaced through the API, and read back.
	newKey := "bk-rotated-" + strings.Repeat("7", 24)
	secretsToFind["backup API key set through the API"] = newKey
	call("PUT", s.tp+"/sources/backup", s.adminToken, map[string]any{"credentials": map[string]any{"base_url": s.urls.Backup, "api_key": newKey}}, http.StatusOK)
	call("POST", s.tp+"/sources/backup/test", s.approverToken, nil, http.StatusOK) // the emulator refuses the new key
	call("GET", s.tp, s.viewerToken, nil, http.StatusOK)
	call("GET", s.tp+"/dashboard", s.viewerToken, nil, http.StatusOK)
	call("GET", s.tp+"/history", s.viewerToken, nil, http.StatusOK)

	// 6. API tokens: created (the one answer that holds the secret is kept out of the
	// search), listed, misused.
	var created struct {
		Secret string `json:"secret"`
	}
	require.Equal(t, http.StatusCreated, s.call("POST", "/api/v1/tokens", s.adminToken,
		map[string]any{"role": "approver", "tenant_id": s.tenantID, "owner_email": "new@demo-msp.example"}, &created))
	secretsToFind["API token created through the API"] = created.Secret
	call("GET", "/api/v1/tokens", s.adminToken, nil, http.StatusOK)
	call("GET", s.tp+"/tokens", s.approverToken, nil, http.StatusOK)
	call("GET", "/api/v1/audit", s.adminToken, nil, http.StatusOK)
	call("GET", s.tp, secretsToFind["unknown token sent by a stranger"], nil, http.StatusUnauthorized)

	// Wait for the refresh and the metric sync to finish their work.
	ctx := context.Background()
	eventually(t, 30*time.Second, "the webhook failure to be recorded", func() bool {
		for _, a := range s.historyActions() {
			if a == "notify.failed" {
				return true
			}
		}
		return false
	})
	workflows := s.testWorkflows(ctx)
	require.GreaterOrEqual(t, len(workflows), 4, "two publish cycles, a licence cycle and a metric loop")

	var history strings.Builder
	for _, wf := range workflows {
		it := s.temporal.GetWorkflowHistory(ctx, wf.WorkflowId, wf.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			b, err := protojson.Marshal(ev)
			require.NoError(t, err)
			history.Write(b)
			history.WriteByte('\n')
			payloadText(ev.ProtoReflect(), &history)
		}
		// A retrying activity's last failure is not an event yet: it is in the description.
		desc, err := s.temporal.DescribeWorkflowExecution(ctx, wf.WorkflowId, wf.RunId)
		require.NoError(t, err)
		b, err := protojson.Marshal(desc)
		require.NoError(t, err)
		history.Write(b)
		payloadText(desc.ProtoReflect(), &history)
	}
	require.Contains(t, history.String(), "credentials", "the failed cycle's reason must be in its history (is the scan reading failures?)")
	require.Contains(t, history.String(), s.tenantID, "payloads must be decoded for the search")

	db := s.readableRows(ctx)
	// The webhook URL is a setting (shown to the tenant's people and stored in tenants); it
	// must not spread from there into failures, history rows or logs.
	for where, text := range map[string]string{"workflow history": history.String(), "logs": logs.String(), "database outside the tenant's settings": s.readableRows(ctx, "tenants")} {
		require.NotContains(t, text, hookSecret, "the webhook's secret path appears in the %s", where)
	}
	require.Contains(t, s.readableRows(ctx), "webhook to http://127.0.0.1:1:", "the webhook failure names its host")
	logText := logs.String()
	require.Contains(t, logText, "http request", "the API's log must be captured")
	for what, secret := range secretsToFind {
		require.NotEmpty(t, secret, what)
		for where, text := range map[string]string{"workflow history": history.String(), "logs": logText, "database": db, "API answers": answers.String()} {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("the %s appears in the %s: …%s…", what, where, text[max(0, i-200):min(len(text), i+len(secret)+50)])
			}
		}
	}
}

// syncBuffer is a log destination safe for the worker's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// captureLogs sends every log line of the stack — Temporal client and worker, activities,
// API — at debug level into one buffer. Call it before startWorker.
func (s *stack) captureLogs() *syncBuffer {
	s.t.Helper()
	buf := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := temporalenv.Server(s.t)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: tlog.NewStructuredLogger(logger)})
	require.NoError(s.t, err)
	s.t.Cleanup(c.Close)
	s.temporal = c
	s.starter.Temporal = c
	s.acts.Logger = logger
	s.restartAPI(func(d *api.Deps) { d.Temporal, d.Logger = c, logger })
	return buf
}

// testWorkflows lists every workflow run on the test's task queue.
func (s *stack) testWorkflows(ctx context.Context) []*commonpb.WorkflowExecution {
	s.t.Helper()
	var out []*commonpb.WorkflowExecution
	seen := map[string]bool{}
	eventually(s.t, 30*time.Second, "the test's workflows to be listed", func() bool {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = %q", s.taskQueue), PageSize: 1000,
		})
		require.NoError(s.t, err)
		for _, e := range resp.GetExecutions() {
			key := e.GetExecution().GetWorkflowId() + "/" + e.GetExecution().GetRunId()
			if !seen[key] {
				seen[key] = true
				out = append(out, e.GetExecution())
			}
		}
		return len(out) >= 4
	})
	return out
}

// payloadText appends the decoded data of every Payload inside m (protojson shows payload
// data only as base64).
func payloadText(m protoreflect.Message, out *strings.Builder) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		out.Write(p.GetData())
		out.WriteByte('\n')
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				payloadText(v.List().Get(i).Message(), out)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				payloadText(mv.Message(), out)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			payloadText(v.Message(), out)
		}
		return true
	})
}

// readableRows dumps every table except the sealed secrets column and token hashes.
func (s *stack) readableRows(ctx context.Context, except ...string) string {
	s.t.Helper()
	pool := s.store.Pool()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	require.NoError(s.t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(s.t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(s.t, rows.Err())
	var b strings.Builder
	for _, table := range tables {
		if slices.Contains(except, table) {
			continue
		}
		var dump *string
		// The sealed secret and the token hash are bytes, not text: they are what at rest means.
		q := fmt.Sprintf(`SELECT string_agg((to_jsonb(t) - 'secret' - 'secret_hash')::text, E'\n') FROM %q t`, table)
		require.NoError(s.t, pool.QueryRow(ctx, q).Scan(&dump))
		if dump != nil {
			b.WriteString(*dump)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// pendingOf lists a tenant's pending updates.
func (s *stack) pendingOf(tenantID string) []store.Item {
	s.t.Helper()
	items, err := s.store.PendingItems(context.Background(), tenantID, false)
	require.NoError(s.t, err)
	return items
}
