// Package simulator generates realistic procure-to-pay traffic for one
// manufacturer: six plants in their own time zones, a few hundred suppliers of
// tiers 1 to 3, their items, and the document chains between them (purchase
// orders, acknowledgements, change requests and decisions, PO changes, ASNs
// with pallets and lots, goods receipts, quality certificates and holds,
// invoices) together with the technical delivery of every message between
// ERP, middleware, portal, EDI, WMS, QMS and AP, failed deliveries and their
// retries included.
//
// Every event is a canonical procure.Event with its typed Payload that
// procure.Encode turns into bytes procure.Decode accepts. Failure modes (late
// and missing acknowledgements, changed lines, missing ASNs, receipt
// variances, missing certificates, blocked invoices, failed deliveries) are
// injected at configurable rates, and the engine reports, per chain, exactly
// which ones it injected (Chain, GroundTruth) so that tests of the rules
// engine can assert the exceptions they expect.
//
// Generation is deterministic: one seed drives math/rand/v2 PCG sources, and
// the clock is an input, so the same seed and the same clock give the same
// events byte for byte. Delays are business time in the buying plant's
// calendar (working hours, weekends, public holidays).
//
// The package leaves transport to others: it publishes through the small Sink
// interface it declares (the app adapts it to the Kafka publisher) and emits
// spans through whatever trace.TracerProvider it is given (the app sets up the
// OTLP exporter). It does not decide when it runs: cmd and app call Backfill,
// Run or AsFastAsPossible.
package simulator
