package access

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// tokenLimiter gives each token its own request rate.
type tokenLimiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   int
	byToken map[string]*rate.Limiter
}

func newTokenLimiter(perSec float64) *tokenLimiter {
	burst := int(perSec * 2)
	if burst < 5 {
		burst = 5
	}
	return &tokenLimiter{perSec: perSec, burst: burst, byToken: map[string]*rate.Limiter{}}
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

// failureLimiter counts failed token lookups per client address (the TCP peer, which a
// client cannot forge with X-Forwarded-For). Each address may fail failureBurst times at
// once, then once per failureEvery; requests from an address over its budget get 429
// without a lookup, so guessing tokens and flooding the database with lookups are both
// slow. Behind a reverse proxy every client shares the proxy's address: there the budget
// is the proxy's, which still bounds the database load.
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
