package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/chpool"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/supplywatch/supplywatch/procure"
)

// Spans are the collector's widest and most numerous rows: each carries
// two Map(LowCardinality(String), String) columns and six LowCardinality
// ones. clickhouse-go appends those through reflection and a map[any]int
// per LowCardinality column, one interface conversion per key and value,
// which was a third of the collector's CPU per span. So span batches are
// encoded as typed columns of ch-go's protocol layer (the one clickhouse-go
// is built on) and columns.go, sent over a native pool of their own, with
// the column buffers reused from batch to batch.

// spanColumns is one block of the spans table, in the order of
// spanInsert.
type spanColumns struct {
	tenant        dictColumn
	startTime     *proto.ColDateTime64
	traceID       strColumn
	spanID        strColumn
	parentSpanID  strColumn
	traceState    strColumn
	name          dictColumn
	kind          dictColumn
	serviceName   dictColumn
	scopeName     dictColumn
	durationNanos proto.ColUInt64
	statusCode    dictColumn
	statusMessage strColumn
	correlationID strColumn
	documentID    strColumn
	attributes    attrsColumn
	resourceAttrs attrsColumn
	eventsTime    *proto.ColArr[time.Time]
	eventsName    *proto.ColArr[string]
	eventsAttrs   eventAttrsColumn

	input proto.Input
}

const spanInsert = "tenant, start_time, trace_id, span_id, parent_span_id, trace_state, name, kind, service_name, scope_name, duration_ns, status_code, status_message, correlation_id, document_id, attributes, resource_attributes, events_time, events_name, events_attributes"

func nanoTimeColumn() *proto.ColDateTime64 {
	return new(proto.ColDateTime64).WithPrecision(proto.PrecisionNano).WithLocation(time.UTC)
}

func newSpanColumns() *spanColumns {
	c := &spanColumns{
		startTime:  nanoTimeColumn(),
		eventsTime: proto.NewArray[time.Time](nanoTimeColumn()),
		eventsName: proto.NewArray[string](proto.NewLowCardinality[string](new(proto.ColStr))),
	}
	c.input = proto.Input{
		{Name: "tenant", Data: &c.tenant},
		{Name: "start_time", Data: c.startTime},
		{Name: "trace_id", Data: &c.traceID},
		{Name: "span_id", Data: &c.spanID},
		{Name: "parent_span_id", Data: &c.parentSpanID},
		{Name: "trace_state", Data: &c.traceState},
		{Name: "name", Data: &c.name},
		{Name: "kind", Data: &c.kind},
		{Name: "service_name", Data: &c.serviceName},
		{Name: "scope_name", Data: &c.scopeName},
		{Name: "duration_ns", Data: &c.durationNanos},
		{Name: "status_code", Data: &c.statusCode},
		{Name: "status_message", Data: &c.statusMessage},
		{Name: "correlation_id", Data: &c.correlationID},
		{Name: "document_id", Data: &c.documentID},
		{Name: "attributes", Data: &c.attributes},
		{Name: "resource_attributes", Data: &c.resourceAttrs},
		{Name: "events_time", Data: c.eventsTime},
		{Name: "events_name", Data: c.eventsName},
		{Name: "events_attributes", Data: &c.eventsAttrs},
	}
	return c
}

func (c *spanColumns) append(x *procure.Span) {
	c.tenant.AppendLikePrevious(x.Tenant)
	c.startTime.Append(x.StartTime)
	c.traceID.Append(x.TraceID)
	c.spanID.Append(x.SpanID)
	c.parentSpanID.Append(x.ParentSpanID)
	c.traceState.Append(x.TraceState)
	c.name.AppendLikePrevious(x.Name)
	c.kind.AppendLikePrevious(x.Kind)
	c.serviceName.AppendLikePrevious(x.ServiceName)
	c.scopeName.AppendLikePrevious(x.ScopeName)
	c.durationNanos.Append(x.DurationNanos)
	c.statusCode.AppendLikePrevious(x.StatusCode)
	c.statusMessage.Append(x.StatusMessage)
	c.correlationID.Append(x.CorrelationID)
	c.documentID.Append(x.DocumentID)
	c.attributes.Append(x.Attributes)
	c.resourceAttrs.Append(x.ResourceAttributes)
	c.eventsTime.Append(x.EventTimes)
	c.eventsName.Append(x.EventNames)
	c.eventsAttrs.Append(x.EventAttributes)
}

func (c *spanColumns) reset() { c.input.Reset() }

// spanBlockRows is the most spans a pooled column set may have held to be
// kept for the next batch; a larger one (an unusually large batch) is
// dropped, so that one such batch does not pin its memory for good.
const spanBlockRows = 64 << 10

// InsertSpans writes the spans of all the slices as one block through the
// native pool (see OpenNative and WithNative).
func (s *Store) InsertSpans(ctx context.Context, spans ...[]procure.Span) error {
	return serverFailure(s.insertSpans(ctx, spans...))
}

func (s *Store) insertSpans(ctx context.Context, spans ...[]procure.Span) error {
	n := 0
	for _, sp := range spans {
		n += len(sp)
	}
	if n == 0 {
		return nil
	}
	if s.native == nil {
		return errors.New("insert spans: the store has no native pool (Store.WithNative)")
	}
	c := s.spanCols.take(newSpanColumns)
	for _, sp := range spans {
		for i := range sp {
			c.append(&sp[i])
		}
	}
	err := s.native.Do(ctx, ch.Query{
		Body:  "INSERT INTO " + s.db + ".spans_v2 (" + spanInsert + ") VALUES",
		Input: c.input,
	})
	c.reset()
	s.spanCols.give(c, n <= spanBlockRows)
	if err != nil {
		return fmt.Errorf("insert spans: %w", err)
	}
	return nil
}

// OpenNative opens the pool of ch-go connections that span batches are
// written through, with cfg's address, credentials, TLS and compression,
// and pings it (the first address that answers is used). It is separate from Open's clickhouse-go pool, which serves
// everything else.
func OpenNative(ctx context.Context, cfg Config) (*chpool.Pool, error) {
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	comp := ch.CompressionLZ4
	switch cfg.compression() {
	case CompressionZSTD:
		comp = ch.CompressionZSTD
	case CompressionNone:
		comp = ch.CompressionDisabled
	}
	settings := []ch.Setting{ch.SettingInt("max_execution_time", 60)}
	if cfg.Cluster != "" {
		for k, v := range clusterSettings {
			settings = append(settings, ch.SettingInt(k, v))
		}
	}
	var pool *chpool.Pool
	for _, addr := range cfg.Addr {
		pool, err = chpool.Dial(ctx, chpool.Options{
			ClientOptions: ch.Options{
				Address:     addr,
				User:        cfg.User,
				Password:    cfg.Password,
				Compression: comp,
				ClientName:  "supplywatch",
				ReadTimeout: 60 * time.Second,
				DialTimeout: 5 * time.Second,
				TLS:         tlsCfg,
				Settings:    settings,
			},
			MaxConns:        2,
			MaxConnLifetime: time.Hour,
		})
		if err == nil {
			return pool, nil
		}
	}
	return nil, fmt.Errorf("clickhouse native pool %v: %w", cfg.Addr, err)
}
