package api

import "testing"

func TestWebhookURLsAreMaskedForNonAdmins(t *testing.T) {
	for in, want := range map[string]string{
		"": "",
		"https://hooks.slack.com/services/T000/B000/XXXXSECRET": "https://hooks.slack.com/…",
		"http://127.0.0.1:9000/hook?token=abc":                  "http://127.0.0.1:9000/…",
		"::not a url":                                           "(hidden)",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
