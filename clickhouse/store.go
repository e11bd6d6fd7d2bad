package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/chpool"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/procure"
)

// Store reads and writes the fact tables of one database.
type Store struct {
	conn driver.Conn
	db   string
	// native is the pool span and event batches are written through when
	// set, spanCols and eventCols the column sets kept for their next
	// batches; see InsertSpans and InsertEvents.
	native    *chpool.Pool
	spanCols  columnSet[spanColumns]
	eventCols columnSet[eventColumns]
	// eventSettings are the query settings of an events insert.
	eventSettings []ch.Setting
}

// columnSet keeps one set of insert columns between batches. Not a
// sync.Pool: a pool is emptied by every other collection, and the collector
// collects often enough that the buffers were rebuilt and regrown for
// nearly every batch.
type columnSet[T any] struct {
	mu   sync.Mutex
	kept *T
}

// take returns the kept set, or a new one when it is in use (concurrent
// inserts) or was dropped.
func (k *columnSet[T]) take(newSet func() *T) *T {
	k.mu.Lock()
	c := k.kept
	k.kept = nil
	k.mu.Unlock()
	if c == nil {
		c = newSet()
	}
	return c
}

// give keeps c, reset, for the next batch, unless keep is false (a set
// that held an unusually large batch is dropped, so that one such batch
// does not pin its memory).
func (k *columnSet[T]) give(c *T, keep bool) {
	if !keep {
		return
	}
	k.mu.Lock()
	k.kept = c
	k.mu.Unlock()
}

// NewStore returns a Store over the tables of database db. A store that
// writes spans needs a native pool as well (WithNative).
func NewStore(conn driver.Conn, db string) *Store {
	return &Store{conn: conn, db: db, eventSettings: eventInsertSettings}
}

// eventInsertSettings are the query settings of every events insert.
// parallel_view_processing: an insert into events feeds a dozen
// materialized views (event_ids and the KPI fact tables), which the server
// otherwise pushes the block through one after the other on one thread;
// in parallel the insert's wall time shrinks while its CPU stays the same,
// and the writer, which waits for each insert, stores more events a second
// (docs/storage.md "Views in parallel").
var eventInsertSettings = []ch.Setting{{Key: "parallel_view_processing", Value: "1"}}

// WithNative gives s the native pool (OpenNative) that InsertSpans writes
// through, and returns s. Call it before s is used.
func (s *Store) WithNative(p *chpool.Pool) *Store {
	s.native = p
	return s
}

// Conn is the underlying connection, for queries of other packages' own.
func (s *Store) Conn() driver.Conn { return s.conn }

// Database is the name of the database the store writes to.
func (s *Store) Database() string { return s.db }

// ExistingEvents returns which of keys are stored already. The ids travel as
// an external table, so a batch of any size is one round trip.
func (s *Store) ExistingEvents(ctx context.Context, keys []procure.EventKey) (map[procure.EventKey]bool, error) {
	m, err := s.existingEvents(ctx, keys)
	return m, serverFailure(err)
}

func (s *Store) existingEvents(ctx context.Context, keys []procure.EventKey) (map[procure.EventKey]bool, error) {
	found := make(map[procure.EventKey]bool)
	if len(keys) == 0 {
		return found, nil
	}
	if s.native != nil {
		if err := s.existingEventsNative(ctx, keys, found); err != nil {
			return nil, err
		}
		return found, nil
	}
	t, err := ext.NewTable("batch_ids", ext.Column("id", "String"))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := t.Append(k.ID); err != nil {
			return nil, err
		}
	}
	rows, err := s.conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)),
		"SELECT tenant, id FROM "+s.db+".event_ids WHERE id IN (SELECT id FROM batch_ids)")
	if err != nil {
		return nil, fmt.Errorf("look up %d event ids: %w", len(keys), err)
	}
	defer rows.Close()
	for rows.Next() {
		var k procure.EventKey
		if err := rows.Scan(&k.Tenant, &k.ID); err != nil {
			return nil, err
		}
		found[k] = true
	}
	return found, rows.Err()
}

// existingEventsNative is existingEvents through the native pool: the ids
// go as one column in wire format, not appended row by row through
// clickhouse-go's external table (a batch is tens of thousands of ids).
func (s *Store) existingEventsNative(ctx context.Context, keys []procure.EventKey, found map[procure.EventKey]bool) error {
	var ids strColumn
	for _, k := range keys {
		ids.Append(k.ID)
	}
	var tenant, id proto.ColStr
	err := s.native.Do(ctx, ch.Query{
		Body:          "SELECT CAST(tenant, 'String') AS tenant, id FROM " + s.db + ".event_ids WHERE id IN (SELECT id FROM batch_ids)",
		ExternalTable: "batch_ids",
		ExternalData:  []proto.InputColumn{{Name: "id", Data: &ids}},
		Result:        proto.Results{{Name: "tenant", Data: &tenant}, {Name: "id", Data: &id}},
		OnResult: func(context.Context, proto.Block) error {
			for i := range id.Rows() {
				found[procure.EventKey{Tenant: tenant.Row(i), ID: id.Row(i)}] = true
			}
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("look up %d event ids: %w", len(keys), err)
	}
	return nil
}

// ExistingRejections returns which of the input ids are in rejected already.
func (s *Store) ExistingRejections(ctx context.Context, inputIDs []string) (map[string]bool, error) {
	m, err := s.existingRejections(ctx, inputIDs)
	return m, serverFailure(err)
}

func (s *Store) existingRejections(ctx context.Context, inputIDs []string) (map[string]bool, error) {
	found := make(map[string]bool)
	if len(inputIDs) == 0 {
		return found, nil
	}
	t, err := ext.NewTable("batch_ids", ext.Column("id", "String"))
	if err != nil {
		return nil, err
	}
	for _, id := range inputIDs {
		if err := t.Append(id); err != nil {
			return nil, err
		}
	}
	rows, err := s.conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)),
		"SELECT input_id FROM "+s.db+".rejected WHERE input_id IN (SELECT id FROM batch_ids)")
	if err != nil {
		return nil, fmt.Errorf("look up %d rejection ids: %w", len(inputIDs), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	return found, rows.Err()
}

// InsertEvents writes events as one columnar batch: through the native pool
// with reused typed columns when the store has one (the collector), else
// through clickhouse-go.
func (s *Store) InsertEvents(ctx context.Context, evs []procure.Received) error {
	return serverFailure(s.insertEvents(ctx, evs))
}

func (s *Store) insertEvents(ctx context.Context, evs []procure.Received) error {
	if len(evs) == 0 {
		return nil
	}
	if s.native != nil {
		return s.insertEventsNative(ctx, evs)
	}
	n := len(evs)
	var (
		tenant, typ, id, source, corr, trace, plant, supplier, dkind, did, channel, origin, raw = mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n)
		occurred, received                                                                      = make([]time.Time, n), make([]time.Time, n)
		version                                                                                 = make([]uint32, n)
	)
	for i := range evs {
		r := &evs[i]
		e := r.Event
		tenant[i], typ[i], id[i], source[i] = e.Tenant, string(e.Type), e.ID, string(e.Source)
		corr[i], trace[i], plant[i], supplier[i] = e.CorrelationID, e.TraceID, e.Plant, e.Supplier
		dkind[i], did[i], version[i] = string(e.Document.Kind), e.Document.ID, uint32(e.Document.Version)
		// The raw bytes are immutable once received: share them with the
		// column instead of copying (the insert is the hot path).
		channel[i], origin[i], raw[i] = r.Channel, r.OriginID, unsafe.String(unsafe.SliceData(r.Raw), len(r.Raw))
		occurred[i], received[i] = e.OccurredAt, r.ReceivedAt
	}
	settings := clickhouse.Settings{}
	for _, st := range s.eventSettings {
		settings[st.Key] = st.Value
	}
	return s.insertColumns(clickhouse.Context(ctx, clickhouse.WithSettings(settings)), "events",
		"tenant, occurred_at, type, id, source, received_at, correlation_id, trace_id, plant, supplier, document_kind, document_id, document_version, channel, origin_id, raw",
		tenant, occurred, typ, id, source, received, corr, trace, plant, supplier, dkind, did, version, channel, origin, raw)
}

// InsertRejections writes rejected inputs as one batch, each bounded
// (procure.Rejection.Bound) first.
func (s *Store) InsertRejections(ctx context.Context, rs []procure.Rejection) error {
	return serverFailure(s.insertRejections(ctx, rs))
}

func (s *Store) insertRejections(ctx context.Context, rs []procure.Rejection) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	received := make([]time.Time, n)
	input, channel, stage, tenant, source, sender, eid, etype, field, reason, raw, sha, ref, topic := mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n), mk(n)
	size := make([]uint64, n)
	part := make([]int32, n)
	off := make([]int64, n)
	for i := range rs {
		r := &rs[i]
		r.Bound()
		received[i], input[i], channel[i], stage[i], tenant[i], source[i] = r.ReceivedAt, r.InputID, r.Channel, r.Stage, r.Tenant, r.Source
		sender[i] = r.Sender
		eid[i], etype[i], field[i], reason[i], raw[i] = r.EventID, r.EventType, r.Field, r.Reason, string(r.Raw)
		size[i], sha[i], ref[i] = uint64(r.RawSize), r.RawSHA256, r.OriginalRef
		topic[i], part[i], off[i] = r.Topic, r.Partition, r.Offset
	}
	return s.insertColumns(ctx, "rejected",
		"received_at, input_id, channel, stage, tenant, source, sender, event_id, event_type, field, reason, raw, raw_size, raw_sha256, original_ref, kafka_topic, kafka_partition, kafka_offset",
		received, input, channel, stage, tenant, source, sender, eid, etype, field, reason, raw, size, sha, ref, topic, part, off)
}

// insertColumns sends one column-oriented batch: one Append per column, which
// is what keeps the insert cheap for the collector's CPU.
func (s *Store) insertColumns(ctx context.Context, table, columns string, cols ...any) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+"."+table+" ("+columns+")")
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", table, err)
	}
	defer batch.Abort()
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			return fmt.Errorf("insert into %s column %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}

func mk(n int) []string { return make([]string, n) }

// Document is a B2B document as received.
type Document struct {
	OriginID   string
	ReceivedAt time.Time
	Tenant     string
	Format     string
	Partners   []string
	Status     string
	Body       []byte
}

// InsertDocument stores one received document (a repeat of the same bytes
// collapses on origin_id).
func (s *Store) InsertDocument(ctx context.Context, d Document) error {
	return serverFailure(s.insertDocument(ctx, d))
}

func (s *Store) insertDocument(ctx context.Context, d Document) error {
	partners := d.Partners
	if partners == nil {
		partners = []string{}
	}
	return s.insertColumns(ctx, "documents", "origin_id, received_at, tenant, format, partners, status, body",
		[]string{d.OriginID}, []time.Time{d.ReceivedAt}, []string{d.Tenant}, []string{d.Format}, [][]string{partners}, []string{d.Status}, []string{string(d.Body)})
}
