package telemetry

import (
	"sync"
	"time"

	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// The Temporal SDK reports its metrics (worker task slots, poll and schedule-to-start
// latencies, activity and workflow task outcomes, client request latencies and failures)
// through a client.MetricsHandler. It goes through the SDK's tally contrib package into
// Registry: tally's Prometheus reporter registers on a given *prometheus.Registry directly,
// and contrib/tally's Prometheus naming scope gives the metric names Temporal's documented
// dashboards use (temporal_request_latency_seconds_bucket, temporal_activity_execution_failed_total,
// ...). The OpenTelemetry route (contrib/opentelemetry's metrics handler through the OTel
// Prometheus exporter) adds a layer, otel_scope_* labels and an exporter version the
// embedded Temporal server pins.

var (
	temporalOnce    sync.Once
	temporalHandler client.MetricsHandler
)

// TemporalMetrics returns the process's Temporal SDK metrics handler, reporting into
// Registry; every Temporal client of the process shares it (a metric registers once).
func TemporalMetrics() client.MetricsHandler {
	temporalOnce.Do(func() {
		reporter, err := tallyprom.Configuration{
			TimerType: "histogram",
			DefaultHistogramBuckets: func() []tallyprom.HistogramObjective {
				var b []tallyprom.HistogramObjective
				for _, u := range []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900} {
					b = append(b, tallyprom.HistogramObjective{Upper: u})
				}
				return b
			}(),
		}.NewReporter(tallyprom.ConfigurationOptions{
			Registry: Registry,
			// A metric that cannot register (a name clash) must not panic the worker.
			OnError: func(error) {},
		})
		if err != nil {
			temporalHandler = client.MetricsNopHandler
			return
		}
		scope, _ := tally.NewRootScope(tally.ScopeOptions{
			CachedReporter:  reporter,
			Separator:       tallyprom.DefaultSeparator,
			SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
		}, time.Second)
		temporalHandler = sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope))
	})
	return temporalHandler
}
