package simulator

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var testNow = time.Date(2026, 5, 12, 9, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// collect is a Sink that keeps the events, encoded and decoded.
type collect struct {
	t    *testing.T
	evs  []*procure.Event
	raws [][]byte
}

func (c *collect) Publish(_ context.Context, evs []*procure.Event) error {
	c.t.Helper()
	for _, ev := range evs {
		b, err := procure.Encode(ev)
		if err != nil {
			c.t.Fatalf("encode %s %s: %v", ev.Type, ev.ID, err)
		}
		d, err := procure.Decode(b)
		if err != nil {
			c.t.Fatalf("decode %s: %v\n%s", ev.Type, err, b)
		}
		c.evs = append(c.evs, d)
		c.raws = append(c.raws, b)
	}
	return nil
}

func backfill(t *testing.T, cfg Config, days int, opts Options) (*collect, *Engine) {
	t.Helper()
	sink := &collect{t: t}
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	e, err := New(cfg, sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Backfill(context.Background(), days); err != nil {
		t.Fatal(err)
	}
	return sink, e
}

// completeChains plans n whole chains (every event to the payment) and
// returns their events in time order with their ground truth.
func completeChains(t *testing.T, cfg Config, n int) (*collect, []Chain) {
	t.Helper()
	sink := &collect{t: t}
	var gt GroundTruth
	e, err := New(cfg, sink, Options{Now: fixedClock, OnChain: gt.Record})
	if err != nil {
		t.Fatal(err)
	}
	e.start(testNow)
	e.plannedUntil = farFuture
	at := testNow
	for i := range n {
		p := e.world.plants[i%len(e.world.plants)]
		e.startChain(p, p.cal.nextOpen(at))
		at = at.Add(7 * time.Minute)
	}
	ctx := context.Background()
	for p := e.next(farFuture.Add(-time.Hour)); p != nil; p = e.next(farFuture.Add(-time.Hour)) {
		if err := e.emit(ctx, p, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.flush(ctx); err != nil {
		t.Fatal(err)
	}
	return sink, gt.Chains()
}

func TestBackfillIsDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, OrdersPerDay: 150}
	a, _ := backfill(t, cfg, 10, Options{})
	b, _ := backfill(t, cfg, 10, Options{})
	if len(a.raws) == 0 || len(a.raws) != len(b.raws) {
		t.Fatalf("runs gave %d and %d events", len(a.raws), len(b.raws))
	}
	for i := range a.raws {
		if !bytes.Equal(a.raws[i], b.raws[i]) {
			t.Fatalf("event %d differs:\n%s\n%s", i, a.raws[i], b.raws[i])
		}
	}
	cfg.Seed = 43
	c, _ := backfill(t, cfg, 10, Options{})
	if len(c.raws) == len(a.raws) && bytes.Equal(c.raws[len(c.raws)-1], a.raws[len(a.raws)-1]) {
		t.Fatal("another seed gave the same events")
	}
}

func TestBackfillIsInTimeOrderAndEndsAtNow(t *testing.T) {
	sink, e := backfill(t, Config{Seed: 7, OrdersPerDay: 200}, 14, Options{})
	first := testNow.Add(-14*24*time.Hour - 2*time.Hour)
	for i, ev := range sink.evs {
		if ev.OccurredAt.After(testNow) || ev.OccurredAt.Before(first) {
			t.Fatalf("event %d (%s) occurred at %s, outside the backfill window", i, ev.Type, ev.OccurredAt)
		}
		if i > 0 && ev.OccurredAt.Before(sink.evs[i-1].OccurredAt) {
			t.Fatalf("event %d (%s at %s) before its predecessor (%s)", i, ev.Type, ev.OccurredAt, sink.evs[i-1].OccurredAt)
		}
		if ev.Tenant != "acme" {
			t.Fatalf("tenant %q", ev.Tenant)
		}
	}
	if st := e.Stats(); st.Events != int64(len(sink.evs)) || st.Chains < 1000 {
		t.Fatalf("stats %+v for %d events", st, len(sink.evs))
	}
}

func TestMasterDataComesBeforeUse(t *testing.T) {
	sink, _ := backfill(t, Config{Seed: 3, OrdersPerDay: 100}, 7, Options{})
	suppliers, items := map[string]bool{}, map[string]bool{}
	for _, ev := range sink.evs {
		switch p := ev.Payload.(type) {
		case *procure.Supplier:
			suppliers[ev.Document.ID] = true
			continue
		case *procure.Item:
			items[ev.Document.ID] = true
			if !suppliers[ev.Supplier] {
				t.Fatalf("item %s of supplier %s before the supplier", ev.Document.ID, ev.Supplier)
			}
			continue
		case *procure.PurchaseOrder:
			for _, l := range p.Lines {
				if !items[l.Item] {
					t.Fatalf("PO %s uses item %s before item.updated", ev.Document.ID, l.Item)
				}
			}
		}
		if ev.Supplier != "" && !suppliers[ev.Supplier] {
			t.Fatalf("%s of %s before supplier.updated", ev.Type, ev.Supplier)
		}
	}
	if len(suppliers) != 400 {
		t.Fatalf("%d suppliers, want 400", len(suppliers))
	}
}

func TestDocumentsFollowTheirChain(t *testing.T) {
	sink, chains := completeChains(t, Config{Seed: 11}, 1500)
	type docState struct {
		last     time.Time
		released bool
		version  int
	}
	docs := map[string]*docState{}
	asnAt := map[string]time.Time{}
	releasedAt := map[string]time.Time{}
	for _, ev := range sink.evs {
		key := ev.DocumentKey()
		d := docs[key]
		if d == nil {
			d = &docState{}
			docs[key] = d
		}
		if ev.OccurredAt.Before(d.last) {
			t.Fatalf("%s %s at %s goes back from %s", key, ev.Type, ev.OccurredAt, d.last)
		}
		d.last = ev.OccurredAt
		switch p := ev.Payload.(type) {
		case *procure.PurchaseOrder:
			if ev.Type == procure.POReleased {
				if d.released {
					t.Fatalf("%s released twice", key)
				}
				d.released = true
				releasedAt[ev.Document.ID] = ev.OccurredAt
			} else if ev.Document.Version != d.version+1 {
				t.Fatalf("%s changed to version %d after %d", key, ev.Document.Version, d.version)
			}
			d.version = ev.Document.Version
			for _, l := range p.Lines {
				sum := 0.0
				for _, s := range l.Schedule {
					sum += s.Quantity
				}
				if math.Abs(sum-l.Quantity) > 1e-6 {
					t.Fatalf("%s line %d: schedule sums to %g of %g", key, l.Line, sum, l.Quantity)
				}
			}
		case *procure.Acknowledgement, *procure.ChangeRequest, *procure.ChangeDecision, *procure.Cancellation:
			if ev.Document.Kind == procure.DocPO && !d.released {
				t.Fatalf("%s %s before po.released", key, ev.Type)
			}
			if a, ok := p.(*procure.Acknowledgement); ok && a.POVersion != ev.Document.Version {
				t.Fatalf("%s ack of version %d on document version %d", key, a.POVersion, ev.Document.Version)
			}
		case *procure.ShipNotice:
			asnAt[ev.Document.ID] = ev.OccurredAt
			po := p.Lines[0].PO
			if r, ok := releasedAt[po]; !ok || !ev.OccurredAt.After(r) {
				t.Fatalf("ASN %s for PO %s before its release", ev.Document.ID, po)
			}
			for _, pk := range p.Packs {
				if !procure.ValidSSCC(pk.SSCC) {
					t.Fatalf("ASN %s: invalid SSCC %s", ev.Document.ID, pk.SSCC)
				}
			}
		case *procure.Receipt:
			if p.ASN != "" {
				at, ok := asnAt[p.ASN]
				if !ok || !at.Before(ev.OccurredAt) {
					t.Fatalf("receipt %s against ASN %s that came %v (seen %v)", ev.Document.ID, p.ASN, at, ok)
				}
			}
		}
	}
	completeReceipts := 0
	for _, c := range chains {
		if c.Events == 0 || c.LastEventAt.Before(c.ReleasedAt) {
			t.Fatalf("chain %s: %d events, last at %s", c.PO, c.Events, c.LastEventAt)
		}
	}
	for _, ev := range sink.evs {
		if ev.Type == procure.GoodsReceived {
			completeReceipts++
		}
	}
	if completeReceipts < 1000 {
		t.Fatalf("only %d receipts for %d chains", completeReceipts, len(chains))
	}
}

func TestSSCCsAreValidAndUnique(t *testing.T) {
	sink, _ := completeChains(t, Config{Seed: 5}, 800)
	seen := map[string]string{}
	n := 0
	for _, ev := range sink.evs {
		asn, ok := ev.Payload.(*procure.ShipNotice)
		if !ok {
			continue
		}
		packs := map[string]bool{}
		for _, pk := range asn.Packs {
			n++
			if !procure.ValidSSCC(pk.SSCC) {
				t.Fatalf("invalid SSCC %s", pk.SSCC)
			}
			if prev, dup := seen[pk.SSCC]; dup {
				t.Fatalf("SSCC %s in %s and %s", pk.SSCC, prev, ev.Document.ID)
			}
			seen[pk.SSCC] = ev.Document.ID
			packs[pk.SSCC] = true
		}
		for _, l := range asn.Lines {
			if l.SSCC != "" && !packs[l.SSCC] {
				t.Fatalf("ASN %s line on SSCC %s that is not a pack", ev.Document.ID, l.SSCC)
			}
		}
		if asn.Carrier.SCAC == "" || len(asn.Carrier.SCAC) < 2 || len(asn.Carrier.SCAC) > 4 {
			t.Fatalf("ASN %s carrier SCAC %q", ev.Document.ID, asn.Carrier.SCAC)
		}
	}
	if n < 1000 {
		t.Fatalf("only %d packs", n)
	}
}

// TestRatesAreHonoured counts the injected failures over a few thousand
// complete chains against the configured rates, each with its own
// denominator.
func TestRatesAreHonoured(t *testing.T) {
	rates := Rates{
		AckLate: 0.2, AckMissing: 0.1, AckChange: 0.15, AckLineReject: 0.1, ChangeRequest: 0.1, BuyerChange: 0.1,
		Cancel: 0.05, SplitDelivery: 0.2, DeliveryLate: 0.15, ASNMissing: 0.1, ReceiptVariance: 0.12, CertMissing: 0.15,
		QualityHold: 0.05, InvoiceBlock: 0.2, DeliveryFailure: 0.05, RetryExhausted: 0.2,
	}
	sink, chains := completeChains(t, Config{Seed: 99, Rates: rates}, 2000)

	count := map[Failure]int{}
	perChain := map[Failure]int{}
	reached, acked := 0, 0
	for _, c := range chains {
		seen := map[Failure]bool{}
		neverReached := false
		firstMissing := false
		for _, in := range c.Injected {
			count[in.Failure]++
			seen[in.Failure] = true
			if in.Failure == AckMissing && in.Document.Version == 1 {
				if in.Detail != "" {
					neverReached = true
				} else {
					firstMissing = true
				}
			}
		}
		for f := range seen {
			perChain[f]++
		}
		if !neverReached {
			reached++
			if !firstMissing {
				acked++
			}
		}
	}
	var shipments, invoices, hops, certLots int
	for _, ev := range sink.evs {
		switch ev.Type {
		case procure.GoodsReceived:
			shipments++
		case procure.InvoiceStatusChanged:
			if ev.Payload.(*procure.InvoiceStatus).Status == procure.InvoiceReceived {
				invoices++
			}
		case procure.QualityDocumentAttached:
			certLots++
		}
		if ev.TraceID != "" && ev.Document.Kind != procure.DocMessage {
			hops++
		}
	}
	certNever := 0
	firstAckMissing := 0
	for _, c := range chains {
		for _, in := range c.Injected {
			if in.Failure == CertMissing && in.Detail == "never" {
				certNever++
			}
			if in.Failure == AckMissing && in.Document.Version == 1 && in.Detail == "" {
				firstAckMissing++
			}
		}
	}
	n := float64(len(chains))
	checks := []struct {
		name      string
		got, want float64
	}{
		{"ack_missing_rate", float64(firstAckMissing) / float64(reached), rates.AckMissing},
		{"ack_late_rate", float64(perChain[AckLate]) / float64(acked), rates.AckLate},
		{"ack_change_rate", float64(perChain[AckChanged]) / float64(acked), rates.AckChange},
		{"change_request_rate", float64(perChain[ChangeRequested]) / float64(reached-firstAckMissing/3), rates.ChangeRequest},
		{"cancel_rate", float64(perChain[Cancelled]) / float64(reached-firstAckMissing/3), rates.Cancel},
		{"asn_missing_rate", float64(count[ASNMissing]) / float64(shipments), rates.ASNMissing},
		{"receipt_variance_rate", float64(count[ReceiptVariance]) / float64(shipments), rates.ReceiptVariance},
		{"cert_missing_rate", float64(count[CertMissing]) / float64(certLots+certNever), rates.CertMissing},
		{"invoice_block_rate", float64(count[InvoiceBlocked]) / float64(invoices), rates.InvoiceBlock},
		{"delivery_failure_rate", float64(count[MessageFailed]+count[MessageExhausted]) / float64(hops), rates.DeliveryFailure},
		{"retry_exhausted_rate", float64(count[MessageExhausted]) / float64(count[MessageFailed]+count[MessageExhausted]), rates.RetryExhausted},
	}
	for _, c := range checks {
		if c.got < c.want*0.75 || c.got > c.want*1.25 {
			t.Errorf("%s: observed %.3f, configured %.3f", c.name, c.got, c.want)
		}
	}
	if injected := count[DeliveryLate]; float64(injected) < 0.1*float64(shipments) {
		t.Errorf("delivery_late: %d of %d shipments", injected, shipments)
	}
	t.Logf("%d chains, %d shipments, %d invoices, %d hops; per chain: %v", int(n), shipments, invoices, hops, perChain)
}

func TestNoFailuresInjectsNothing(t *testing.T) {
	sink, chains := completeChains(t, Config{Seed: 1, NoFailures: true}, 300)
	for _, c := range chains {
		for _, in := range c.Injected {
			if in.Failure != DeliveryLate || in.Detail != "knock-on" {
				t.Fatalf("chain %s: injected %+v with no_failures", c.PO, in)
			}
		}
	}
	for _, ev := range sink.evs {
		if ev.Type == procure.MessageFailed {
			t.Fatalf("message.failed with no_failures")
		}
	}
}

func TestSpansShareTheEventsTraceIDs(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	sink, e := backfill(t, Config{Seed: 21, OrdersPerDay: 20, Rates: Rates{DeliveryFailure: 0.3}}, 45, Options{TracerProvider: tp})

	spans := rec.Ended()
	if int64(len(spans)) != e.Stats().Spans || len(spans) == 0 {
		t.Fatalf("%d spans ended, %d started", len(spans), e.Stats().Spans)
	}
	byTrace := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byTrace[s.SpanContext().TraceID().String()] = append(byTrace[s.SpanContext().TraceID().String()], s)
	}
	traced, failed := 0, 0
	for _, ev := range sink.evs {
		if ev.TraceID == "" {
			if ev.Document.Kind != procure.DocSupplier && ev.Document.Kind != procure.DocItem {
				t.Fatalf("%s %s without trace_id", ev.Type, ev.ID)
			}
			continue
		}
		traced++
		ss := byTrace[ev.TraceID]
		if len(ss) == 0 {
			t.Fatalf("%s %s: no span in trace %s", ev.Type, ev.ID, ev.TraceID)
		}
		for _, s := range ss {
			attrs := map[string]string{}
			for _, kv := range s.Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			if attrs["supplywatch.correlation_id"] != ev.CorrelationID || attrs["supplier"] != ev.Supplier || attrs["plant"] != ev.Plant {
				t.Fatalf("span %s attributes %v do not match event %s", s.Name(), attrs, ev.ID)
			}
			if attrs["po.number"] == "" || attrs["source.system"] == "" || attrs["target.system"] == "" {
				t.Fatalf("span %s lacks hop attributes: %v", s.Name(), attrs)
			}
		}
		if ev.Type == procure.MessageFailed {
			failed++
			hasError := false
			for _, s := range ss {
				if s.Status().Code == codes.Error && strings.HasPrefix(s.Name(), "deliver to ") {
					hasError = true
				}
			}
			if !hasError {
				t.Fatalf("message.failed %s: no error span in its trace", ev.ID)
			}
		}
	}
	if traced == 0 || failed == 0 {
		t.Fatalf("%d traced events, %d failed deliveries", traced, failed)
	}
	services := map[string]bool{}
	for _, s := range spans {
		services[strings.TrimPrefix(s.InstrumentationScope().Name, "github.com/supplywatch/supplywatch/simulator/")] = true
	}
	for _, want := range []string{"erp", "middleware", "wms", "ap", "qms"} {
		if !services[want] {
			t.Errorf("no spans from %s (have %v)", want, services)
		}
	}
}

func TestMessageFailuresCarryThePayload(t *testing.T) {
	sink, _ := completeChains(t, Config{Seed: 8, Rates: Rates{DeliveryFailure: 0.2, RetryExhausted: 0.3}}, 200)
	byID := map[string]*procure.Event{}
	outcomes := map[string]string{}
	for _, ev := range sink.evs {
		byID[ev.ID] = ev
		d, ok := ev.Payload.(*procure.Delivery)
		if !ok {
			continue
		}
		orig := byID[d.IdempotencyKey]
		if orig == nil {
			t.Fatalf("%s %s for event %s that was not published before", ev.Type, d.MessageID, d.IdempotencyKey)
		}
		if ev.TraceID != orig.TraceID || ev.CorrelationID != orig.CorrelationID || d.DocumentType != string(orig.Type) {
			t.Fatalf("%s %s does not match its event %s", ev.Type, d.MessageID, orig.ID)
		}
		p, err := procure.Decode([]byte(d.Payload))
		if err != nil || p.ID != orig.ID {
			t.Fatalf("%s %s payload: %v", ev.Type, d.MessageID, err)
		}
		if ev.Type == procure.MessageFailed && (d.ErrorClass == "" || d.Attempt < 1) {
			t.Fatalf("message.failed without error class or attempt: %+v", d)
		}
		outcomes[d.MessageID] = string(ev.Type) + " " + d.Error
	}
	var delivered, exhausted int
	for _, o := range outcomes {
		switch {
		case strings.HasPrefix(o, string(procure.MessageDelivered)):
			delivered++
		case strings.HasSuffix(o, "retries exhausted"):
			exhausted++
		default:
			t.Fatalf("message ends neither delivered nor exhausted: %s", o)
		}
	}
	if delivered == 0 || exhausted == 0 {
		t.Fatalf("%d delivered, %d exhausted", delivered, exhausted)
	}
}

func TestRunPacesAndNeverDatesInTheFuture(t *testing.T) {
	start := time.Now()
	clock := func() time.Time { return testNow.Add(time.Since(start)) }
	sink := &collect{t: t}
	e, err := New(Config{Seed: 2, OrdersPerDay: 300}, sink, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Backfill(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	backfilled := len(sink.evs)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	runStart := time.Now()
	if err := e.Run(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	// The pace is judged against the wall time Run really took: on a loaded
	// machine the context's deadline is seen late, and each 50 ms tick that
	// did pass may spend its 250 events (plus one tick's catch-up burst).
	ran := time.Since(runStart)
	most := int((ran.Seconds()+0.1)*5000) + 300
	live := sink.evs[backfilled:]
	if len(live) < 500 || len(live) > most {
		t.Fatalf("%d live events in %s at 5000/s (expected 500 to %d)", len(live), ran, most)
	}
	end := clock()
	last := map[string]time.Time{}
	for i, ev := range sink.evs {
		if ev.OccurredAt.After(end) {
			t.Fatalf("event %d dated %s, after the clock %s", i, ev.OccurredAt, end)
		}
		if ev.OccurredAt.Before(last[ev.DocumentKey()]) {
			t.Fatalf("%s goes back in time", ev.DocumentKey())
		}
		last[ev.DocumentKey()] = ev.OccurredAt
		if i > 0 && ev.OccurredAt.Before(sink.evs[i-1].OccurredAt) {
			t.Fatalf("event %d out of order", i)
		}
	}
}

func TestAsFastAsPossibleStopsAfterMaxEvents(t *testing.T) {
	sink := &collect{t: t}
	e, err := New(Config{Seed: 2}, sink, Options{Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AsFastAsPossible(context.Background(), 5000); err != nil {
		t.Fatal(err)
	}
	if len(sink.evs) != 5000 {
		t.Fatalf("%d events, want 5000", len(sink.evs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.AsFastAsPossible(ctx, 0); err != nil {
		t.Fatalf("ended by its context: %v", err)
	}
}
