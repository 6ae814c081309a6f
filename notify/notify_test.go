package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meterbridge/meterbridge/dev/emulators/mailsink"
	"github.com/meterbridge/meterbridge/remote/egress"
)

func TestEmailReachesTheSMTPServer(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	n := New(SMTPConfig{Addr: sink.SMTPAddr(), From: "meterbridge@msp.example", TLS: "none"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Email(ctx, []string{"ann@msp.example", "bob@msp.example"}, "usage publish 2026-11 completed", "Applied: 3\nFailed: 0\n"); err != nil {
		t.Fatal(err)
	}
	msgs, err := sink.WaitFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Subject != "usage publish 2026-11 completed" || len(m.To) != 2 || !strings.Contains(m.Text, "Applied: 3") {
		t.Fatalf("received %+v", m)
	}
}

func TestEmailWithoutSMTPServerFailsClearly(t *testing.T) {
	err := New(SMTPConfig{}, nil).Email(context.Background(), []string{"a@b.example"}, "s", "t")
	if err != ErrNoSMTP {
		t.Fatalf("err = %v", err)
	}
}

func TestWebhookPostsJSONAndRefusesRedirectsAndPlainHTTP(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n := New(SMTPConfig{}, egress.New(egress.Options{AllowPrivate: true}))
	ctx := context.Background()
	if err := n.Webhook(ctx, srv.URL+"/hook", map[string]any{"status": "partial"}); err != nil {
		t.Fatal(err)
	}
	if got["status"] != "partial" {
		t.Fatalf("posted %v", got)
	}
	if err := n.Webhook(ctx, srv.URL+"/moved", map[string]any{}); err == nil {
		t.Fatal("a redirect was followed or accepted")
	}
	if err := n.Webhook(ctx, "http://chat.example/hook", map[string]any{}); err == nil {
		t.Fatal("plain http to a remote host was accepted")
	}
}

// The production policy refuses a webhook on loopback, a private network or a metadata
// address before anything is sent, and says so without the URL's secret path.
func TestWebhookToAnInternalAddressIsRefused(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	n := New(SMTPConfig{}, nil)
	for _, u := range []string{
		strings.Replace(srv.URL, "http://", "https://", 1) + "/services/XXXXsecretXXXX",
		"https://169.254.169.254/latest/meta-data/XXXXsecretXXXX",
		"https://10.0.0.8/hooks/XXXXsecretXXXX",
	} {
		err := n.Webhook(context.Background(), u, map[string]any{"x": 1})
		var refused *egress.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("%s: %v, want a refusal of the outbound policy", u, err)
		}
		if strings.Contains(err.Error(), "XXXXsecretXXXX") {
			t.Fatalf("the refusal names the secret path: %v", err)
		}
	}
	if hits != 0 {
		t.Fatalf("the loopback webhook was called %d times", hits)
	}
}

func TestWebhookErrorsNameOnlyTheHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens
	n := New(SMTPConfig{}, egress.New(egress.Options{AllowPrivate: true}))
	const secretPath = "/services/T000/B000/XXXXsecretXXXX"
	err = n.Webhook(context.Background(), "http://"+addr+secretPath+"?token=abc123", map[string]any{"x": 1})
	if err == nil {
		t.Fatal("want an error")
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "XXXXsecretXXXX") || strings.Contains(e.Error(), "abc123") {
			t.Fatalf("the webhook's secret path reached the error: %v", e)
		}
	}
	if !strings.Contains(err.Error(), "http://"+addr) {
		t.Fatalf("the error does not say which host: %v", err)
	}
}
