// Package procure is the domain model of supplywatch and its only shared
// vocabulary: the canonical event envelope that every input becomes, the
// payload of each event type, the codes (units, currencies, incoterms)
// those payloads carry, the workflow around exceptions (users, sessions,
// tokens, scopes, teams, routing rules, saved views, actions, retries and
// retry jobs, audit entries, rule descriptions, facts read back), the
// store contracts the adapters implement (postgres, clickhouse), and the
// views derived from an order's state without I/O or a clock: the document
// chain (BuildChain) and the plant inbound board (BuildBoard).
//
// It imports only the standard library and the JSON v2 codec, decodes events
// strictly (an error names the field and the reason) and knows nothing about
// where events come from or where they are stored: the collector, the stores
// and the rules engine build on it.
package procure
