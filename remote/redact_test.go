package remote

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// chain returns the text of err and of every cause Temporal's failure converter would record
// (it walks errors.Unwrap).
func chain(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString("\n")
	}
	return b.String()
}

func TestErrorsNeverCarryTheRequestCredentials(t *testing.T) {
	const apiKey = "k3y-0f-the-backup-service"
	const private = "cw-private-key-1234567890"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("msp+public:"+private))
	// A broken proxy echoes what it received, headers included.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "bad request; you sent X-Api-Key "+r.Header.Get("X-Api-Key")+
			" and "+r.Header.Get("Authorization")+" secret="+private+" for "+r.URL.String())
	}))
	defer echo.Close()

	s := NewSender("test", loopbackClient())
	s.Policy.MaxAttempts = 1
	_, err := s.Do(context.Background(), Request{
		Method: http.MethodGet, URL: echo.URL + "/v1/usage?api_key=" + apiKey + "&period=2026-01",
		Header: http.Header{"X-Api-Key": {apiKey}, "Authorization": {basic}}, Idempotent: true,
	}, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	text := chain(err)
	for _, secret := range []string{apiKey, private, basic, strings.TrimPrefix(basic, "Basic ")} {
		if strings.Contains(text, secret) {
			t.Errorf("error carries %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "GET "+echo.URL+"/v1/usage") {
		t.Errorf("the call is no longer named: %s", text)
	}
	if KindOf(err) != Invalid {
		t.Errorf("kind %q, want invalid", KindOf(err))
	}
}

func TestTransportErrorsLoseUserInfoAndQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens: the call fails before any response
	s := NewSender("test", loopbackClient())
	s.Policy.MaxAttempts = 1
	_, err = s.Do(context.Background(), Request{
		Method: http.MethodGet, URL: "http://user:hunter2-password@" + addr + "/v1/me?token=0123456789abcdef0123", Idempotent: true,
	}, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	text := chain(err)
	for _, secret := range []string{"hunter2-password", "0123456789abcdef0123", "user:"} {
		if strings.Contains(text, secret) {
			t.Errorf("error carries %q:\n%s", secret, text)
		}
	}
	if KindOf(err) != Unavailable {
		t.Errorf("kind %q, want unavailable", KindOf(err))
	}
}

func TestRedactedCausesStillAnswerErrorsIs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewSender("test", loopbackClient())
	_, err := s.Do(ctx, Request{Method: http.MethodGet, URL: "http://127.0.0.1:1/x", Idempotent: true}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(context.Canceled) lost: %v", err)
	}
}

func TestRedactTextKeepsOrdinaryMessages(t *testing.T) {
	for in, want := range map[string]string{
		"private_key: must not be empty":           "private_key: must not be empty",
		"field Secret is required":                 "field Secret is required",
		`{"api_key": "abcdef123456"}`:              `{"api_key": "[redacted]"}`,
		"api_key=abcdef123456&x=1":                 "api_key=[redacted]&x=1",
		"Authorization: Bearer eyJhbGciOiJIUzI1Ni": "Authorization: Bearer [redacted]",
		"company 12 not found":                     "company 12 not found",
	} {
		if got := RedactText(in); got != want {
			t.Errorf("RedactText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@api.example.com/v1/usage?key=1#f": "https://api.example.com/v1/usage",
		"http://127.0.0.1:8093/v1/usage":               "http://127.0.0.1:8093/v1/usage",
		"%zz?secret=1":                                 "%zz",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedactText checks redaction never panics and always removes the secrets it is given.
func FuzzRedactText(f *testing.F) {
	f.Add("error: key abcdef123456 refused", "abcdef123456")
	f.Add("Bearer xyzxyzxyzxyz", "xyzxyzxyzxyz")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, msg, secret string) {
		out := RedactText(msg, secret)
		// A secret sharing no byte with the mark (or with what the credential pattern keeps)
		// cannot be rebuilt by the replacements, so it must be gone.
		if len(secret) >= minSecretLen && !strings.ContainsAny(secret, "[]redacted :=\"'") && strings.Contains(out, secret) {
			t.Fatalf("RedactText(%q, %q) = %q still holds the secret", msg, secret, out)
		}
	})
}

// FuzzParseRetryAfter and FuzzParseDecimal cover the parsers of outside headers and numbers.
func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("-1")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if ok && d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, negative", v, d)
		}
	})
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"310.2", "-2.50", "1e3", "1e999999999", "0.000001", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			return
		}
		// Accepted values print in bounded space and read back equal.
		out := d.String()
		if len(out) > 200 {
			t.Fatalf("ParseDecimal(%q) prints %d characters", s, len(out))
		}
		back, err := ParseDecimal(out)
		if err != nil || !back.Equal(d) {
			t.Fatalf("ParseDecimal(%q) = %s does not round-trip: %v", s, out, err)
		}
	})
}
