// Package layering holds the test that keeps the imports of the module
// within the layering of docs/architecture.md: procure imports nothing of
// ours; the adapters (postgres, clickhouse, kafka, chdb) import only
// procure and internal/*; the engines (collector, rules, sla, retry,
// alerts, console, kpi, b2b, simulator) import procure, internal/* and the
// kafka adapter's message types, not each other, not the other adapters
// and no database or broker driver; app/ and cmd/ wire everything. The
// exceptions still standing are listed in the test, each with its reason,
// so that they cannot grow unnoticed.
//
// It has no code: only layering_test.go.
package layering
