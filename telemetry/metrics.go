// Package telemetry is what meterbridge tells operators about itself: Prometheus metrics
// (HTTP requests, the Temporal SDK's worker and client metrics, business events), health
// endpoints, and OpenTelemetry traces when an OTLP endpoint is configured.
//
// Metrics live in one registry per process (Registry), so every part of the process —
// handlers, activities, the outbound sender — records into it without being handed it, and
// the metrics endpoint serves it. This package imports nothing of meterbridge's, so any
// package may record a metric.
package telemetry

import (
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.temporal.io/sdk/temporal"
)

// Registry holds every metric of this process: Go runtime and process metrics,
// meterbridge's own (named meterbridge_*) and the Temporal SDK's (temporal_*).
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		BuildInfo,
	)
	version, commit := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	SetBuild(version, commit)
}

// SetBuild labels meterbridge_build_info with the running version and commit (the command
// knows the commit of a container build, which the toolchain could not stamp).
func SetBuild(version, commit string) {
	if commit == "" {
		commit = "unknown"
	}
	BuildInfo.Reset()
	BuildInfo.WithLabelValues(version, commit, "v"+temporal.SDKVersion).Set(1)
}

// latency are the buckets of request latencies, in seconds: a fast API call is milliseconds,
// a slow PSA page many seconds.
var latency = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

var factory = promauto.With(Registry)

// Label values that are not HTTP status codes.
const (
	// StatusError is an outbound request that got no answer (connection refused or reset,
	// timeout, a destination the outbound policy refused).
	StatusError = "error"
)

var (
	// BuildInfo is 1, labelled with the module version, VCS commit and Temporal SDK version.
	BuildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meterbridge_build_info",
		Help: "Always 1; labelled with the running meterbridge's version, commit and Temporal SDK version.",
	}, []string{"version", "commit", "temporal_sdk"})

	httpRequests = factory.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "meterbridge_http_request_duration_seconds",
		Help:    "HTTP API requests by method, route template (such as /api/v1/tenants/:tenant/pending) and status code, with their latency.",
		Buckets: latency,
	}, []string{"method", "route", "status"})
	httpInFlight = factory.NewGauge(prometheus.GaugeOpts{
		Name: "meterbridge_http_requests_in_flight",
		Help: "HTTP API requests being served now.",
	})

	cycles = factory.NewCounterVec(prometheus.CounterOpts{
		Name: "meterbridge_cycles_finished_total",
		Help: "Billing cycles that ended, by kind (usage_publish, licence_sync) and final status (completed, partial, failed, already_published, ...).",
	}, []string{"kind", "status"})
	items = factory.NewCounterVec(prometheus.CounterOpts{
		Name: "meterbridge_items_pushed_total",
		Help: "Items of billing cycles written to the PSA, by cycle kind and outcome (applied: written and read back; failed: refused by the PSA or not verified).",
	}, []string{"kind", "outcome"})

	outbound = factory.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "meterbridge_outbound_request_duration_seconds",
		Help:    "Requests to PSA and vendor APIs (every attempt, retries included), by service, method and status code (\"error\" when no answer came), with their latency.",
		Buckets: latency,
	}, []string{"service", "method", "status"})
	rateLimitWaits = factory.NewCounterVec(prometheus.CounterOpts{
		Name: "meterbridge_rate_limit_waits_total",
		Help: "Times a call to a PSA or vendor API waited for a rate limit, by service and reason (retry_after: the service answered 429 or 503 with Retry-After; deferred: the wait was handed back to the caller, an activity retry or a workflow timer, because it was too long or no attempts were left; budget: the client-side hourly budget; threshold: the pause past half Autotask's database threshold).",
	}, []string{"service", "reason"})
	rateLimitWaitSeconds = factory.NewCounterVec(prometheus.CounterOpts{
		Name: "meterbridge_rate_limit_wait_seconds_total",
		Help: "Seconds spent (or handed back to the workflow) waiting for rate limits, by service and reason.",
	}, []string{"service", "reason"})

	snapshotLag = factory.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "meterbridge_snapshot_lag_seconds",
		Help:    "How long after its scheduled time (or after sync now was asked) a metric snapshot read its gauge, by kind.",
		Buckets: []float64{0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
	}, []string{"kind"})
	snapshots = factory.NewCounterVec(prometheus.CounterOpts{
		Name: "meterbridge_snapshots_total",
		Help: "Metric snapshots taken, by kind and outcome (recorded, frozen: the week was already frozen).",
	}, []string{"kind", "outcome"})
)

// HTTPRequest records one served API request. route is the route template, never the raw
// path (paths hold tenant and record IDs); unmatched requests use "unmatched".
func HTTPRequest(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}

// HTTPInFlight counts a request in; the returned function counts it out.
func HTTPInFlight() func() {
	httpInFlight.Inc()
	return httpInFlight.Dec
}

// CycleFinished records a billing cycle's end.
func CycleFinished(kind, status string) { cycles.WithLabelValues(kind, status).Inc() }

// ItemsPushed records n items of a cycle kind with one outcome ("applied" or "failed").
func ItemsPushed(kind, outcome string, n int) {
	if n > 0 {
		items.WithLabelValues(kind, outcome).Add(float64(n))
	}
}

// OutboundRequest records one attempt of a request to an outside service; status 0 means
// no answer came.
func OutboundRequest(service, method string, status int, took time.Duration) {
	s := StatusError
	if status > 0 {
		s = strconv.Itoa(status)
	}
	outbound.WithLabelValues(service, method, s).Observe(took.Seconds())
}

// RateLimitWait records a wait for a service's rate limit.
func RateLimitWait(service, reason string, d time.Duration) {
	rateLimitWaits.WithLabelValues(service, reason).Inc()
	rateLimitWaitSeconds.WithLabelValues(service, reason).Add(d.Seconds())
}

// Snapshot records a metric snapshot of a kind ("scheduled", "sync", ...) that read its
// gauge lag after it was due, or found its week frozen.
func Snapshot(kind string, lag time.Duration, frozen bool) {
	outcome := "recorded"
	if frozen {
		outcome = "frozen"
	}
	snapshots.WithLabelValues(kind, outcome).Inc()
	if frozen {
		return // the gauge was not read: no lag to speak of
	}
	snapshotLag.WithLabelValues(kind).Observe(max(lag, 0).Seconds())
}

// Value sums the current value of the series of a metric of Registry whose labels include
// labels (name=value pairs): a counter's or gauge's value, a histogram's count. Tests read
// metrics through it.
func Value(name string, labels ...string) float64 {
	families, err := Registry.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}
