// Package procure is the domain model of supplywatch: the canonical event
// envelope that every input becomes, the payload of each event type, and the
// codes (units, currencies, incoterms) those payloads carry.
//
// It imports only the standard library and the JSON v2 codec, decodes events
// strictly (an error names the field and the reason) and knows nothing about
// where events come from or where they are stored: the collector, the stores
// and the rules engine build on it.
package procure
