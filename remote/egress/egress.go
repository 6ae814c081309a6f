// Package egress is meterbridge's outbound policy: the one place that decides where a request
// to a URL a person typed (a PSA site, a vendor API, an OAuth token endpoint, ConnectWise's
// companyinfo, Autotask's zone discovery and the zone it names, a chat webhook) may go.
//
// The rules: https only; no loopback, private, shared (CGNAT), link-local, unspecified,
// multicast, reserved or cloud-metadata address, IPv4 and IPv6 alike (an IPv4 address
// mapped into IPv6 counts as the IPv4 address). Addresses are checked when the connection
// is made, after DNS resolution (a net.Dialer Control function), so a name that resolves
// somewhere harmless when a URL is saved and somewhere internal when it is used (DNS
// rebinding) is still refused. A redirect may not change scheme, host or port, and the
// credentials of a request (Authorization, API keys, ConnectWise's clientId, Autotask's
// ApiIntegrationCode, UserName and Secret) are dropped before any redirect is followed.
//
// AllowPrivate (METERBRIDGE_ALLOW_PRIVATE_TARGETS) lets loopback and private-network
// addresses through, and plain http to a loopback host: the dev stack and the tests run
// their emulators that way, and an on-premises PSA may live on the local network. Link-local
// and cloud-metadata addresses stay refused even then.
//
// Address ranges come from code.dny.dev/ssrf, which follows IANA's special-purpose address
// registries; the cloud-metadata addresses outside those ranges are added here.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Options configure a Policy.
type Options struct {
	// AllowPrivate lets requests reach loopback and private-network addresses, and loopback
	// hosts over plain http. Off in production; the dev stack and tests turn it on.
	AllowPrivate bool
	// Resolver resolves host names when connecting; nil means net.DefaultResolver. Tests
	// pass one that asks a DNS server of their own.
	Resolver *net.Resolver
}

// Policy decides where outbound requests may go and builds HTTP clients that keep to it.
// It is safe for concurrent use.
type Policy struct {
	allowPrivate bool
	resolver     *net.Resolver
	guard        *ssrf.Guardian
	// beforeConnect, when set (tests only), sees every address the policy let through just
	// before the socket connects.
	beforeConnect func(addr netip.AddrPort) error
}

// New returns the policy o describes.
func New(o Options) *Policy {
	opts := []ssrf.Option{ssrf.WithAnyPort()}
	if o.AllowPrivate {
		opts = append(opts,
			ssrf.WithAllowedV4Prefixes(privateV4...),
			ssrf.WithAllowedV6Prefixes(privateV6...))
	}
	return &Policy{allowPrivate: o.AllowPrivate, resolver: o.Resolver, guard: ssrf.New(opts...)}
}

// Strict returns the production policy: public https destinations only.
func Strict() *Policy { return New(Options{}) }

// AllowsPrivate reports whether loopback and private-network destinations are allowed.
func (p *Policy) AllowsPrivate() bool { return p.allowPrivate }

var (
	// privateV4 and privateV6 are what AllowPrivate lets through: loopback, RFC 1918, shared
	// address space (RFC 6598, used by carrier and cloud NATs), IPv6 loopback and unique
	// local addresses.
	privateV4 = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
	}
	privateV6 = []netip.Prefix{
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fc00::/7"),
	}
	// metadata are the instance-metadata services of cloud providers: always refused. Most
	// sit in ranges refused anyway (link-local, shared, unique local); Azure's WireServer is
	// a public address.
	metadata = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean, Oracle
		netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
		netip.MustParseAddr("169.254.169.123"), // AWS time service
		netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
		netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
		netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud (classic)
		netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
		netip.MustParseAddr("fd00:ec2::23"),    // AWS time service over IPv6
	}
	// metadataNames are host names of metadata services; refusing them by name gives a clear
	// answer when a URL is saved, before any resolution.
	metadataNames = []string{"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)

// RefusedError is a destination the policy does not allow.
type RefusedError struct {
	// Target is what was refused: a URL without user info and query, or an address.
	Target string
	// Reason says why, for people ("a private address", "plain http").
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("outbound policy refuses %s: %s", e.Target, e.Reason)
}

// ParseURL checks the form of a destination URL without applying the policy: absolute,
// http or https, with a host, without user info, at most 2048 characters.
func ParseURL(raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, errors.New("URL is longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return nil, errors.New("URL must not carry credentials")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("URL must use https")
	}
	return u, nil
}

// CheckURL reports whether raw may be sent to: its form (ParseURL), its scheme, and a host
// that is an address or a well-known name the policy refuses. Other host names are
// resolved only when a connection is made, where every address is checked again; so a URL
// that passes here can still be refused when used.
func (p *Policy) CheckURL(raw string) error {
	u, err := ParseURL(raw)
	if err != nil {
		return err
	}
	return p.checkURL(u)
}

func (p *Policy) checkURL(u *url.URL) error {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	target := u.Scheme + "://" + u.Host
	refuse := func(reason string) error { return &RefusedError{Target: target, Reason: reason} }
	loopbackName := host == "localhost" || strings.HasSuffix(host, ".localhost")
	addr, isAddr := parseHostAddr(host)
	switch u.Scheme {
	case "https":
	case "http":
		// Plain http only to this machine, and only where private targets are allowed (the
		// emulators of the dev stack and tests): credentials never cross a network in clear.
		if !p.allowPrivate || !(loopbackName || isAddr && addr.IsLoopback()) {
			return refuse("plain http; use https")
		}
	default:
		return refuse("only https is allowed")
	}
	for _, n := range metadataNames {
		if host == n {
			return refuse("a cloud metadata service")
		}
	}
	if loopbackName && !p.allowPrivate {
		return refuse("a loopback address")
	}
	if isAddr {
		if err := p.CheckAddr(addr); err != nil {
			return refuse(err.(*RefusedError).Reason)
		}
	}
	return nil
}

// parseHostAddr reads a host that is an IP address (zone dropped).
func parseHostAddr(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}

// CheckAddr reports whether the policy lets a connection reach addr.
func (p *Policy) CheckAddr(addr netip.Addr) error {
	// An IPv4 address mapped into IPv6 (::ffff:10.0.0.1) is that IPv4 address.
	a := addr.Unmap().WithZone("")
	for _, m := range metadata {
		if a == m {
			return &RefusedError{Target: a.String(), Reason: "a cloud metadata address"}
		}
	}
	if err := p.guard.SafeAddr(a); err != nil {
		return &RefusedError{Target: a.String(), Reason: describe(a)}
	}
	return nil
}

// describe names the kind of a refused address for people.
func describe(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(a):
		return "a shared (carrier-grade NAT) address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsMulticast():
		return "a multicast address"
	}
	return "a special-purpose address, not a public one"
}

// control is the net.Dialer Control function: it runs for every address a connection is
// about to reach, after resolution and before the handshake.
func (p *Policy) control(_ string, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Target: address, Reason: "not an address and port"}
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		return err
	}
	if p.beforeConnect != nil {
		return p.beforeConnect(ap)
	}
	return nil
}

// Transport returns an HTTP transport that keeps to the policy: every request's URL is
// checked (CheckURL) and every connection's address (CheckAddr). It does not use
// HTTP_PROXY or HTTPS_PROXY: through a proxy the policy could not see where a request goes.
func (p *Policy) Transport() http.RoundTripper {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Resolver:  p.resolver,
		Control:   p.control,
	}
	return &guarded{policy: p, next: &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
}

// guarded checks each request's URL before it reaches the transport.
type guarded struct {
	policy *Policy
	next   http.RoundTripper
}

func (g *guarded) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := g.policy.checkURL(r.URL); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(r)
}

// Client returns an HTTP client over Transport with the policy's redirect rule and the
// given overall timeout per request.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: p.Transport(), CheckRedirect: p.CheckRedirect, Timeout: timeout}
}

// CredentialHeaders are the request headers that identify or authenticate meterbridge to a
// service (canonical names). They are removed before a redirect is followed.
var CredentialHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Api-Key", "Api-Key", "Apikey",
	"Clientid",                                                            // ConnectWise
	"Apiintegrationcode", "Username", "Secret", "Impersonationresourceid", // Autotask
}

// maxRedirects bounds how many redirects one request follows.
const maxRedirects = 5

// CheckRedirect is the policy's http.Client.CheckRedirect: a redirect must stay on the
// first request's scheme, host and port and pass CheckURL, and it loses the request's
// credential headers (CredentialHeaders) before it is sent.
func (p *Policy) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host) {
		return &RefusedError{Target: req.URL.Scheme + "://" + req.URL.Host, Reason: "a redirect away from " + first.Scheme + "://" + first.Host}
	}
	if err := p.checkURL(req.URL); err != nil {
		return err
	}
	for _, h := range CredentialHeaders {
		req.Header.Del(h)
	}
	return nil
}
