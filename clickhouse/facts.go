package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/sync/errgroup"
)

// Facts reads the events, spans, rejected and exception-history tables
// of one database for the console (console.Facts): timelines, delivery
// outcomes, dead letters, plants and the operations figures.
type Facts struct {
	conn driver.Conn
	db   string
}

// NewFacts returns Facts over database db.
func NewFacts(conn driver.Conn, db string) *Facts {
	return &Facts{conn: conn, db: db}
}

const maxData = 4096

// Timeline runs at most three queries: events of the documents (which
// yield correlation and trace ids), then at once the other events of those
// correlation ids and the spans of all of them. Each is pruned by partition
// (the time window) and by the bloom-filter skip indexes.
func (f *Facts) Timeline(ctx context.Context, tenant string, q procure.TimelineQuery) ([]*procure.TimelineEntry, error) {
	limit := q.Limit
	if limit <= 0 || limit > 2000 {
		limit = 500
	}
	since, until := q.Since, q.Until
	if since.IsZero() {
		since = time.Now().AddDate(-1, 0, 0)
	}
	if until.IsZero() {
		until = time.Now().Add(24 * time.Hour)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var out []*procure.TimelineEntry
	corrs := slices.Clone(q.Correlations)
	var traces []string
	plantCond, plantArgs := "", []any{}
	if q.Plants != nil {
		plantCond, plantArgs = " AND plant IN ?", []any{q.Plants}
	}
	window := func(col string) (string, []any) {
		return col + " >= fromUnixTimestamp64Milli(?) AND " + col + " < fromUnixTimestamp64Milli(?)", []any{since.UnixMilli(), until.UnixMilli()}
	}
	events := func(ctx context.Context, cond string, collect bool, args ...any) error {
		wc, wa := window("occurred_at")
		args = append(append(append([]any{tenant}, wa...), args...), plantArgs...)
		rows, err := f.conn.Query(ctx, `SELECT occurred_at, type, source, id, correlation_id, trace_id, document_kind, document_id,
			plant, supplier, substring(data, 1, `+fmt.Sprint(maxData)+`)
			FROM `+f.db+`.events WHERE tenant = ? AND `+wc+` AND `+cond+plantCond+
			` ORDER BY occurred_at LIMIT `+fmt.Sprint(limit), args...)
		if err != nil {
			return fmt.Errorf("timeline events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e := &procure.TimelineEntry{Kind: "event"}
			if err := rows.Scan(&e.At, &e.Type, &e.Source, &e.ID, &e.CorrelationID, &e.TraceID, &e.DocumentKind, &e.DocumentID,
				&e.Plant, &e.Supplier, &e.Data); err != nil {
				return err
			}
			mu.Lock()
			if !seen["e"+e.ID] {
				seen["e"+e.ID] = true
				out = append(out, e)
				if collect && e.CorrelationID != "" && !slices.Contains(corrs, e.CorrelationID) {
					corrs = append(corrs, e.CorrelationID)
				}
				if collect && e.TraceID != "" && !slices.Contains(traces, e.TraceID) {
					traces = append(traces, e.TraceID)
				}
			}
			mu.Unlock()
		}
		return rows.Err()
	}
	// scoped: spans carry no plant, so a plant-scoped caller sees only the
	// spans of the documents, correlation and trace ids of events it may
	// see (never those of an id it merely asked for).
	scoped := q.Plants != nil
	spans := func(ctx context.Context) error {
		docs, cs, ts := q.Documents, corrs, traces
		if scoped {
			docs, cs, ts = nil, nil, nil
			for _, e := range out {
				if e.Kind != "event" {
					continue
				}
				for _, k := range []struct {
					v   string
					dst *[]string
				}{{e.DocumentID, &docs}, {e.CorrelationID, &cs}, {e.TraceID, &ts}} {
					if k.v != "" && !slices.Contains(*k.dst, k.v) {
						*k.dst = append(*k.dst, k.v)
					}
				}
			}
			if len(docs)+len(cs)+len(ts) == 0 {
				return nil
			}
		}
		conds, args := []string{}, []any{}
		if len(docs) > 0 {
			conds, args = append(conds, "document_id IN ?"), append(args, docs)
		}
		if len(cs) > 0 {
			conds, args = append(conds, "correlation_id IN ?"), append(args, cs)
		}
		if len(ts) > 0 {
			conds, args = append(conds, "trace_id IN ?"), append(args, ts)
		}
		wc, wa := window("start_time")
		rows, err := f.conn.Query(ctx, `SELECT start_time, name, service_name, trace_id, span_id, parent_span_id, duration_ns,
			status_code, status_message, correlation_id, document_id
			FROM `+f.db+`.spans_v2 WHERE tenant = ? AND `+wc+` AND (`+strings.Join(conds, " OR ")+`) ORDER BY start_time LIMIT `+fmt.Sprint(limit),
			append(append([]any{tenant}, wa...), args...)...)
		if err != nil {
			return fmt.Errorf("timeline spans: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e := &procure.TimelineEntry{Kind: "span"}
			var dur uint64
			if err := rows.Scan(&e.At, &e.Type, &e.Source, &e.TraceID, &e.SpanID, &e.ParentSpanID, &dur, &e.Status, &e.Message,
				&e.CorrelationID, &e.DocumentID); err != nil {
				return err
			}
			e.ID, e.DurationMS = e.SpanID, float64(dur)/1e6
			mu.Lock()
			out = append(out, e)
			mu.Unlock()
		}
		return rows.Err()
	}
	if len(q.Documents) > 0 {
		if err := events(ctx, "document_id IN ?", true, q.Documents); err != nil {
			return nil, err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	if len(corrs) > 0 {
		cs := slices.Clone(corrs)
		if len(q.Documents) > 0 {
			g.Go(func() error {
				return events(gctx, "correlation_id IN ? AND document_id NOT IN ?", false, cs, q.Documents)
			})
		} else {
			g.Go(func() error { return events(gctx, "correlation_id IN ?", true, cs) })
		}
	}
	if len(q.Documents) > 0 && !scoped {
		g.Go(func() error { return spans(gctx) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if scoped || len(q.Documents) == 0 && len(corrs) > 0 {
		if err := spans(ctx); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	for _, e := range out {
		e.At = e.At.UTC()
	}
	if out == nil {
		out = []*procure.TimelineEntry{}
	}
	return out, nil
}

// FailedDelivery returns the latest message.failed of the message.
func (f *Facts) FailedDelivery(ctx context.Context, tenant, messageID string) (*procure.FailedDelivery, error) {
	rows, err := f.conn.Query(ctx, `SELECT id, occurred_at, correlation_id, data FROM `+f.db+`.events
		WHERE tenant = ? AND type = 'message.failed' AND document_id = ? ORDER BY occurred_at DESC LIMIT 1`, tenant, messageID)
	if err != nil {
		return nil, fmt.Errorf("failed delivery %s: %w", messageID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, procure.Errorf(procure.ENOTFOUND, "no message.failed event for message %s", messageID)
	}
	var fd procure.FailedDelivery
	var data string
	if err := rows.Scan(&fd.EventID, &fd.At, &fd.CorrelationID, &data); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &fd.Delivery); err != nil {
		return nil, fmt.Errorf("message.failed %s data: %w", fd.EventID, err)
	}
	if fd.Delivery.MessageID == "" {
		fd.Delivery.MessageID = messageID
	}
	fd.At = fd.At.UTC()
	return &fd, nil
}

// DeliveryOutcomes returns the latest delivery event per message after
// since.
func (f *Facts) DeliveryOutcomes(ctx context.Context, tenant string, ids []string, since time.Time) (map[string]procure.DeliveryOutcome, error) {
	out := map[string]procure.DeliveryOutcome{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := f.conn.Query(ctx, `SELECT document_id, argMax(type, occurred_at), max(occurred_at),
		argMax(JSONExtractString(data, 'error'), occurred_at)
		FROM `+f.db+`.events WHERE tenant = ? AND type IN ('message.delivered', 'message.failed') AND document_id IN ? AND occurred_at > fromUnixTimestamp64Milli(?)
		GROUP BY document_id`, tenant, ids, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("delivery outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var o procure.DeliveryOutcome
		if err := rows.Scan(&id, &o.Type, &o.At, &o.Error); err != nil {
			return nil, err
		}
		o.At = o.At.UTC()
		out[id] = o
	}
	return out, rows.Err()
}

// Rejected returns dead letters, newest first.
func (f *Facts) Rejected(ctx context.Context, tenant string, rf procure.RejectedFilter) ([]*procure.Rejected, error) {
	limit := rf.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	where, args := "tenant = ?", []any{tenant}
	if rf.Untenanted {
		where = "tenant IN (?, '')"
	}
	if rf.Channel != "" {
		where, args = where+" AND channel = ?", append(args, rf.Channel)
	}
	if rf.Stage != "" {
		where, args = where+" AND stage = ?", append(args, rf.Stage)
	}
	if rf.Reason != "" {
		where, args = where+" AND positionCaseInsensitive(reason, ?) > 0", append(args, rf.Reason)
	}
	if len(rf.InputIDs) > 0 {
		where, args = where+" AND input_id IN ?", append(args, rf.InputIDs)
	}
	if !rf.Before.IsZero() {
		where, args = where+" AND received_at < fromUnixTimestamp64Milli(?)", append(args, rf.Before.UnixMilli())
	}
	rows, err := f.conn.Query(ctx, `SELECT received_at, input_id, channel, tenant, source, event_id, event_type, field, reason, raw,
		kafka_topic, kafka_partition, kafka_offset, stage, sender FROM `+f.db+`.rejected FINAL WHERE `+where+
		` ORDER BY received_at DESC LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("dead letter: %w", err)
	}
	defer rows.Close()
	out := []*procure.Rejected{}
	for rows.Next() {
		r := &procure.Rejected{}
		if err := rows.Scan(&r.ReceivedAt, &r.InputID, &r.Channel, &r.Tenant, &r.Source, &r.EventID, &r.EventType, &r.Field,
			&r.Reason, &r.Raw, &r.Topic, &r.Partition, &r.Offset, &r.Stage, &r.Sender); err != nil {
			return nil, err
		}
		r.ReceivedAt = r.ReceivedAt.UTC()
		// Rows stored before secrets were redacted at the edge are
		// redacted here: the API never shows a credential.
		r.Raw = string(procure.RedactSecrets([]byte(r.Raw)))
		out = append(out, r)
	}
	return out, rows.Err()
}

// CorrelatedDocuments returns the document ids of a correlation id.
func (f *Facts) CorrelatedDocuments(ctx context.Context, tenant, corr string) ([]string, error) {
	rows, err := f.conn.Query(ctx, `SELECT DISTINCT document_id FROM `+f.db+`.events
		WHERE tenant = ? AND correlation_id = ? AND document_id != '' LIMIT 100`, tenant, corr)
	if err != nil {
		return nil, fmt.Errorf("correlated documents: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Plants returns the plants with events since since.
func (f *Facts) Plants(ctx context.Context, tenant string, since time.Time) ([]string, error) {
	rows, err := f.conn.Query(ctx, `SELECT DISTINCT toString(plant) FROM `+f.db+`.events
		WHERE tenant = ? AND occurred_at >= ? AND plant != '' ORDER BY 1 LIMIT 1000`, tenant, since)
	if err != nil {
		return nil, fmt.Errorf("plants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Operations reads the window's figures of a tenant: five small
// aggregations pruned by partition and primary key (events by tenant and
// day; the dead letter by month; the exception history by tenant).
func (f *Facts) Operations(ctx context.Context, tenant string, from, to time.Time) (*procure.Operations, error) {
	o := &procure.Operations{From: from, To: to, Throughput: []procure.SourceCount{}, Rejects: []procure.ReasonCount{}, Breaches: []procure.RuleCount{}, Deliveries: []procure.TargetCount{}}
	rows, err := f.conn.Query(ctx, `SELECT toString(source), toString(supplier), count() FROM `+f.db+`.events
		WHERE tenant = ? AND toDate(occurred_at) >= toDate(?) AND received_at >= ? AND received_at < ?
		GROUP BY source, supplier ORDER BY count() DESC, source, supplier LIMIT 100`, tenant, from, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations throughput: %w", err)
	}
	for rows.Next() {
		var s procure.SourceCount
		if err := rows.Scan(&s.Source, &s.Supplier, &s.Events); err != nil {
			rows.Close()
			return nil, err
		}
		o.Throughput = append(o.Throughput, s)
	}
	rows.Close()
	var lat procure.IngestLatency
	var qs []float64
	if err := f.conn.QueryRow(ctx, `SELECT count(), quantiles(0.5, 0.95, 0.99)(toFloat64(stored_at - received_at) * 1000), toFloat64(max(stored_at - received_at)) * 1000
		FROM `+f.db+`.events WHERE tenant = ? AND toDate(occurred_at) >= toDate(?) AND received_at >= ? AND received_at < ?`,
		tenant, from, from, to).Scan(&lat.Events, &qs, &lat.Max); err != nil {
		return nil, fmt.Errorf("operations latency: %w", err)
	}
	if lat.Events > 0 && len(qs) == 3 {
		lat.P50, lat.P95, lat.P99 = qs[0], qs[1], qs[2]
		o.Latency = &lat
	}
	rows, err = f.conn.Query(ctx, `SELECT toString(channel), field, reason, count(), max(received_at) FROM `+f.db+`.rejected FINAL
		WHERE (tenant = ? OR tenant = '') AND received_at >= ? AND received_at < ?
		GROUP BY channel, field, reason ORDER BY count() DESC LIMIT 100`, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations rejects: %w", err)
	}
	for rows.Next() {
		var r procure.ReasonCount
		if err := rows.Scan(&r.Channel, &r.Field, &r.Reason, &r.Count, &r.Last); err != nil {
			rows.Close()
			return nil, err
		}
		o.Rejects = append(o.Rejects, r)
	}
	rows.Close()
	rows, err = f.conn.Query(ctx, `SELECT toString(rule), uniqExact(exception_id) FROM `+f.db+`.exception_history
		WHERE tenant = ? AND exc_kind = 'sla' AND kind = 'exception.opened' AND at >= ? AND at < ?
		GROUP BY rule ORDER BY 2 DESC, rule LIMIT 100`, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations sla breaches: %w", err)
	}
	for rows.Next() {
		var r procure.RuleCount
		if err := rows.Scan(&r.Rule, &r.Count); err != nil {
			rows.Close()
			return nil, err
		}
		o.Breaches = append(o.Breaches, r)
	}
	rows.Close()
	rows, err = f.conn.Query(ctx, `SELECT toString(target), sum(delivered), sum(failed) FROM `+f.db+`.kpi_deliveries
		WHERE tenant = ? AND hour >= toStartOfHour(?) AND hour < ? GROUP BY target ORDER BY 3 DESC, target LIMIT 100`, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t procure.TargetCount
		if err := rows.Scan(&t.Target, &t.Delivered, &t.Failed); err != nil {
			return nil, err
		}
		o.Deliveries = append(o.Deliveries, t)
	}
	return o, rows.Err()
}
