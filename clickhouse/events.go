package clickhouse

import (
	"context"
	"fmt"
	"io"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/supplywatch/supplywatch/procure"
)

// Event batches are the collector's hot path, so with a native pool they go
// through the span path's columns (columns.go, docs/storage.md "Writing
// spans"): no reflection, no interface per value, strings kept in wire
// format, and column buffers kept from one batch to the next, so a batch
// appends into memory that is already there instead of growing its 10 MB of
// raw JSON by doubling.

// eventColumns is one block of the events table, in the order of
// eventInsert.
type eventColumns struct {
	tenant, typ, source, plant, supplier, documentKind, channel dictColumn
	occurredAt, receivedAt                                      *proto.ColDateTime64
	id, correlationID, traceID, documentID, originID, raw       strColumn
	documentVersion                                             proto.ColUInt32

	input proto.Input
}

const eventInsert = "tenant, occurred_at, type, id, source, received_at, correlation_id, trace_id, plant, supplier, document_kind, document_id, document_version, channel, origin_id, raw"

func milliTimeColumn() *proto.ColDateTime64 {
	return new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli).WithLocation(time.UTC)
}

func newEventColumns() *eventColumns {
	c := &eventColumns{occurredAt: milliTimeColumn(), receivedAt: milliTimeColumn()}
	c.input = proto.Input{
		{Name: "tenant", Data: &c.tenant},
		{Name: "occurred_at", Data: c.occurredAt},
		{Name: "type", Data: &c.typ},
		{Name: "id", Data: &c.id},
		{Name: "source", Data: &c.source},
		{Name: "received_at", Data: c.receivedAt},
		{Name: "correlation_id", Data: &c.correlationID},
		{Name: "trace_id", Data: &c.traceID},
		{Name: "plant", Data: &c.plant},
		{Name: "supplier", Data: &c.supplier},
		{Name: "document_kind", Data: &c.documentKind},
		{Name: "document_id", Data: &c.documentID},
		{Name: "document_version", Data: &c.documentVersion},
		{Name: "channel", Data: &c.channel},
		{Name: "origin_id", Data: &c.originID},
		{Name: "raw", Data: &c.raw},
	}
	return c
}

func (c *eventColumns) append(r *procure.Received) {
	e := r.Event
	c.tenant.AppendLikePrevious(e.Tenant)
	c.occurredAt.Append(e.OccurredAt)
	c.typ.AppendLikePrevious(string(e.Type))
	c.id.Append(e.ID)
	c.source.AppendLikePrevious(string(e.Source))
	c.receivedAt.Append(r.ReceivedAt)
	c.correlationID.Append(e.CorrelationID)
	c.traceID.Append(e.TraceID)
	c.plant.AppendLikePrevious(e.Plant)
	c.supplier.AppendLikePrevious(e.Supplier)
	c.documentKind.AppendLikePrevious(string(e.Document.Kind))
	c.documentID.Append(e.Document.ID)
	c.documentVersion.Append(uint32(e.Document.Version))
	c.channel.AppendLikePrevious(r.Channel)
	c.originID.Append(r.OriginID)
	c.raw.Append(unsafe.String(unsafe.SliceData(r.Raw), len(r.Raw))) // copied into the column, not kept
}

// eventBlockRows is the most events in one block. A larger batch is sent as
// several blocks of one INSERT, filled one after the other into the same
// column set, so the collector's memory for columns stays that of one
// block whatever writer.batch_size is. The server squashes the blocks of
// one INSERT (min_insert_block_size_rows, a million rows by default) and
// writes one part per table and view, as for a single block
// (docs/storage.md "Larger event inserts"). A connection lost mid-insert
// may leave some of the blocks stored: the writer's retry finds them in
// event_ids and inserts only the rest.
var eventBlockRows = 8192

// insertEventsNative writes evs as one INSERT through the native pool, in
// blocks of at most eventBlockRows.
func (s *Store) insertEventsNative(ctx context.Context, evs []procure.Received) error {
	c := s.eventCols.take(newEventColumns)
	next := 0
	fill := func() {
		end := min(next+eventBlockRows, len(evs))
		for i := next; i < end; i++ {
			c.append(&evs[i])
		}
		next = end
	}
	fill()
	err := s.native.Do(ctx, ch.Query{
		Body:     "INSERT INTO " + s.db + ".events (" + eventInsert + ") VALUES",
		Input:    c.input,
		Settings: s.eventSettings,
		OnInput: func(context.Context) error {
			c.input.Reset()
			if next == len(evs) {
				return io.EOF
			}
			fill()
			return nil
		},
	})
	c.input.Reset()
	s.eventCols.give(c, true)
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// WithEventInsertSettings adds query settings to the inserts of events
// (the benchmark's server-side variants; a later setting of the same name
// wins), and returns s. Call it before s is used.
func (s *Store) WithEventInsertSettings(settings ...ch.Setting) *Store {
	s.eventSettings = append(append([]ch.Setting(nil), eventInsertSettings...), settings...)
	return s
}
