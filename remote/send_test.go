package remote

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterbridge/meterbridge/remote/egress"
)

// loopbackClient reaches the tests' own servers, as the dev stack's clients reach the
// emulators (METERBRIDGE_ALLOW_PRIVATE_TARGETS).
func loopbackClient() *http.Client {
	return egress.New(egress.Options{AllowPrivate: true}).Client(5 * time.Second)
}

// Without a client of their own, senders keep to the strict outbound policy; a refused
// destination is neither sent to nor retried.
func TestSenderRefusesPrivateDestinationsWithoutRetrying(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s := NewSender("backup", nil)
	slept := 0
	s.Sleep = func(context.Context, time.Duration) error { slept++; return nil }
	_, err := s.Do(context.Background(), Request{Method: http.MethodGet, URL: srv.URL + "/v1/usage", Idempotent: true}, nil)
	if KindOf(err) != Refused {
		t.Fatalf("kind %q (%v), want refused", KindOf(err), err)
	}
	if hits.Load() != 0 || slept != 0 {
		t.Fatalf("server hit %d times, %d retries", hits.Load(), slept)
	}
	if !strings.Contains(err.Error(), "outbound policy refuses") {
		t.Errorf("the refusal does not say why: %v", err)
	}
}

// An answer that is not the service's own error format is described, never quoted: whoever
// can point a connection at an address must not read what answers there.
func TestUnexpectedAnswersAreDescribedNotQuoted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "<html>router admin: wifi password hunter2</html>")
	}))
	defer srv.Close()
	s := NewSender("backup", loopbackClient())
	_, err := s.Do(context.Background(), Request{Method: http.MethodGet, URL: srv.URL, Idempotent: true}, nil)
	if err == nil || strings.Contains(chain(err), "hunter2") || strings.Contains(chain(err), "router") {
		t.Fatalf("the body was quoted: %v", err)
	}
	if !strings.Contains(err.Error(), "unexpected answer: HTTP 403 Forbidden, text/html, 48 bytes (not shown)") {
		t.Errorf("the answer is not described: %v", err)
	}
}
