package otlp_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector/otlp/otlpbench"
)

func TestMain(m *testing.M) {
	otlpbench.MaybeRunSender()
	chtest.Main(m)
}

// BenchmarkOTLPIngest sends 1,000,000 spans (SUPPLYWATCH_OTLP_BENCH_SPANS
// to change) with the OpenTelemetry SDK and prints the collector's spans per
// CPU-second and peak RSS. It is one measured run whatever b.N, and the peak
// RSS is the process's: run it alone,
//
//	go test ./collector/otlp/ -run '^$' -bench OTLPIngest -benchtime 1x
func BenchmarkOTLPIngest(b *testing.B) {
	conn, db, addr := chtest.DB(b)
	native, err := clickhouse.OpenNative(context.Background(), clickhouse.Config{Addr: []string{addr}})
	if err != nil {
		b.Fatal(err)
	}
	defer native.Close()
	spans := 1_000_000
	if v := os.Getenv("SUPPLYWATCH_OTLP_BENCH_SPANS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("SUPPLYWATCH_OTLP_BENCH_SPANS: %v", err)
		}
		spans = n
	}
	{
		res, err := otlpbench.RunSpanBench(context.Background(), otlpbench.Config{Conn: conn, Native: native, Database: db, Spans: spans,
			Gzip: os.Getenv("SUPPLYWATCH_OTLP_BENCH_GZIP") == "1", CPUProfile: os.Getenv("SUPPLYWATCH_OTLP_BENCH_CPUPROFILE")})
		if err != nil {
			b.Fatal(err)
		}
		res.Print(os.Stdout)
		if res.Stored != uint64(spans) {
			b.Errorf("stored %d spans, sent %d", res.Stored, spans)
		}
		b.ReportMetric(res.SpansPerCPUSecond(), "spans/cpu-s")
		b.ReportMetric(float64(res.PeakRSSBytes>>20), "peak-rss-MB")
	}
}
