package remote

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Errors of outside calls travel far: activities turn them into Temporal failures (stored in
// workflow history, shown in the Web UI), cycle errors, item reasons, site history and logs.
// So an *Error that leaves Do never carries the credentials of the request that failed:
// every value of a credential header is cut out of its text (a service or proxy that echoes
// the Authorization header cannot leak it), and URLs lose their user info and query.

// Redacted replaces a cut-out secret.
const Redacted = "[redacted]"

// credentialHeaders are request headers whose values are secrets (canonical names).
var credentialHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Api-Key", "Api-Key", "Apikey",
	// Autotask sends its API user's secret and the integration code as headers.
	"Secret", "Apiintegrationcode",
}

// minSecretLen keeps a short header value (or an empty one) from blanking ordinary words.
const minSecretLen = 6

// headerSecrets lists the secret strings a request carries in its headers, the decoded parts
// of Basic credentials included, longest first.
func headerSecrets(h http.Header) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= minSecretLen {
			out = append(out, s)
		}
	}
	for _, name := range credentialHeaders {
		for _, v := range h.Values(name) {
			add(v)
			scheme, cred, ok := strings.Cut(v, " ")
			if !ok {
				continue
			}
			add(cred)
			if strings.EqualFold(scheme, "Basic") {
				if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
					add(string(raw))
					if _, pass, ok := strings.Cut(string(raw), ":"); ok {
						add(pass)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// credentialText catches credentials a message spells out even when they are not the
// request's own (a service echoing a stale key, "api_key=..." in a proxy page).
var credentialText = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}|\b(api[_-]?key|apikey|client[_-]?secret|private[_-]?key|access[_-]?token|password|secret)(["']?\s*[:=]\s*["']|["']?[:=])[^\s"'&,;}]{4,}`)

// RedactText removes the given secrets and anything that reads like a credential from s.
func RedactText(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return credentialText.ReplaceAllStringFunc(s, func(m string) string {
		sub := credentialText.FindStringSubmatch(m)
		if sub[1] != "" {
			return sub[1] + " " + Redacted
		}
		return sub[2] + sub[3] + Redacted
	})
}

// RedactURL returns u without user info, query and fragment, so it can name a call in an
// error: "https://api.example.com/v1/usage".
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// Not a URL we can take apart: keep only what comes before a query or user info.
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		if i := strings.LastIndex(u, "@"); i >= 0 {
			u = u[i+1:]
		}
		return u
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}

// redactError makes e safe to store and show: the request's header secrets and
// credential-looking text are cut from every field, and the cause chain is replaced by one
// error of the same text, so Temporal's failure converter (which records each cause's
// message) finds nothing more in it. errors.Is still sees the original cause.
func redactError(e *Error, r Request) *Error {
	if e == nil {
		return nil
	}
	secrets := headerSecrets(r.Header)
	if r.URL != "" {
		if p, err := url.Parse(r.URL); err == nil {
			if pw, ok := p.User.Password(); ok {
				secrets = append(secrets, pw)
			}
			for _, vs := range p.Query() {
				for _, v := range vs {
					if looksSecret(v) {
						secrets = append(secrets, v)
					}
				}
			}
		}
	}
	cp := *e
	cp.Op = RedactText(cp.Op, secrets...)
	cp.Code = RedactText(cp.Code, secrets...)
	cp.Field = RedactText(cp.Field, secrets...)
	cp.Message = RedactText(cp.Message, secrets...)
	if cp.Err != nil {
		cp.Err = &redactedCause{msg: RedactText(transportText(cp.Err), secrets...), err: cp.Err}
	}
	return &cp
}

// transportText is err's text with the URL of a *url.Error (what http.Client.Do returns)
// shortened by RedactURL.
func transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		u := *ue
		u.URL = RedactURL(u.URL)
		return u.Error()
	}
	return err.Error()
}

// looksSecret guesses whether a query value is a credential: long and free of spaces.
func looksSecret(v string) bool { return len(v) >= 16 && !strings.ContainsAny(v, " /") }

// redactedCause stands in for a cause whose text may hold secrets. It answers errors.Is for
// the original (context.Canceled, context.DeadlineExceeded) but neither unwraps to it nor
// hands it out through errors.As, so nothing can reach the unredacted text.
type redactedCause struct {
	msg string
	err error
}

func (r *redactedCause) Error() string        { return r.msg }
func (r *redactedCause) Is(target error) bool { return errors.Is(r.err, target) }
