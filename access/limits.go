package access

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// tokenLimiter gives each token its own request rate, and says when its use is due to be
// recorded (touchEvery).
type tokenLimiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   int
	byToken map[string]*rate.Limiter
	touched map[string]time.Time
}

// touchEvery is how often a token's last_used_at is written at most.
const touchEvery = time.Minute

func newTokenLimiter(perSec float64) *tokenLimiter {
	burst := int(perSec * 2)
	if burst < 5 {
		burst = 5
	}
	return &tokenLimiter{perSec: perSec, burst: burst, byToken: map[string]*rate.Limiter{}, touched: map[string]time.Time{}}
}

// touchDue reports whether the token's use should be recorded now, and notes it as done.
func (l *tokenLimiter) touchDue(tokenID string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.touched[tokenID]; ok && now.Sub(last) < touchEvery {
		return false
	}
	l.touched[tokenID] = now
	return true
}

func (l *tokenLimiter) allow(tokenID string) bool {
	l.mu.Lock()
	lim, ok := l.byToken[tokenID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.perSec), l.burst)
		l.byToken[tokenID] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

// failureLimiter counts failed token lookups per client address: the TCP peer, or behind
// trusted proxies (METERBRIDGE_TRUSTED_PROXIES) the address they report, which a client
// cannot forge. Each address may fail failureBurst times at once, then once per
// failureEvery; past that its unknown tokens are refused as rate-limited with the wait. Its
// tokens are still looked up, so a valid one is never refused.
type failureLimiter struct {
	mu    sync.Mutex
	burst int
	byIP  map[string]*failureEntry
	now   func() time.Time
}

type failureEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	defaultFailureBurst = 20
	failureEvery        = 2 * time.Second
	// maxFailureIPs bounds the table; idle entries (full buckets) are dropped first.
	maxFailureIPs = 10000
)

func newFailureLimiter(burst int) *failureLimiter {
	if burst <= 0 {
		burst = defaultFailureBurst
	}
	return &failureLimiter{burst: burst, byIP: map[string]*failureEntry{}, now: time.Now}
}

// blocked reports whether ip has used up its failures, and how long until it may try again.
func (l *failureLimiter) blocked(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byIP[ip]
	if !ok {
		return 0, false
	}
	tokens := e.lim.TokensAt(l.now())
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) * float64(failureEvery)), true
}

// failed records a failed lookup from ip.
func (l *failureLimiter) failed(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e, ok := l.byIP[ip]
	if !ok {
		if len(l.byIP) >= maxFailureIPs {
			l.prune(now)
		}
		e = &failureEntry{lim: rate.NewLimiter(rate.Every(failureEvery), l.burst)}
		l.byIP[ip] = e
	}
	e.seen = now
	e.lim.AllowN(now, 1)
}

// prune drops addresses whose budget has refilled; if that frees nothing, the oldest half.
func (l *failureLimiter) prune(now time.Time) {
	for ip, e := range l.byIP {
		if e.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.byIP, ip)
		}
	}
	if len(l.byIP) < maxFailureIPs {
		return
	}
	cutoff := now.Add(-failureEvery * time.Duration(l.burst) / 2)
	for ip, e := range l.byIP {
		if e.seen.Before(cutoff) {
			delete(l.byIP, ip)
		}
	}
	if len(l.byIP) >= maxFailureIPs {
		// Everyone is failing at once: forget them all rather than grow without bound.
		clear(l.byIP)
	}
}
