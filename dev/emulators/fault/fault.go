// Package fault gives every emulator the same switchable faults: latency, bursts of 429 with
// Retry-After, 500s, a requests-per-second limit and refused credentials. Tests flip them
// through Go; people flip them with curl at the emulator's /_emulator/faults endpoint.
package fault

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Settings are the faults currently switched on. The zero value injects nothing.
type Settings struct {
	// Latency delays every response.
	Latency Duration `json:"latency"`
	// Burst429 answers the next N requests with 429 and Retry-After: RetryAfterSeconds.
	Burst429          int `json:"burst_429"`
	RetryAfterSeconds int `json:"retry_after_seconds"`
	// Fail500 answers the next N requests with 500; the body says "timeout" when
	// TimeoutText is set (a passing fault) and something else otherwise.
	Fail500     int  `json:"fail_500"`
	TimeoutText bool `json:"timeout_text"`
	// RatePerSecond, when positive, answers 429 with Retry-After: 1 once more than this many
	// requests arrive within one second.
	RatePerSecond int `json:"rate_per_second"`
	// RejectCredentials makes every authenticated request fail as if the keys were revoked.
	RejectCredentials bool `json:"reject_credentials"`
	// PathPrefix limits the one-shot faults (Burst429, Fail500) to requests whose path
	// starts with it; empty means every path.
	PathPrefix string `json:"path_prefix,omitempty"`
}

// Duration is a time.Duration that reads and writes as "250ms" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return err
		}
		*d = Duration(time.Duration(n) * time.Millisecond)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Injector holds the switches and counts what it did. It is safe for concurrent use.
type Injector struct {
	mu       sync.Mutex
	s        Settings
	window   time.Time
	inWindow int
	counts   Counts
	now      func() time.Time
}

// Counts says how many faults were injected, for tests that assert on them.
type Counts struct {
	Requests    int `json:"requests"`
	Throttled   int `json:"throttled"`
	ServerError int `json:"server_error"`
	Refused     int `json:"refused"`
}

// New returns an injector with nothing switched on.
func New() *Injector { return &Injector{now: time.Now} }

// Set replaces the settings.
func (in *Injector) Set(s Settings) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.s = s
}

// Update changes the settings under the lock.
func (in *Injector) Update(f func(*Settings)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f(&in.s)
}

// Settings returns the current settings.
func (in *Injector) Settings() Settings {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.s
}

// Counts returns what was injected so far.
func (in *Injector) Counts() Counts {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.counts
}

// CredentialsRejected reports whether the emulator should refuse all credentials now.
func (in *Injector) CredentialsRejected() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.s.RejectCredentials {
		in.counts.Refused++
	}
	return in.s.RejectCredentials
}

// Decision is what the injector wants done with one request.
type Decision struct {
	Delay      time.Duration
	Status     int // 0: serve normally; 429 or 500 otherwise
	RetryAfter int // seconds, for 429
	Body       string
}

// Decide consumes one request's worth of faults.
func (in *Injector) Decide(path string) Decision {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts.Requests++
	d := Decision{Delay: time.Duration(in.s.Latency)}
	matches := in.s.PathPrefix == "" || len(path) >= len(in.s.PathPrefix) && path[:len(in.s.PathPrefix)] == in.s.PathPrefix
	if matches && in.s.Burst429 > 0 {
		in.s.Burst429--
		in.counts.Throttled++
		ra := in.s.RetryAfterSeconds
		if ra <= 0 {
			ra = 1
		}
		d.Status, d.RetryAfter, d.Body = http.StatusTooManyRequests, ra, "Too Many Requests"
		return d
	}
	if matches && in.s.Fail500 > 0 {
		in.s.Fail500--
		in.counts.ServerError++
		d.Status, d.Body = http.StatusInternalServerError, "An unexpected error occurred"
		if in.s.TimeoutText {
			d.Body = "Execution Timeout Expired. The timeout period elapsed prior to completion of the operation."
		}
		return d
	}
	if in.s.RatePerSecond > 0 {
		now := in.now()
		if now.Sub(in.window) >= time.Second {
			in.window, in.inWindow = now, 0
		}
		in.inWindow++
		if in.inWindow > in.s.RatePerSecond {
			in.counts.Throttled++
			d.Status, d.RetryAfter, d.Body = http.StatusTooManyRequests, 1, "Rate limit exceeded"
			return d
		}
	}
	return d
}

// WriteError is how an emulator renders an injected status in its own API's error shape.
type WriteError func(w http.ResponseWriter, r *http.Request, status int, message string)

// Middleware applies the faults before next; write renders injected errors.
func (in *Injector) Middleware(next http.Handler, write WriteError) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) >= len(ControlPath) && r.URL.Path[:len(ControlPath)] == ControlPath {
			next.ServeHTTP(w, r)
			return
		}
		d := in.Decide(r.URL.Path)
		if d.Delay > 0 {
			select {
			case <-time.After(d.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if d.Status != 0 {
			if d.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfter))
			}
			write(w, r, d.Status, d.Body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ControlPath is where every emulator exposes its fault switches.
const ControlPath = "/_emulator/faults"

// ControlHandler serves GET (settings and counts) and PUT (replace settings) at ControlPath.
func (in *Injector) ControlHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut, http.MethodPost:
			var s Settings
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&s); err != nil {
				http.Error(w, "bad fault settings: "+err.Error(), http.StatusBadRequest)
				return
			}
			in.Set(s)
		default:
			w.Header().Set("Allow", "GET, PUT")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Settings Settings `json:"settings"`
			Counts   Counts   `json:"counts"`
		}{in.Settings(), in.Counts()})
	})
}
