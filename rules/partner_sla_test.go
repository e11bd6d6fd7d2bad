package rules

import (
	"context"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// TestFunctionalAckSLAFollowsThePartnerProfile: the functional-ack-overdue
// timer of the default rules runs for the SLA of the partner's profile (4 h
// for crossdock), 24 h for a partner whose profile sets none, and keeps the
// partner SLAs when the rule files are reloaded.
func TestFunctionalAckSLAFollowsThePartnerProfile(t *testing.T) {
	rs, err := LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(rs)
	ev.SetPartnerAckSLAs(map[string]time.Duration{"crossdock": 4 * time.Hour})
	duration := func(target string) time.Duration {
		t.Helper()
		e := &procure.Event{ID: "d-" + target, Type: procure.MessageDelivered, Source: procure.SourceMiddleware, Tenant: "acme",
			OccurredAt: time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC), Document: procure.DocumentRef{Kind: procure.DocMessage, ID: "crossdock/1001"},
			Payload: &procure.Delivery{MessageID: "crossdock/1001", Target: target, DocumentType: "x12 850", Attempt: 1}}
		var got time.Duration = -1
		err := NewMemStore().InTx(context.Background(), func(tx procure.StateTx) error {
			bt := newBatch(context.Background(), tx)
			apply(bt, e)
			out, err := ev.Rules().Evaluate(e, bt)
			for _, o := range out.Timers {
				if o.SLA == "functional-ack-overdue" && o.Start {
					got = o.Duration
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if d := duration("partner:crossdock"); d != 4*time.Hour {
		t.Fatalf("crossdock: %s, want its profile's 4h", d)
	}
	if d := duration("partner:other"); d != 24*time.Hour {
		t.Fatalf("a partner without an SLA: %s, want 24h", d)
	}
	reloaded, err := LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev.Set(reloaded)
	if d := duration("partner:crossdock"); d != 4*time.Hour {
		t.Fatalf("after a reload: %s, want 4h", d)
	}
}
