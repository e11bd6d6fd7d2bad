package app

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// SimulatorTraces says where the simulated systems send their spans: an
// OTLP/HTTP traces URL (default: this process's /v1/traces) and the ingest
// token to send. Without a token no spans are sent.
type SimulatorTraces struct {
	Endpoint string `yaml:"endpoint" env:"ENDPOINT"`
	Token    string `yaml:"token" env:"TOKEN"`
}

// simTracers hands the simulator one tracer provider per simulated service
// (so each has its service.name), all exporting over OTLP/HTTP like the
// real systems would.
type simTracers struct {
	cfg       SimulatorTraces
	mu        sync.Mutex
	providers []*sdktrace.TracerProvider
}

func (s *simTracers) provider(service string) trace.TracerProvider {
	if s == nil || s.cfg.Token == "" || s.cfg.Endpoint == "" {
		return noop.NewTracerProvider()
	}
	exp, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpointURL(s.cfg.Endpoint),
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + s.cfg.Token}))
	if err != nil {
		return noop.NewTracerProvider()
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))))
	s.mu.Lock()
	s.providers = append(s.providers, tp)
	s.mu.Unlock()
	return tp
}

func (s *simTracers) shutdown(ctx context.Context) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tp := range s.providers {
		_ = tp.Shutdown(ctx)
	}
}
