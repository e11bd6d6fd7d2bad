package kpi

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Traffic is what ReplayTraffic did.
type Traffic struct {
	Events, Batches int
	// Took is the wall time of the replay; Rate the events per second
	// achieved (below the asked rate when the inserts could not keep up).
	Took time.Duration
	Rate float64
}

// ReplayTraffic inserts the events of POs [first, last) of the
// GeneratePOs history of about n events into db.events the way the
// collector does under steady traffic at rate events per second: in time
// order (occurred_at), one INSERT per flush, a flush holding what arrived
// since the previous one began: at least batch events (the collector
// flushes every 200 ms: about 200 events at 1,000 events/s) and, when an
// insert takes longer (a busy server), everything that arrived meanwhile,
// up to maxBatch (the collector's batch_size). rate 0 sends batches of
// batch events without pausing (a compressed replay). The events are
// generated first into a scratch table, numbered in time order, then
// copied flush by flush; stored_at is the time of each insert, as for
// real traffic.
func ReplayTraffic(ctx context.Context, conn driver.Conn, db string, n int, end time.Time, first, last, batch, maxBatch int, rate float64) (Traffic, error) {
	var tr Traffic
	raw, seq := db+".kpi_bench_traffic_raw", db+".kpi_bench_traffic"
	for _, t := range []string{raw, seq} {
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return tr, err
		}
		defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+t) //nolint:errcheck
	}
	if err := conn.Exec(ctx, "CREATE TABLE "+raw+" AS "+db+".events"); err != nil {
		return tr, fmt.Errorf("traffic: %w", err)
	}
	if err := generatePOs(ctx, conn, db, "kpi_bench_traffic_raw", n, end, first, last); err != nil {
		return tr, err
	}
	const cols = "tenant, occurred_at, type, id, source, received_at, plant, supplier, document_kind, document_id, document_version, channel, raw"
	if err := conn.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s ENGINE = MergeTree ORDER BY seq AS
SELECT row_number() OVER (ORDER BY occurred_at, id) AS seq, %s FROM %s`, seq, cols, raw)); err != nil {
		return tr, fmt.Errorf("traffic: number the events: %w", err)
	}
	var total uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+seq).Scan(&total); err != nil {
		return tr, err
	}
	t0 := time.Now()
	for lo := uint64(0); lo < total; {
		hi := min(lo+uint64(batch), total)
		if rate > 0 {
			// Wait for a batch to arrive, then take all that arrived.
			due := t0.Add(time.Duration(float64(hi) / rate * float64(time.Second)))
			select {
			case <-ctx.Done():
				return tr, ctx.Err()
			case <-time.After(time.Until(due)):
			}
			arrived := uint64(rate * time.Since(t0).Seconds())
			hi = min(max(hi, arrived), lo+uint64(maxBatch), total)
		}
		if err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s.events (%s) SELECT %s FROM %s WHERE seq > %d AND seq <= %d ORDER BY seq",
			db, cols, cols, seq, lo, hi)); err != nil {
			return tr, fmt.Errorf("traffic: batch at %d: %w", lo, err)
		}
		tr.Batches++
		lo = hi
	}
	tr.Events = int(total)
	tr.Took = time.Since(t0)
	tr.Rate = float64(total) / tr.Took.Seconds()
	return tr, nil
}
