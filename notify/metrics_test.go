package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/telemetry"
)

// Webhook calls are counted with the PSA and vendor calls, by status, without their URL.
func TestWebhookCallsAreCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	count := func(status string) float64 {
		return telemetry.Value("meterbridge_outbound_request_duration_seconds", "service", "webhook", "method", "POST", "status", status)
	}
	ok0, down0 := count("204"), count("502")
	n := New(SMTPConfig{}, egress.New(egress.Options{AllowPrivate: true}))
	require.NoError(t, n.Webhook(context.Background(), srv.URL+"/T0/B0/secret", map[string]any{"status": "completed"}))
	require.Error(t, n.Webhook(context.Background(), srv.URL+"/down", map[string]any{}))
	require.Equal(t, ok0+1, count("204"))
	require.Equal(t, down0+1, count("502"))
}
