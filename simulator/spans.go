package simulator

import (
	"context"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracing hands out one tracer per simulated service.
type tracing struct {
	provider func(service string) trace.TracerProvider
	off      bool
	tracers  map[string]trace.Tracer
}

func (t *tracing) tracer(service string) trace.Tracer {
	if tr, ok := t.tracers[service]; ok {
		return tr
	}
	if t.tracers == nil {
		t.tracers = map[string]trace.Tracer{}
	}
	tr := t.provider(service).Tracer("github.com/supplywatch/supplywatch/simulator/"+service,
		trace.WithInstrumentationAttributes(attribute.String("supplywatch.simulated_service", service)))
	t.tracers[service] = tr
	return tr
}

// spans emits the spans of one hop as the systems on it would: the sender
// publishes, the middleware routes and delivers (each attempt a client
// span, a failed one with error status), the target receives. The trace id
// is the event's trace_id: the sender's span context arrives as a remote
// parent, as it would in the message headers.
func (e *Engine) spans(ctx context.Context, p *pending) {
	if e.tracing.off {
		return
	}
	h, ev := p.hop, p.ev
	at := ev.OccurredAt
	attrs := []attribute.KeyValue{
		attribute.String("supplywatch.correlation_id", ev.CorrelationID),
		attribute.String("po.number", h.po),
		attribute.String("supplier", ev.Supplier),
		attribute.String("plant", ev.Plant),
		attribute.String("source.system", h.from),
		attribute.String("target.system", h.to),
		attribute.String("document.type", string(h.business.Type)),
		attribute.String("document.id", h.business.Document.ID),
		attribute.String("supplywatch.event_id", h.business.ID),
		attribute.String("supplywatch.tenant", ev.Tenant),
	}
	if p.attempt == nil {
		remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: h.traceID, SpanID: h.parentSpanID, TraceFlags: trace.FlagsSampled, Remote: true})
		ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
		sctx, send := e.startSpan(ctx, h.from, "publish "+string(ev.Type), at, trace.SpanKindProducer, attrs)
		rctx, route := e.startSpan(sctx, "middleware", "route "+string(ev.Type), at.Add(2*time.Millisecond), trace.SpanKindConsumer, attrs)
		h.route = route.SpanContext()
		if h.firstAttempt {
			e.deliverySpan(rctx, h, at.Add(5*time.Millisecond), 1, nil, attrs)
		}
		route.End(trace.WithTimestamp(at.Add(h.routeDuration)))
		send.End(trace.WithTimestamp(at.Add(3 * time.Millisecond)))
		return
	}
	parent := h.route
	if !parent.IsValid() {
		parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: h.traceID, SpanID: h.parentSpanID, TraceFlags: trace.FlagsSampled, Remote: true})
	}
	attrs = append(attrs, attribute.String("messaging.message.id", p.attempt.delivery.MessageID))
	var failed *procure.Delivery
	if ev.Type == procure.MessageFailed {
		failed = p.attempt.delivery
	}
	e.deliverySpan(trace.ContextWithSpanContext(ctx, parent), h, at, p.attempt.n, failed, attrs)
}

func (e *Engine) deliverySpan(ctx context.Context, h *hop, at time.Time, n int, failed *procure.Delivery, attrs []attribute.KeyValue) {
	attrs = append(attrs, attribute.Int("delivery.attempt", n),
		attribute.String("server.address", endpoint(e.cfg.Tenant, h.to, h.business.Plant, h.business.Supplier)))
	dctx, sp := e.startSpan(ctx, "middleware", "deliver to "+h.to, at, trace.SpanKindClient, attrs)
	if failed != nil {
		sp.SetAttributes(attribute.String("error.type", failed.ErrorClass))
		if failed.HTTPStatus != 0 {
			sp.SetAttributes(attribute.Int("http.response.status_code", failed.HTTPStatus))
		}
		sp.SetStatus(codes.Error, failed.Error)
		d := 150 * time.Millisecond
		if failed.ErrorClass == "timeout" {
			d = 30 * time.Second
		}
		sp.End(trace.WithTimestamp(at.Add(d)))
		return
	}
	_, recv := e.startSpan(dctx, h.to, "receive "+string(h.business.Type), at.Add(20*time.Millisecond), trace.SpanKindServer, attrs)
	recv.End(trace.WithTimestamp(at.Add(80 * time.Millisecond)))
	sp.SetStatus(codes.Ok, "")
	sp.End(trace.WithTimestamp(at.Add(100 * time.Millisecond)))
}

func (e *Engine) startSpan(ctx context.Context, service, name string, at time.Time, kind trace.SpanKind, attrs []attribute.KeyValue) (context.Context, trace.Span) {
	e.stats.Spans++
	return e.tracing.tracer(service).Start(ctx, name, trace.WithTimestamp(at), trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}
