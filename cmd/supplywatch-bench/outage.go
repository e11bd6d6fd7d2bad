package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/internal/cutproxy"
)

// outageBench (issue 9): a collector runs with ClickHouse behind a proxy
// that is cut while an older backlog is produced and then for 60 s while
// events arrive at 5,000/s, so that 1,000,000 events wait when ClickHouse
// returns.
// It reports when /readyz turned false, how long the backlog takes to be
// stored once ClickHouse is back (arrivals continue at 5,000/s), and the
// collector's peak RSS over the whole run.
func outageBench(ctx context.Context, e *benchEnv, backlog int, outage time.Duration) error {
	const rate = 5000
	arrivals := int(outage.Seconds()) * rate
	older := max(backlog-arrivals, 0)
	proxy, err := cutproxy.New(e.ch.NativeAddr())
	if err != nil {
		return err
	}
	defer proxy.Close()
	const topic, db = "bench.outage", "bench_outage"
	c, err := e.startCollector(topic, db, "SUPPLYWATCH_CLICKHOUSE_ADDR="+proxy.Addr(), "SUPPLYWATCH_WRITER_STALL_AFTER=10s")
	if err != nil {
		return err
	}
	defer c.cmd.Process.Kill()
	pid := c.cmd.Process.Pid

	proxy.Cut()
	cutAt := time.Now()
	// Readiness, polled through the outage.
	var notReady atomic.Int64
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go func() {
		for pollCtx.Err() == nil {
			resp, err := http.Get("http://" + c.httpAddr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && notReady.Load() == 0 {
					notReady.Store(int64(time.Since(cutAt)))
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	// The older backlog first, then arrivals at the rate for the outage.
	now := time.Now()
	values := make([][]byte, older)
	for i := range values {
		values[i] = benchEvent("out", i, now)
	}
	if err := e.produce(ctx, topic, values, true); err != nil {
		return err
	}
	values = nil
	w := &kafkago.Writer{Addr: kafkago.TCP(e.brokers...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{}, BatchTimeout: time.Millisecond, BatchSize: 1000, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	sent := older
	send := func(prefix string, until func() bool) error {
		const tick = 10 * time.Millisecond
		t := time.NewTicker(tick)
		defer t.Stop()
		start, n := time.Now(), 0
		for !until() {
			<-t.C
			due := int(time.Since(start)*rate/time.Second) - n
			msgs := make([]kafkago.Message, max(due, 0))
			stamp := strconv.AppendInt(nil, time.Now().UnixMilli(), 10)
			for i := range msgs {
				msgs[i] = kafkago.Message{Key: []byte(strconv.Itoa(n + i)), Value: benchEvent(prefix, sent+i, time.Now()), Headers: []kafkago.Header{{Key: "supplywatch-received-at", Value: stamp}}}
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				return err
			}
			n += len(msgs)
			sent += len(msgs)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	}
	// Arrivals for the whole outage after the older backlog is on the
	// topic, so that the backlog is the one asked for; the outage lasts
	// that long plus the time the older backlog took to produce.
	arrivalsFrom := time.Now()
	if err := send("out", func() bool { return time.Since(arrivalsFrom) >= outage }); err != nil {
		return err
	}
	waiting := sent
	stored, err := e.count(ctx, "SELECT count() FROM "+db+".events")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "outage: %d events waiting (%d stored) when ClickHouse returns\n", waiting-int(stored), stored)
	proxy.Restore()
	restored := time.Now()
	q := "SELECT count() FROM " + db + ".events WHERE startsWith(id, 'out-')"
	drained := func() bool {
		n, err := e.count(ctx, q)
		return err == nil && n >= uint64(waiting)
	}
	// Arrivals go on at the rate while the backlog drains.
	if err := send("live", drained); err != nil {
		return err
	}
	drain := time.Since(restored)
	stopPoll()
	rss, err := peakRSS(pid)
	if err != nil {
		return err
	}
	figure("outage_backlog_events", float64(waiting-int(stored)), "events")
	figure("outage_duration", restored.Sub(cutAt).Seconds(), "s")
	if d := time.Duration(notReady.Load()); d > 0 {
		figure("outage_readyz_false_after", d.Seconds(), "s")
	} else {
		figure("outage_readyz_false_after", -1, "s (never)")
	}
	figure("outage_backlog_drain_time", drain.Seconds(), "s")
	figure("outage_backlog_drain_events_per_second", float64(waiting-int(stored))/drain.Seconds(), "events/s")
	figure("outage_collector_peak_rss", float64(rss)/(1<<20), "MB")
	return c.stop()
}
