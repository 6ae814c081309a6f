package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meterbridge/meterbridge/telemetry"
)

// spans indexes what a span recorder saw.
type spans struct {
	all  []sdktrace.ReadOnlySpan
	byID map[trace.SpanID]sdktrace.ReadOnlySpan
}

func traceOf(rec *tracetest.SpanRecorder) spans {
	s := spans{all: rec.Ended(), byID: map[trace.SpanID]sdktrace.ReadOnlySpan{}}
	for _, sp := range s.all {
		s.byID[sp.SpanContext().SpanID()] = sp
	}
	return s
}

// server returns the HTTP server span of a route.
func (s spans) server(method, route string) sdktrace.ReadOnlySpan {
	for _, sp := range s.all {
		if sp.SpanKind() == trace.SpanKindServer && attr(sp, "http.route") == route && attr(sp, "http.request.method") == method {
			return sp
		}
	}
	return nil
}

// inTrace returns the spans of root's trace whose name starts with prefix.
func (s spans) inTrace(root sdktrace.ReadOnlySpan, prefix string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range s.all {
		if sp.SpanContext().TraceID() == root.SpanContext().TraceID() && strings.HasPrefix(sp.Name(), prefix) {
			out = append(out, sp)
		}
	}
	return out
}

// path names the spans from sp up to the trace's root: the chain a person follows in a
// trace viewer.
func (s spans) path(sp sdktrace.ReadOnlySpan) []string {
	var names []string
	for sp != nil {
		names = append(names, sp.Name())
		sp = s.byID[sp.Parent().SpanID()]
	}
	return names
}

func (s spans) names(root sdktrace.ReadOnlySpan) string {
	var out []string
	for _, sp := range s.inTrace(root, "") {
		out = append(out, sp.Name())
	}
	return strings.Join(out, ", ")
}

func attr(sp sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// With tracing on, one publish can be followed from its HTTP request through the workflow
// and its activities to the PSA's answer to each write, with the SQL of the activities on
// the way; and the approval request's trace reaches into the workflow that received it.
func TestOneRequestIsTracedFromHTTPThroughTheWorkflowToThePSAWrite(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	telemetry.UseTracerProvider(telemetry.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(telemetry.StopTracing)
	p := newProcess(t) // built with tracing on, as `meterbridge api` and `worker` are with OTEL_EXPORTER_OTLP_ENDPOINT

	id := p.publish(nil)
	var pending pendingAnswer
	eventually(t, 60*time.Second, "three pending updates", func() bool {
		p.call("GET", p.tp+"/pending", p.viewerToken, nil, &pending)
		return len(pending.Pending) == 3
	})
	require.Equal(t, http.StatusOK, p.call("POST", p.tp+"/pending/approve", p.approverToken, map[string]any{"all": true}, nil), "the cycle answers the approval")
	p.waitCycle(id, 60*time.Second)

	// The publish request's trace: HTTP → start → workflow → push activity → the PSA write.
	var s spans
	var writes []sdktrace.ReadOnlySpan
	var publish sdktrace.ReadOnlySpan
	eventually(t, 30*time.Second, "the PSA writes to be traced", func() bool {
		s = traceOf(rec)
		publish = s.server("POST", "/api/v1/tenants/:tenant/publish")
		if publish == nil {
			return false
		}
		writes = nil
		for _, sp := range s.inTrace(publish, "connectwise ") {
			if sp.SpanKind() == trace.SpanKindClient && attr(sp, "http.request.method") != "GET" {
				writes = append(writes, sp)
			}
		}
		return len(writes) >= 3
	})
	require.NotNil(t, publish, "no server span of the publish request")
	chain := strings.Join(s.path(writes[0]), " ← ")
	for _, want := range []string{"RunActivity:PushPage", "StartActivity:PushPage", "RunWorkflow:BillingCycle", "StartWorkflow:BillingCycle"} {
		require.Contains(t, chain, want, "the PSA write's ancestry")
	}
	t.Logf("a PSA write, up to its root: %s", chain)
	require.True(t, strings.HasSuffix(chain, publish.Name()), "the PSA write leads back to the HTTP request: %s", chain)
	require.Contains(t, attr(writes[0], "url.full"), "/finance/agreements/", "the write's URL")
	require.NotContains(t, attr(writes[0], "url.full"), "?", "URLs are recorded without their query")
	require.NotEmpty(t, s.inTrace(publish, "RunActivity:RefreshPage"), "the refresh is in the trace")
	var sql int
	for _, sp := range s.inTrace(publish, "") {
		if attr(sp, "db.system.name") == "postgresql" {
			sql++
		}
	}
	require.Positive(t, sql, "the activities' SQL is in the trace: %s", s.names(publish))

	// The approval request's trace: HTTP → the message to the workflow → the workflow's handler.
	approve := s.server("POST", "/api/v1/tenants/:tenant/pending/approve")
	require.NotNil(t, approve)
	var client, handler bool
	for _, sp := range s.inTrace(approve, "") {
		switch {
		case strings.HasPrefix(sp.Name(), "SignalWorkflow:"), strings.HasPrefix(sp.Name(), "UpdateWorkflow:"):
			client = true
		case strings.HasPrefix(sp.Name(), "HandleSignal:"), strings.HasPrefix(sp.Name(), "HandleUpdate:"), strings.HasPrefix(sp.Name(), "ValidateUpdate:"):
			handler = true
		}
	}
	require.True(t, client && handler, "the approval's trace reaches the workflow: %s", s.names(approve))
}
