package app

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// newTracerProvider traces supplywatch's own pipeline (flushes, ingest
// requests). With no endpoint configured the spans are made but not sent.
func newTracerProvider(ctx context.Context, cfg TelemetryConfig, log *slog.Logger) *sdktrace.TracerProvider {
	res := resource.NewSchemaless(semconv.ServiceName("supplywatch"))
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint))
		if err != nil {
			log.Warn("telemetry exporter not started", "err", err)
		} else {
			opts = append(opts, sdktrace.WithBatcher(exp))
		}
	}
	return sdktrace.NewTracerProvider(opts...)
}
