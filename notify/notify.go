// Package notify delivers messages about cycles: e-mail through SMTP (wneessen/go-mail, a
// maintained library that handles STARTTLS, implicit TLS, AUTH and RFC 5322 encoding) and a
// JSON post to a webhook for chat tools.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/telemetry"
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Addr     string // host:port
	Username string
	Password string
	From     string
	// TLS is "starttls" (required), "tls" (implicit) or "none" (loopback servers only).
	TLS     string
	Timeout time.Duration
}

// Notifier sends e-mail and webhooks.
type Notifier struct {
	smtp   SMTPConfig
	policy *egress.Policy
	http   *http.Client
}

// New returns a notifier whose webhooks keep to the outbound policy (nil: the strict
// production policy); an empty SMTP address disables e-mail (Email then fails clearly).
func New(smtp SMTPConfig, policy *egress.Policy) *Notifier {
	if policy == nil {
		policy = egress.Strict()
	}
	if smtp.Timeout == 0 {
		smtp.Timeout = 30 * time.Second
	}
	hc := policy.Client(15 * time.Second)
	// A webhook answers itself; a redirect is not followed (its 3xx is a failure).
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Notifier{smtp: smtp, policy: policy, http: hc}
}

// ErrNoSMTP means e-mail was asked for but no SMTP server is configured.
var ErrNoSMTP = errors.New("no SMTP server configured (set METERBRIDGE_SMTP_ADDR)")

// Email sends one plain-text message to the recipients.
func (n *Notifier) Email(ctx context.Context, to []string, subject, text string) error {
	if n.smtp.Addr == "" {
		return ErrNoSMTP
	}
	host, portStr, err := net.SplitHostPort(n.smtp.Addr)
	if err != nil {
		return fmt.Errorf("SMTP address %q: %w", n.smtp.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("SMTP port %q: %w", portStr, err)
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(n.smtp.Timeout)}
	switch n.smtp.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPortPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	}
	if n.smtp.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(n.smtp.Username), mail.WithPassword(n.smtp.Password))
	}
	// WithTLSPortPolicy picks a default port; the configured one wins.
	opts = append(opts, mail.WithPort(port))
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("SMTP client: %w", err)
	}
	m := mail.NewMsg()
	if err := m.From(n.smtp.From); err != nil {
		return fmt.Errorf("sender %q: %w", n.smtp.From, err)
	}
	if err := m.To(to...); err != nil {
		return fmt.Errorf("recipients: %w", err)
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, text)
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("send mail via %s: %w", n.smtp.Addr, err)
	}
	return nil
}

// Webhook posts payload as JSON to a URL the outbound policy allows (checked again at
// connect time); the answer must be 2xx, and redirects are not followed.
func (n *Notifier) Webhook(ctx context.Context, url string, payload any) error {
	if err := n.policy.CheckURL(url); err != nil {
		var re *egress.RefusedError
		if errors.As(err, &re) {
			return fmt.Errorf("webhook: %w", err)
		}
		return errors.New("webhook URL is not usable")
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "meterbridge")
	// Counted like PSA and vendor calls, but not traced: a chat webhook's secret is in its
	// path, which a span would record.
	start := time.Now()
	resp, err := n.http.Do(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	telemetry.OutboundRequest("webhook", http.MethodPost, status, time.Since(start))
	if err != nil {
		// Chat webhooks (Slack, Teams) carry their secret in the path: name only the host,
		// since this error is stored in site history and workflow failures.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook to %s: %w", webhookHost(url), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook at %s answered %s", webhookHost(url), resp.Status)
	}
	return nil
}

// webhookHost is what an error may say about a webhook URL: its scheme and host.
func webhookHost(u string) string {
	p, err := neturl.Parse(u)
	if err != nil || p.Host == "" {
		return "the configured URL"
	}
	return p.Scheme + "://" + p.Host
}
