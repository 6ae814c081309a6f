package egress_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/testenv/fakedns"
	"github.com/meterbridge/meterbridge/remote/egress"
)

func strict(t *testing.T, o egress.Options) *egress.Policy {
	return egress.GuardTestConnections(t, egress.New(o))
}

func allowPrivate(t *testing.T) *egress.Policy {
	return egress.GuardTestConnections(t, egress.New(egress.Options{AllowPrivate: true}))
}

// Addresses are only classified here; nothing connects to them.
func TestPolicyRefusesMetadataPrivateAndSpecialAddresses(t *testing.T) {
	cases := []struct {
		addr string
		// strictOK and privateOK: allowed by the production policy, and with
		// METERBRIDGE_ALLOW_PRIVATE_TARGETS on.
		strictOK, privateOK bool
		reason              string
	}{
		{"169.254.169.254", false, false, "cloud metadata"},
		{"::ffff:169.254.169.254", false, false, "cloud metadata"},
		{"fd00:ec2::254", false, false, "cloud metadata"},
		{"168.63.129.16", false, false, "cloud metadata"},
		{"100.100.100.200", false, false, "cloud metadata"},
		{"169.254.1.1", false, false, "link-local"},
		{"fe80::1", false, false, "link-local"},
		{"10.0.0.5", false, true, "private"},
		{"172.16.4.2", false, true, "private"},
		{"192.168.1.10", false, true, "private"},
		{"::ffff:10.0.0.5", false, true, "private"},
		{"fd12:3456::1", false, true, "private"},
		{"100.64.0.1", false, true, "carrier-grade NAT"},
		{"127.0.0.1", false, true, "loopback"},
		{"127.8.9.10", false, true, "loopback"},
		{"::1", false, true, "loopback"},
		{"::ffff:127.0.0.1", false, true, "loopback"},
		{"0.0.0.0", false, false, "unspecified"},
		{"::", false, false, "unspecified"},
		{"224.0.0.1", false, false, "multicast"},
		{"ff02::1", false, false, "multicast"},
		{"255.255.255.255", false, false, "special-purpose"},
		{"64:ff9b::7f00:1", false, false, "special-purpose"}, // NAT64 of 127.0.0.1
		{"2002:7f00:1::", false, false, "special-purpose"},   // 6to4 of 127.0.0.1
		{"198.18.0.1", false, false, "special-purpose"},
		{"8.8.8.8", true, true, ""},
		{"2606:4700:4700::1111", true, true, ""},
	}
	prod, dev := egress.Strict(), egress.New(egress.Options{AllowPrivate: true})
	for _, tc := range cases {
		a := netip.MustParseAddr(tc.addr)
		for _, p := range []struct {
			name   string
			policy *egress.Policy
			ok     bool
		}{{"strict", prod, tc.strictOK}, {"allow-private", dev, tc.privateOK}} {
			err := p.policy.CheckAddr(a)
			if p.ok {
				assert.NoError(t, err, "%s policy, %s", p.name, tc.addr)
				continue
			}
			var re *egress.RefusedError
			if assert.True(t, errors.As(err, &re), "%s policy let %s through", p.name, tc.addr) {
				assert.Contains(t, re.Reason, tc.reason, "%s policy, %s", p.name, tc.addr)
			}
		}
	}
}

func TestPolicyChecksURLsBeforeAnyConnection(t *testing.T) {
	cases := []struct {
		url                 string
		strictOK, privateOK bool
	}{
		{"https://api-na.myconnectwise.net", true, true},
		{"https://webservices.autotask.net/atservicesrest", true, true},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://[fd00:ec2::254]/latest/meta-data/", false, false},
		{"https://[::ffff:169.254.169.254]/", false, false},
		{"https://metadata.google.internal/computeMetadata/v1/", false, false},
		{"https://10.1.2.3/v4_6_release", false, true},
		{"https://127.0.0.1:8443", false, true},
		{"https://localhost:8443", false, true},
		{"https://psa.localhost", false, true},
		{"http://127.0.0.1:8091", false, true},
		{"http://localhost:8091", false, true},
		{"http://[::1]:8091", false, true},
		// Plain http is for this machine's emulators only, never across a network.
		{"http://10.1.2.3", false, false},
		{"http://api.example.com", false, false},
		{"ftp://api.example.com", false, false},
		{"https://user:pass@api.example.com", false, false},
		{"/relative", false, false},
	}
	prod, dev := egress.Strict(), egress.New(egress.Options{AllowPrivate: true})
	for _, tc := range cases {
		if err := prod.CheckURL(tc.url); tc.strictOK {
			assert.NoError(t, err, "strict %s", tc.url)
		} else {
			assert.Error(t, err, "strict let %s through", tc.url)
		}
		if err := dev.CheckURL(tc.url); tc.privateOK {
			assert.NoError(t, err, "allow-private %s", tc.url)
		} else {
			assert.Error(t, err, "allow-private let %s through", tc.url)
		}
	}
}

// counting is a test server that counts the requests it gets.
type counting struct {
	*httptest.Server
	hits atomic.Int64
	last atomic.Pointer[http.Header]
}

func newCounting(t *testing.T, h http.HandlerFunc) *counting {
	c := &counting{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		hdr := r.Header.Clone()
		c.last.Store(&hdr)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	t.Cleanup(c.Close)
	return c
}

func refused(t *testing.T, err error) *egress.RefusedError {
	t.Helper()
	var re *egress.RefusedError
	require.True(t, errors.As(err, &re), "want a refusal of the outbound policy, got %v", err)
	return re
}

// A name that resolves to loopback is refused when the connection is made, after DNS, so a
// name that pointed somewhere public when it was saved cannot be rebound to an internal
// address later.
func TestHostnameResolvingToLoopbackIsRefusedWhenConnecting(t *testing.T) {
	srv := newCounting(t, nil)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	resolver := fakedns.Resolver(t, map[string][]string{"psa.rebound.test": {"127.0.0.1"}})
	p := strict(t, egress.Options{Resolver: resolver})
	target := "https://psa.rebound.test:" + port + "/v4_6_release/apis/3.0/system/info"
	require.NoError(t, p.CheckURL(target), "the name itself says nothing; only its address does")

	_, err := p.Client(5 * time.Second).Get(target)
	re := refused(t, err)
	assert.Equal(t, "127.0.0.1", re.Target)
	assert.Contains(t, re.Reason, "loopback")
	assert.Zero(t, srv.hits.Load(), "the server behind the name was reached")

	// With private targets allowed the same name connects (and then fails the TLS handshake
	// with the plain test server): the refusal above was the policy's.
	_, err = strict(t, egress.Options{Resolver: resolver, AllowPrivate: true}).Client(5 * time.Second).Get(target)
	require.Error(t, err)
	var re2 *egress.RefusedError
	assert.False(t, errors.As(err, &re2), "allowed policy still refused: %v", err)
}

func TestRedirectToAnInternalAddressIsRefused(t *testing.T) {
	for _, to := range []string{
		"https://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"https://10.0.0.7/admin",
		"http://metadata.google.internal/computeMetadata/v1/",
	} {
		first := newCounting(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		})
		_, err := allowPrivate(t).Client(5 * time.Second).Get(first.URL + "/v1/usage")
		refused(t, err)
		assert.EqualValues(t, 1, first.hits.Load(), to)
	}
}

func TestCrossHostRedirectCarryingAnAPIKeyIsRefused(t *testing.T) {
	second := newCounting(t, nil)
	secondURL := strings.Replace(second.URL, "127.0.0.1", "localhost", 1) // another host
	first := newCounting(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, secondURL+"/collect", http.StatusTemporaryRedirect)
	})
	req, _ := http.NewRequest(http.MethodGet, first.URL+"/v1/usage", nil)
	req.Header.Set("X-Api-Key", "backup-api-key-0123456789")
	_, err := allowPrivate(t).Client(5 * time.Second).Do(req)
	re := refused(t, err)
	assert.Contains(t, re.Reason, "redirect away from")
	assert.Zero(t, second.hits.Load(), "the second host was called")
}

// Within one host a redirect is followed, but without the request's credentials.
func TestCredentialsNeverFollowARedirect(t *testing.T) {
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/landing", http.StatusTemporaryRedirect)
			return
		}
		_, _ = io.WriteString(w, "{}")
	})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/start", nil)
	creds := map[string]string{
		"Authorization":      "Basic Y29tcGFueStwdWJsaWM6cHJpdmF0ZQ==",
		"X-Api-Key":          "backup-api-key-0123456789",
		"clientId":           "2d3b8a4e-6f1c-4b59-9a0e-7c5d1e2f3a40",
		"ApiIntegrationCode": "INTEGRATION-CODE-1",
		"UserName":           "api@msp.example",
		"Secret":             "autotask-secret-1",
	}
	for k, v := range creds {
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := allowPrivate(t).Client(5 * time.Second).Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.EqualValues(t, 2, srv.hits.Load())
	landed := *srv.last.Load()
	for k := range creds {
		assert.Empty(t, landed.Get(k), "%s followed the redirect", k)
	}
	assert.Equal(t, "application/json", landed.Get("Accept"), "ordinary headers are kept")
}
