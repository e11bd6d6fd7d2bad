package slabench_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/rules/sla/slabench"
)

// A small run: every due timer fires once, with a lag well under a second.
func TestRunFiresEveryDueTimerOnce(t *testing.T) {
	r, err := slabench.Run(context.Background(), slabench.Config{URL: pgtest.BaseURL(), Timers: 20_000, Due: 300, Window: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Fired != 300 {
		t.Errorf("fired %d, want 300", r.Fired)
	}
	if r.LagP99 > time.Second {
		t.Errorf("lag p99 %s", r.LagP99)
	}
	r.Print(testWriter{t})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// BenchmarkTimers is the figure: 1,000,000 open timers in
// PostgreSQL, 5,000 due in a 20 s window; it reports peak RSS and the
// breach-to-exception lag.
func BenchmarkTimers(b *testing.B) {
	for b.Loop() {
		r, err := slabench.Run(context.Background(), slabench.Config{URL: pgtest.BaseURL()})
		if err != nil {
			b.Fatal(err)
		}
		r.Print(os.Stdout)
		b.ReportMetric(float64(r.LagP50)/float64(time.Millisecond), "lag-p50-ms")
		b.ReportMetric(float64(r.LagP99)/float64(time.Millisecond), "lag-p99-ms")
		b.ReportMetric(float64(r.PeakRSS)/(1<<20), "peak-RSS-MB")
	}
}
