package telemetry

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition of a process (the database answers, Temporal answers,
// the worker polls). Run returns nil when the condition holds.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Health says whether a process is alive and ready.
type Health struct {
	// Live, when set, decides /healthz: an error means the process cannot recover by itself
	// (the worker stopped on a fatal error) and should be restarted. Nil: alive while it answers.
	Live func() error
	// Ready are the conditions of /readyz; all must hold.
	Ready []Check
	// Logger receives the reasons of failed checks, which are not shown to callers.
	Logger *slog.Logger
}

// checkTimeout bounds one readiness check; probes answer within it even when a dependency
// hangs.
const checkTimeout = 3 * time.Second

// Handler serves /metrics (Registry, in Prometheus' text or OpenMetrics format) and, when h
// is not nil, /healthz and /readyz. It belongs on a listen address of its own
// (METERBRIDGE_METRICS_ADDR), not on the API's public one.
func Handler(h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(Registry, promhttp.HandlerOpts{
		Registry:          Registry,
		EnableOpenMetrics: true,
	}))
	if h != nil {
		mux.HandleFunc("GET /healthz", h.healthz)
		mux.HandleFunc("GET /readyz", h.readyz)
	}
	return mux
}

func (h *Health) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Health) healthz(w http.ResponseWriter, r *http.Request) {
	if h.Live != nil {
		if err := h.Live(); err != nil {
			h.log().Warn("healthz: not alive", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "failed"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz runs every check at once and answers 200 only when all hold; each check is named
// with "ok" or "unavailable" (the reasons go to the log: they name hosts and users).
func (h *Health) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := map[string]string{}
	ready := true
	for _, c := range h.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Run(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				h.log().Warn("readyz: not ready", "check", c.Name, "err", err)
				results[c.Name], ready = "unavailable", false
				return
			}
			results[c.Name] = "ok"
		}()
	}
	wg.Wait()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ready, "checks": results})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
