package simulator

import (
	"context"
	"slices"
	"testing"

	"github.com/supplywatch/supplywatch/procure"
)

// TestDailyMixHasOneReleasePerOrder checks one working day's orders at the
// default configuration, and logs the event mix (go test -v) for the
// documentation.
func TestDailyMixHasOneReleasePerOrder(t *testing.T) {
	sink, chains := completeChains(t, Config{Seed: 4}, 600)
	byType := map[procure.Type]int{}
	for _, ev := range sink.evs {
		if ev.CorrelationID != "" {
			byType[ev.Type]++
		}
	}
	types := procure.Types()
	slices.Sort(types)
	total := 0
	for _, ty := range types {
		t.Logf("%-28s %6d", ty, byType[ty])
		total += byType[ty]
	}
	inj := map[Failure]int{}
	for _, c := range chains {
		for _, in := range c.Injected {
			inj[in.Failure]++
		}
	}
	t.Logf("total %d events for %d orders; injected %v", total, len(chains), inj)
	if byType[procure.POReleased] != len(chains) {
		t.Errorf("%d po.released for %d orders, want one each", byType[procure.POReleased], len(chains))
	}
}

func BenchmarkAsFastAsPossible(b *testing.B) {
	sink := SinkFunc(func(context.Context, []*procure.Event) error { return nil })
	e, err := New(Config{Seed: 1}, sink, Options{Now: fixedClock})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := e.AsFastAsPossible(context.Background(), b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
