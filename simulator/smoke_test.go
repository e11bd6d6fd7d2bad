package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

func TestSmoke(t *testing.T) {
	now := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	var evs []*procure.Event
	sink := SinkFunc(func(ctx context.Context, b []*procure.Event) error { evs = append(evs, b...); return nil })
	e, err := New(Config{Seed: 1}, sink, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Backfill(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	t.Logf("chains %d events %d", st.Chains, st.Events)
	for k, v := range st.ByType {
		t.Logf("%s %d", k, v)
	}
	bad := 0
	for _, ev := range evs {
		b, err := procure.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := procure.Decode(b); err != nil {
			bad++
			if bad < 5 {
				t.Errorf("%s: %v\n%s", ev.Type, err, b)
			}
		}
	}
}
