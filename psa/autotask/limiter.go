package autotask

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ThreadsPerEndpoint is Autotask's concurrency limit for integrations created since 2023.1:
// three requests in flight per tracking identifier and endpoint. Older integrations may be
// allowed more; three is safe for all.
const ThreadsPerEndpoint = 3

// limits is shared by every Client of one API user and integration in this process, because
// Autotask counts threads and requests per integration and database, not per Client value:
// activities that each build a Client must still stay under the limits together.
type limits struct {
	mu   sync.Mutex
	sems map[string]chan struct{}
	// sent holds the times of requests sent in the last hour, oldest first.
	sent []time.Time
	// usage is the share of the database's threshold last reported by ThresholdInformation.
	usage     float64
	usageAt   time.Time
	sincePoll int
	forcePoll bool
}

var registry = struct {
	sync.Mutex
	m map[string]*limits
}{m: map[string]*limits{}}

func sharedLimits(userName, integrationCode string) *limits {
	key := strings.ToLower(strings.TrimSpace(userName)) + "\x00" + integrationCode
	registry.Lock()
	defer registry.Unlock()
	l, ok := registry.m[key]
	if !ok {
		l = &limits{sems: map[string]chan struct{}{}}
		registry.m[key] = l
	}
	return l
}

func (l *limits) semaphore(endpoint string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sems[endpoint]
	if !ok {
		s = make(chan struct{}, ThreadsPerEndpoint)
		l.sems[endpoint] = s
	}
	return s
}

func (l *limits) prune(now time.Time) {
	cutoff := now.Add(-time.Hour)
	i := 0
	for i < len(l.sent) && !l.sent[i].After(cutoff) {
		i++
	}
	l.sent = l.sent[i:]
}

// wait says how long until one more request fits in the rolling hour; 0 means now.
func (l *limits) wait(now time.Time, budget int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitLocked(now, budget)
}

func (l *limits) waitLocked(now time.Time, budget int) time.Duration {
	l.prune(now)
	if len(l.sent) < budget {
		return 0
	}
	// The request that has to leave the window before one more fits.
	d := l.sent[len(l.sent)-budget].Add(time.Hour).Sub(now)
	if d <= 0 {
		d = time.Millisecond
	}
	return d
}

// reserve records one request when it fits in the budget.
func (l *limits) reserve(now time.Time, budget int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.waitLocked(now, budget); d > 0 {
		return d
	}
	l.sent = append(l.sent, now)
	return 0
}

func (l *limits) setUsage(used, threshold int, at time.Time) {
	if threshold <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.usage, l.usageAt = float64(used)/float64(threshold), at
	l.sincePoll, l.forcePoll = 0, false
}

// currentUsage returns the last reported share of the threshold and how old that report is.
func (l *limits) currentUsage(now time.Time) (float64, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.usage, now.Sub(l.usageAt)
}

// pollNext makes the next request read ThresholdInformation first.
func (l *limits) pollNext() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forcePoll = true
}

// pollDue counts one request and reports whether ThresholdInformation should be read now.
func (l *limits) pollDue(every int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forcePoll {
		l.forcePoll, l.sincePoll = false, 0
		return true
	}
	if every <= 0 {
		return false
	}
	l.sincePoll++
	if l.sincePoll >= every {
		l.sincePoll = 0
		return true
	}
	return false
}

// budgetExceeded is returned by the transport when a request would pass the hourly budget.
type budgetExceeded struct{ wait time.Duration }

func (e *budgetExceeded) Error() string {
	return fmt.Sprintf("client-side hourly request budget used up; next slot in %s", e.wait.Round(time.Second))
}

// limitTransport enforces the thread limit and records every request actually sent
// (retries and page follows included) against the hourly budget.
type limitTransport struct {
	next   http.RoundTripper
	lim    *limits
	budget int
	now    func() time.Time
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sem := t.lim.semaphore(endpointOf(req.URL.Path))
	select {
	case sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	if d := t.lim.reserve(t.now(), t.budget); d > 0 {
		<-sem
		return nil, &budgetExceeded{wait: d}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		<-sem
		return nil, err
	}
	// The thread is busy until the body has been read: release on Close.
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { <-sem }}
	return resp, nil
}

type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// endpointOf names the endpoint a path belongs to for thread limiting: the entity after
// "/v1.0/", lower-cased ("companies", "contractserviceunits", "zoneinformation").
//
// Unconfirmed: whether Autotask counts a child path (Contracts/{id}/Services) as the parent's
// endpoint or a separate one; counting it as the parent's is the stricter reading.
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
