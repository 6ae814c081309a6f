package autotask

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limits tracks requests in flight per endpoint and requests in the last hour.
type limits struct {
	mu       sync.Mutex
	inflight map[string]int
	high     map[string]int
	sent     []time.Time
}

func (l *limits) enter(endpoint string, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if limit > 0 && l.inflight[endpoint] >= limit {
		return false
	}
	l.inflight[endpoint]++
	if l.inflight[endpoint] > l.high[endpoint] {
		l.high[endpoint] = l.inflight[endpoint]
	}
	return true
}

func (l *limits) leave(endpoint string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight[endpoint]--
}

func (l *limits) highs() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.high))
	for k, v := range l.high {
		out[k] = v
	}
	return out
}

func (l *limits) prune(now time.Time) {
	cutoff := now.Add(-time.Hour)
	i := 0
	for i < len(l.sent) && !l.sent[i].After(cutoff) {
		i++
	}
	l.sent = l.sent[i:]
}

// record counts one request when the quota allows it; otherwise it says how long until the
// oldest request leaves the window.
func (l *limits) record(now time.Time, quota int) (count int, wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	if len(l.sent) >= quota {
		return len(l.sent), l.sent[len(l.sent)-quota].Add(time.Hour).Sub(now), false
	}
	l.sent = append(l.sent, now)
	return len(l.sent), 0, true
}

func (l *limits) sentInLastHour(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	return len(l.sent)
}

// MaxConcurrent is the most requests that were in flight at once on an endpoint (the
// lower-cased entity, e.g. "contractserviceunits").
func (s *Server) MaxConcurrent(endpoint string) int {
	s.lim.mu.Lock()
	defer s.lim.mu.Unlock()
	return s.lim.high[strings.ToLower(endpoint)]
}

// RequestsLastHour is how many requests count against the hourly quota now.
func (s *Server) RequestsLastHour() int { return s.lim.sentInLastHour(s.now()) }

// limitThreads answers 429 to a request beyond the endpoint's thread limit.
//
// Unconfirmed: the real API's status, body and Retry-After for a request over the thread
// limit; the emulator answers 429 with an errors message and no Retry-After.
func (s *Server) limitThreads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(strings.ToLower(r.URL.Path), apiRoot+"/v1.0/") {
			next.ServeHTTP(w, r)
			return
		}
		ep := endpointOf(r.URL.Path)
		limit := s.opts.ThreadLimit
		if !s.lim.enter(ep, limit) {
			writeErrors(w, http.StatusTooManyRequests, fmt.Sprintf(
				"thread limit exceeded: at most %d concurrent requests per endpoint (%s) are allowed for this integration", limit, ep))
			return
		}
		defer s.lim.leave(ep)
		next.ServeHTTP(w, r)
	})
}

// countRequest applies the hourly quota and the latency Autotask adds past half of it.
//
// Unconfirmed: the real body and Retry-After of a 429 for the hourly threshold; the emulator
// sends Retry-After with the seconds until a request leaves the rolling hour.
func (s *Server) countRequest(w http.ResponseWriter) bool {
	s.mu.Lock()
	quota, latency := s.opts.HourlyQuota, s.opts.ThresholdLatency
	s.mu.Unlock()
	n, wait, ok := s.lim.record(s.now(), quota)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeErrors(w, http.StatusTooManyRequests, fmt.Sprintf("API request threshold of %d requests per hour exceeded for this database", quota))
		return false
	}
	if latency > 0 && n*2 > quota {
		time.Sleep(latency)
	}
	return true
}

func endpointOf(path string) string {
	p := strings.ToLower(path)
	if i := strings.Index(p, "/v1.0/"); i >= 0 {
		rest := p[i+len("/v1.0/"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	return p
}
