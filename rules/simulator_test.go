package rules_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/simulator"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// simulate backfills days of simulated traffic ending at end and returns
// the events as the collector would pass them on (encoded and decoded) and
// the ground truth of every chain.
func simulate(t *testing.T, seed uint64, days int, ordersPerDay float64, end time.Time) ([]*procure.Event, []simulator.Chain) {
	t.Helper()
	var evs []*procure.Event
	sink := simulator.SinkFunc(func(ctx context.Context, batch []*procure.Event) error {
		for _, e := range batch {
			raw, err := procure.Encode(e)
			if err != nil {
				return err
			}
			d, err := procure.Decode(raw)
			if err != nil {
				return fmt.Errorf("event %s %s: %w", e.ID, e.Type, err)
			}
			evs = append(evs, d)
		}
		return nil
	})
	var truth simulator.GroundTruth
	sim, err := simulator.New(simulator.Config{Seed: seed, Suppliers: 80, OrdersPerDay: ordersPerDay}, sink,
		simulator.Options{Now: func() time.Time { return end }, OnChain: truth.Record})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Backfill(context.Background(), days); err != nil {
		t.Fatal(err)
	}
	return evs, truth.Chains()
}

// deliver reorders and redelivers the events as Kafka and the collector
// may: about one event in ten arrives up to maxDelay (business time of the
// events) late, after others that happened later, and one in twenty
// arrives twice.
func deliver(evs []*procure.Event, seed uint64, maxDelay time.Duration) []*procure.Event {
	r := rand.New(rand.NewPCG(seed, 0xde11_7e55))
	type item struct {
		arrive time.Time
		seq    int
		e      *procure.Event
	}
	var items []item
	for i, e := range evs {
		at := e.OccurredAt
		if r.Float64() < 0.1 {
			at = at.Add(time.Duration(r.Int64N(int64(maxDelay))))
		}
		items = append(items, item{at, i, e})
		if r.Float64() < 0.05 {
			items = append(items, item{at.Add(time.Duration(r.Int64N(int64(maxDelay)))), i, e})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.arrive.Compare(b.arrive) })
	out := make([]*procure.Event, len(items))
	for i, it := range items {
		out[i] = it.e
	}
	return out
}

// expectation says which injected failures a rule of the default pack
// must raise (recall) and which injections justify its exceptions
// (precision): an exception of the rule with no justifying injection on
// its chain is a false alarm.
type expectation struct {
	rule string
	// raises: every injection of these kinds (where match says so) must
	// yield an exception of the rule on its PO (and line, when the
	// injection names one).
	raises []simulator.Failure
	// justifiedBy: the kinds that may cause an exception of the rule.
	justifiedBy []simulator.Failure
	// match narrows an injection: detail, version.
	match func(in simulator.Injection) bool
	// chainWide: an injection on any line of the chain justifies it.
	chainWide bool
}

var packExpectations = []expectation{
	{rule: "po-not-acknowledged", raises: []simulator.Failure{simulator.AckLate, simulator.AckMissing},
		justifiedBy: []simulator.Failure{simulator.AckLate, simulator.AckMissing},
		match:       func(in simulator.Injection) bool { return in.Failure == simulator.AckLate || in.Document.Version == 1 }},
	{rule: "po-change-not-reacknowledged", raises: []simulator.Failure{simulator.AckMissing},
		justifiedBy: []simulator.Failure{simulator.AckMissing},
		match:       func(in simulator.Injection) bool { return in.Document.Version > 1 }},
	{rule: "ack-quantity-outside-tolerance", raises: []simulator.Failure{simulator.AckChanged}, justifiedBy: []simulator.Failure{simulator.AckChanged},
		match: func(in simulator.Injection) bool { return in.Detail == "quantity" }},
	{rule: "ack-price-outside-tolerance", raises: []simulator.Failure{simulator.AckChanged}, justifiedBy: []simulator.Failure{simulator.AckChanged},
		match: func(in simulator.Injection) bool { return in.Detail == "price" }},
	{rule: "promised-after-need-by", raises: []simulator.Failure{simulator.AckChanged}, justifiedBy: []simulator.Failure{simulator.AckChanged},
		match: func(in simulator.Injection) bool { return in.Detail == "date" }},
	{rule: "ack-line-rejected", raises: []simulator.Failure{simulator.AckLineRejected}, justifiedBy: []simulator.Failure{simulator.AckLineRejected}},
	{rule: "asn-after-goods-arrived", raises: []simulator.Failure{simulator.ASNMissing}, justifiedBy: []simulator.Failure{simulator.ASNMissing}},
	{rule: "receipt-variance", raises: []simulator.Failure{simulator.ReceiptVariance}, justifiedBy: []simulator.Failure{simulator.ReceiptVariance}},
	{rule: "certificate-missing-at-receipt", raises: []simulator.Failure{simulator.CertMissing}, justifiedBy: []simulator.Failure{simulator.CertMissing}},
	{rule: "invoice-price-variance", raises: []simulator.Failure{simulator.InvoiceBlocked}, justifiedBy: []simulator.Failure{simulator.InvoiceBlocked},
		match: func(in simulator.Injection) bool { return in.Detail == "price_variance" }},
	{rule: "invoice-quantity-variance", raises: []simulator.Failure{simulator.InvoiceBlocked}, justifiedBy: []simulator.Failure{simulator.InvoiceBlocked},
		match: func(in simulator.Injection) bool { return in.Detail == "quantity_variance" }},
	{rule: "invoice-blocked-too-long", justifiedBy: []simulator.Failure{simulator.InvoiceBlocked}},
	// Without the retry worker every failure raises delivery-failed at once.
	{rule: "delivery-failed", raises: []simulator.Failure{simulator.MessageExhausted},
		justifiedBy: []simulator.Failure{simulator.MessageExhausted, simulator.MessageFailed}},
	{rule: "message-not-redelivered", raises: []simulator.Failure{simulator.MessageExhausted},
		justifiedBy: []simulator.Failure{simulator.MessageExhausted, simulator.MessageFailed}},
	// Deliberately loose: the ground truth has no "ASN after the promised
	// date" of its own. A shipment goes out on the latest date of the lines
	// it combines, so a changed date on one line (buyer change, change
	// request, changed acknowledgement) makes the others late, and a
	// cancelled order ships nothing while its promised date may pass first.
	{rule: "no-asn-before-delivery", justifiedBy: []simulator.Failure{simulator.ASNMissing, simulator.DeliveryLate,
		simulator.BuyerChanged, simulator.ChangeRequested, simulator.AckChanged, simulator.Cancelled}, chainWide: true},
	// No injection justifies these: the simulator sends master data first
	// and maps every code.
	{rule: "supplier-unknown"},
	{rule: "unit-not-mapped"},
	{rule: "currency-not-mapped"},
	{rule: "incoterm-not-mapped"},
	{rule: "asn-quantity-above-open"},
	{rule: "asn-unknown-po-line"},
}

// Simulated traffic with injected failures (three seeds, 42 days to a fixed
// clock, about 300 chains each), delivered out of order (one event in ten
// up to 10 minutes late) and partly twice, through the engine on a
// MemStore: every injected failure of a kind the pack covers yields its
// exception, and no rule raises an exception on a chain without an injected
// failure that justifies it (packExpectations).
//
// Deliberate exclusions from "must raise": failures observable less than
// 26 h before the end (grace not passed), a missing acknowledgement within
// 4 days of the end, on a cancelled order, or on version 1 of an order the
// buyer changed and the supplier acknowledged in time; a receipt variance
// in a delivery without an ASN. Not asserted to raise at all (outcome
// depends on durations the ground truth does not give): late deliveries
// (no-asn-before-delivery), blocked invoices (invoice-blocked-too-long),
// redelivered messages, change requests, buyer changes, quality holds.
func TestSimulatedFailuresYieldTheirExceptionsAndNoOthers(t *testing.T) {
	for _, seed := range []uint64{42, 7, 2026} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { simulatedFailures(t, seed) })
	}
}

func simulatedFailures(t *testing.T, seed uint64) {
	ctx := context.Background()
	// Long enough for chains to reach receipts and invoices (lead times
	// are weeks); a few hundred chains.
	end := time.Date(2026, 3, 20, 18, 0, 0, 0, time.UTC)
	const days = 42
	evs, chains := simulate(t, seed, days, 10, end)
	rs, err := rules.LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store := rules.NewMemStore()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var clock time.Time
	sched := sla.New(sla.Config{}, store, log, func() time.Time { return clock })
	en := rules.NewEngine(store, rules.NewEvaluator(rs), sched, log, func() time.Time { return clock })

	// As live: batches of events; before each, the scheduler fires on
	// event time (the latest occurred_at applied).
	stream := deliver(evs, seed, 10*time.Minute)
	const batch = 50
	dups := 0
	for i := 0; i < len(stream); i += batch {
		if _, err := sched.FireDue(ctx, clock); err != nil {
			t.Fatal(err)
		}
		st, err := en.Process(ctx, stream[i:min(i+batch, len(stream))])
		if err != nil {
			t.Fatal(err)
		}
		dups += st.Duplicates
		for _, e := range stream[i:min(i+batch, len(stream))] {
			if e.OccurredAt.After(clock) {
				clock = e.OccurredAt
			}
		}
	}
	clock = end
	if _, err := sched.FireDue(ctx, end); err != nil {
		t.Fatal(err)
	}
	if dups == 0 || len(stream) == len(evs) {
		t.Fatalf("no redelivery in the stream (%d duplicates)", dups)
	}

	xs := store.Exceptions()
	byPO := map[string]*simulator.Chain{}
	counts := map[simulator.Failure]int{}
	for i := range chains {
		byPO[chains[i].PO] = &chains[i]
		for _, in := range chains[i].Injected {
			counts[in.Failure]++
		}
	}
	t.Logf("%d chains, %d events (%d delivered, %d duplicates dropped), %d exceptions; injected %v", len(chains), len(evs), len(stream), dups, len(xs), counts)

	// The subject an exception or an injection is about.
	poOf := func(x procure.Exception) string {
		if x.PO != "" {
			return x.PO
		}
		return ""
	}
	msgOf := func(x procure.Exception) string { return strings.TrimPrefix(x.Subject, "message/") }
	invOf := func(x procure.Exception) string { return strings.TrimPrefix(x.Subject, "invoice/") }

	var problems []string
	checked := map[simulator.Failure]int{}
	for _, ex := range packExpectations {
		var mine []procure.Exception
		for _, x := range xs {
			if x.Rule == ex.rule {
				mine = append(mine, x)
			}
		}
		matches := func(in simulator.Injection, x procure.Exception) bool {
			switch in.Failure {
			case simulator.MessageExhausted, simulator.MessageFailed:
				return in.Document.ID == msgOf(x)
			case simulator.InvoiceBlocked:
				return in.Document.ID == invOf(x)
			}
			return ex.chainWide || in.Line == 0 || x.Line == 0 || in.Line == x.Line
		}
		// Recall.
		for _, c := range chains {
			for _, in := range c.Injected {
				if !slices.Contains(ex.raises, in.Failure) || ex.match != nil && !ex.match(in) {
					continue
				}
				// The simulator marks a missing acknowledgement at 24
				// business hours, the pack's SLA is 24 or 28 by tier: an
				// injection near the end may not be due yet, and an order
				// cancelled within those hours never breaches.
				if in.Failure == simulator.AckMissing && (in.At.After(end.Add(-4*24*time.Hour)) || c.Has(simulator.Cancelled)) {
					continue
				}
				// An unanswered first version followed by a buyer change
				// the supplier acknowledges in time: the order was
				// acknowledged within the SLA, as version 2.
				if in.Failure == simulator.AckMissing && in.Document.Version == 1 && c.Has(simulator.BuyerChanged) {
					continue
				}
				// A variance in a delivery without an ASN has no shipped
				// quantity to differ from (asn-after-goods-arrived covers
				// the delivery instead).
				if in.Failure == simulator.ReceiptVariance && slices.ContainsFunc(c.Injected, func(o simulator.Injection) bool {
					return o.Failure == simulator.ASNMissing && strings.TrimPrefix(o.Document.ID, "ASN") == strings.TrimPrefix(in.Document.ID, "GR")
				}) {
					continue
				}
				// Observable too close to the end for the rule's grace (an
				// hour for an ASN, 24 h for a redelivery) to have passed.
				if in.At.After(end.Add(-26 * time.Hour)) {
					continue
				}
				checked[in.Failure]++
				if !slices.ContainsFunc(mine, func(x procure.Exception) bool {
					return (poOf(x) == c.PO || x.Subject == "message/"+in.Document.ID || x.Subject == "invoice/"+in.Document.ID) && matches(in, x)
				}) {
					problems = append(problems, fmt.Sprintf("missing %s: PO %s %s line %d %s at %s (%s)", ex.rule, c.PO, in.Failure, in.Line, in.Detail, in.At.Format(time.RFC3339), in.Document.ID))
				}
			}
		}
		// Precision.
		for _, x := range mine {
			c := byPO[poOf(x)]
			if c == nil { // message and invoice subjects: find the chain by the injection's document
				for i := range chains {
					if slices.ContainsFunc(chains[i].Injected, func(in simulator.Injection) bool {
						return in.Document.ID != "" && (x.Subject == "message/"+in.Document.ID || x.Subject == "invoice/"+in.Document.ID)
					}) {
						c = &chains[i]
					}
				}
			}
			if c == nil || !slices.ContainsFunc(c.Injected, func(in simulator.Injection) bool {
				return slices.Contains(ex.justifiedBy, in.Failure) && (ex.match == nil || ex.match(in)) && matches(in, x)
			}) {
				var inj []string
				if c != nil {
					for _, in := range c.Injected {
						inj = append(inj, fmt.Sprintf("%s/%d/%s", in.Failure, in.Line, in.Detail))
					}
				}
				problems = append(problems, fmt.Sprintf("unexpected %s %s [%s] %s (chain injections %v)", x.Rule, x.Subject, x.State, x.Message, inj))
			}
		}
	}
	// Every rule raising something is covered above.
	for _, x := range xs {
		if !slices.ContainsFunc(packExpectations, func(ex expectation) bool { return ex.rule == x.Rule }) {
			problems = append(problems, "rule without expectation: "+x.Rule+" "+x.Subject)
		}
	}
	t.Logf("injected failures checked for their exception: %v; %d exceptions checked for their injection", checked, len(xs))
	for _, f := range []simulator.Failure{simulator.AckLate, simulator.AckChanged, simulator.ASNMissing, simulator.ReceiptVariance,
		simulator.CertMissing, simulator.InvoiceBlocked, simulator.MessageExhausted} {
		if checked[f] == 0 {
			t.Errorf("no %s injection was checked: the scenario is too short", f)
		}
	}
	slices.Sort(problems)
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}
