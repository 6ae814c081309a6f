package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/interceptor"

	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// is set: then the API (Gin), outbound HTTP (PSA and vendor APIs, webhooks), PostgreSQL
// (pgx) and Temporal (client calls, workflows, activities, signals, updates) produce spans,
// and Temporal carries the trace context through workflow and activity headers, so one
// request can be followed to the PSA write it caused. Off, nothing is wrapped and no span is
// made.

var tracing atomic.Bool

// TracingEnabled reports whether a tracer provider is installed. Parts that trace check it
// when they are built (the API handler, the store, the Temporal client, outbound senders).
func TracingEnabled() bool { return tracing.Load() }

// TracingConfigured reports whether the environment asks for traces.
func TracingConfigured(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// SetupTracing installs an OTLP trace exporter when the environment asks for one (see
// TracingConfigured) and returns the function that flushes and stops it; otherwise it does
// nothing. The exporter follows the OTEL_EXPORTER_OTLP_* variables (endpoint, headers,
// certificates, timeout); OTEL_EXPORTER_OTLP_PROTOCOL (or _TRACES_PROTOCOL) chooses
// http/protobuf (the default) or grpc; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name
// the process (service defaults to "meterbridge-" + process); OTEL_TRACES_SAMPLER chooses
// the sampler.
func SetupTracing(ctx context.Context, process string) (func(context.Context) error, error) {
	if !TracingConfigured(nil) {
		return func(context.Context) error { return nil }, nil
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "meterbridge-"+process), attribute.String("service.namespace", "meterbridge")),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	UseTracerProvider(tp)
	return tp.Shutdown, nil
}

// NewTracerProvider returns an SDK tracer provider with opts that never records the query
// or user info of a URL (outbound URLs may carry keys there); tests pass a span recorder.
func NewTracerProvider(opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(urlRedactor{})}, opts...)...)
}

// UseTracerProvider makes tp the process's tracer provider, with W3C trace context and
// baggage propagation, and turns tracing on for everything built afterwards.
func UseTracerProvider(tp *sdktrace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	tracing.Store(true)
}

// StopTracing turns tracing off for everything built afterwards (tests that traced put the
// process back as it was).
func StopTracing() {
	tracing.Store(false)
	otel.SetTracerProvider(noop.NewTracerProvider())
}

// TemporalInterceptors returns the Temporal client interceptors of the process: the
// OpenTelemetry tracing interceptor when tracing is on (it also carries trace context from
// the client into workflows and activities), none otherwise.
func TemporalInterceptors() ([]interceptor.ClientInterceptor, error) {
	if !TracingEnabled() {
		return nil, nil
	}
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return []interceptor.ClientInterceptor{i}, nil
}

// OutboundTransport wraps rt (nil: http.DefaultTransport) so each request to an outside
// service is a client span named for the service when tracing is on; off, rt is returned as
// it is. The wrapped transport's dialer (and so the outbound address policy) is untouched,
// and no trace header is sent to the outside.
func OutboundTransport(service string, rt http.RoundTripper) http.RoundTripper {
	if !TracingEnabled() {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return otelhttp.NewTransport(rt,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return service + " " + r.Method }),
		// Our trace IDs are no business of the PSA or a vendor: no traceparent goes out.
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
	)
}

// urlRedactor cuts the query and user info out of URL attributes as spans start.
type urlRedactor struct{}

var urlKeys = map[attribute.Key]bool{"url.full": true, "http.url": true}

func (urlRedactor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	for _, kv := range s.Attributes() {
		if urlKeys[kv.Key] && kv.Value.Type() == attribute.STRING {
			s.SetAttributes(attribute.String(string(kv.Key), redactURL(kv.Value.AsString())))
		}
	}
}
func (urlRedactor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (urlRedactor) Shutdown(context.Context) error   { return nil }
func (urlRedactor) ForceFlush(context.Context) error { return nil }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}
