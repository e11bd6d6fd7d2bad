package kpi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Ops are the operational figures of a tenant over a window ending now,
// and what is missing right now.
type Ops struct {
	From       time.Time    `json:"from"`
	To         time.Time    `json:"to"`
	Throughput []Throughput `json:"throughput"`
	// Failures are deliveries by partner (supplier) and target system.
	Failures []Failure `json:"failures"`
	// DeliveryErrorRate is failed ÷ (delivered + failed) messages;
	// IngestErrorRate is rejected inputs ÷ (events + rejected inputs).
	DeliveryErrorRate float64 `json:"delivery_error_rate"`
	IngestErrorRate   float64 `json:"ingest_error_rate"`
	// DeadLetter is the number of rejected inputs stored; DeadLetterWindow
	// those received in the window.
	DeadLetter       uint64 `json:"dead_letter"`
	DeadLetterWindow uint64 `json:"dead_letter_window"`
	// SLABreaches are SLA exceptions opened in the window.
	SLABreaches    uint64    `json:"sla_breaches"`
	Unacknowledged []OpenDoc `json:"unacknowledged_pos"`
	MissingASNs    []OpenDoc `json:"missing_asns"`
}

// Throughput is the events of one hour.
type Throughput struct {
	Hour   time.Time `json:"hour"`
	Events uint64    `json:"events"`
}

// Failure is the delivery outcome for a partner and a system.
type Failure struct {
	Target    string  `json:"target"`
	Supplier  string  `json:"supplier"`
	Delivered uint64  `json:"delivered"`
	Failed    uint64  `json:"failed"`
	ErrorRate float64 `json:"error_rate"`
}

// OpenDoc is a PO (line) waiting for something now.
type OpenDoc struct {
	Doc      string    `json:"doc"`
	Plant    string    `json:"plant"`
	Supplier string    `json:"supplier"`
	Since    time.Time `json:"since"` // release time, or the date the ASN is due by
}

// Ops returns the operational figures over window (24h when zero). ASNs
// are missing for confirmed, open PO lines due within asnDue (2 days when
// zero) that have neither an ASN nor a receipt.
func (q *Querier) Ops(ctx context.Context, tenant string, window, asnDue time.Duration) (*Ops, error) {
	if tenant == "" {
		return nil, procure.Errorf(procure.EINVALID, "tenant is required")
	}
	if window <= 0 {
		window = 24 * time.Hour
	}
	if asnDue <= 0 {
		asnDue = 48 * time.Hour
	}
	now := q.now().UTC()
	o := &Ops{From: now.Add(-window), To: now}
	from := o.From.Format("2006-01-02 15:04:05")
	db := q.db
	rows, err := q.conn.Query(ctx, `SELECT hour, sum(events) FROM `+db+`.kpi_event_counts
		WHERE tenant = ? AND hour >= toStartOfHour(toDateTime(?, 'UTC')) GROUP BY hour ORDER BY hour`, tenant, from)
	if err != nil {
		return nil, fmt.Errorf("ops throughput: %w", err)
	}
	var events uint64
	for rows.Next() {
		var t Throughput
		if err := rows.Scan(&t.Hour, &t.Events); err != nil {
			rows.Close()
			return nil, err
		}
		events += t.Events
		o.Throughput = append(o.Throughput, t)
	}
	rows.Close()
	rows, err = q.conn.Query(ctx, `SELECT toString(target), toString(supplier), sum(delivered), sum(failed) FROM `+db+`.kpi_deliveries
		WHERE tenant = ? AND hour >= toStartOfHour(toDateTime(?, 'UTC')) GROUP BY target, supplier
		ORDER BY sum(failed) DESC, target, supplier LIMIT 200`, tenant, from)
	if err != nil {
		return nil, fmt.Errorf("ops failures: %w", err)
	}
	var delivered, failed uint64
	for rows.Next() {
		var f Failure
		if err := rows.Scan(&f.Target, &f.Supplier, &f.Delivered, &f.Failed); err != nil {
			rows.Close()
			return nil, err
		}
		if f.Delivered+f.Failed > 0 {
			f.ErrorRate = float64(f.Failed) / float64(f.Delivered+f.Failed)
		}
		delivered, failed = delivered+f.Delivered, failed+f.Failed
		o.Failures = append(o.Failures, f)
	}
	rows.Close()
	if delivered+failed > 0 {
		o.DeliveryErrorRate = float64(failed) / float64(delivered+failed)
	}
	if err := q.conn.QueryRow(ctx, `SELECT count(), countIf(received_at >= toDateTime64(?, 3, 'UTC')) FROM `+db+`.rejected WHERE tenant = ?`,
		from, tenant).Scan(&o.DeadLetter, &o.DeadLetterWindow); err != nil {
		return nil, fmt.Errorf("ops dead letter: %w", err)
	}
	if events+o.DeadLetterWindow > 0 {
		o.IngestErrorRate = float64(o.DeadLetterWindow) / float64(events+o.DeadLetterWindow)
	}
	if err := q.conn.QueryRow(ctx, `SELECT uniqExact(exception_id) FROM `+db+`.exception_history
		WHERE tenant = ? AND exc_kind = 'sla' AND kind = 'exception.opened' AND at >= toDateTime64(?, 3, 'UTC')`, tenant, from).Scan(&o.SLABreaches); err != nil {
		return nil, fmt.Errorf("ops sla breaches: %w", err)
	}
	nowS := now.Format("2006-01-02 15:04:05")
	rows, err = q.conn.Query(ctx, `SELECT po, max(plant), max(supplier), min(released_at) AS rel FROM `+db+`.kpi_orders
		WHERE tenant = ? GROUP BY po
		HAVING rel IS NOT NULL AND rel <= toDateTime64(?, 3, 'UTC') AND min(first_ack_at) IS NULL AND min(cancelled_at) IS NULL
		ORDER BY rel LIMIT 1000`, tenant, nowS)
	if err != nil {
		return nil, fmt.Errorf("ops unacknowledged: %w", err)
	}
	for rows.Next() {
		var d OpenDoc
		var rel *time.Time
		if err := rows.Scan(&d.Doc, &d.Plant, &d.Supplier, &rel); err != nil {
			rows.Close()
			return nil, err
		}
		if rel != nil {
			d.Since = *rel
		}
		o.Unacknowledged = append(o.Unacknowledged, d)
	}
	rows.Close()
	due := now.Add(asnDue).Format(time.DateOnly)
	rows, err = q.conn.Query(bigQuery(ctx), `SELECT concat(l.po, '/', toString(l.line)), l.plant, l.supplier, toDateTime(l.due) FROM (
		SELECT po, line, plant, supplier, ack_status AS status, asn_at, receipt_at, released_at AS rel,
		       if(ack_date > toDate('1970-01-01'), ack_date, need_by) AS due
		FROM `+strings.ReplaceAll(linesSQL("tenant = ?"), "{db}", db)+`) AS l
		LEFT JOIN (SELECT po, min(cancelled_at) AS c FROM `+db+`.kpi_orders WHERE tenant = ? GROUP BY po) AS c ON c.po = l.po
		WHERE l.rel IS NOT NULL AND l.status IN ('accepted', 'changed', 'backordered') AND l.asn_at IS NULL
		  AND l.receipt_at IS NULL AND c.c IS NULL AND l.due <= toDate(?)
		ORDER BY l.due, l.po, l.line LIMIT 1000`, tenant, tenant, tenant, due) // tenant: both sides of the lines, the orders
	if err != nil {
		return nil, fmt.Errorf("ops missing asns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d OpenDoc
		if err := rows.Scan(&d.Doc, &d.Plant, &d.Supplier, &d.Since); err != nil {
			return nil, err
		}
		o.MissingASNs = append(o.MissingASNs, d)
	}
	return o, rows.Err()
}
