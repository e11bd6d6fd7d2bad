package procure

import (
	"syscall"
	"testing"
	"time"
)

func BenchmarkDecode(b *testing.B) {
	raw := readFixture(b, "po_released.json")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// largeEvent is the event the collector benchmark sends: a po.released of
// three lines, about 900 bytes.
var largeEvent = []byte(`{"id":"e2e-00000042","type":"po.released","source":"erp","tenant":"acme","occurred_at":"2026-11-27T06:00:00.000Z","correlation_id":"corr-00000042","trace_id":"0000000000000000000000000000002b","plant":"P01","supplier":"S0042","document":{"kind":"po","id":"4500000042","version":1},"data":{"order_type":"standard","buyer":"B12","currency":"EUR","incoterms":{"code":"FCA","edition":"2020","place":"Lyon"},"ship_to":"P01","lines":[{"line":10,"item":"M-00042","description":"Hex bolt M8x40 8.8 zinc plated","material_class":"fasteners","quantity":142,"unit":"C62","unit_price":0.125,"need_by":"2026-06-01","schedule":[{"seq":1,"quantity":142,"date":"2026-05-25"}]},{"line":20,"item":"M-00049","quantity":40,"unit":"KGM","unit_price":3.5,"need_by":"2026-06-03"},{"line":30,"item":"M-00055","quantity":2,"unit":"C62","unit_price":120,"need_by":"2026-06-10"}]}}`)

// BenchmarkDecodeLarge is the event the collector benchmark sends: a
// po.released of three lines, about 900 bytes.
func BenchmarkDecodeLarge(b *testing.B) {
	benchLarge(b, func(raw []byte) error { _, err := Decode(raw); return err })
}

// BenchmarkCheckLarge is BenchmarkDecodeLarge through Check, as the
// collector reads events.
func BenchmarkCheckLarge(b *testing.B) {
	benchLarge(b, func(raw []byte) error { _, err := Check(raw); return err })
}

// BenchmarkDecodeLargeGeneral is BenchmarkDecodeLarge through the general
// decoder alone (Decode without its fast path): the baseline of the same run.
func BenchmarkDecodeLargeGeneral(b *testing.B) {
	benchLarge(b, func(raw []byte) error { _, err := decode(raw, false, true); return err })
}

// benchLarge runs read over largeEvent, with its bytes, allocations and CPU
// per operation.
func benchLarge(b *testing.B, read func([]byte) error) {
	defer reportCPU(b)()
	b.SetBytes(int64(len(largeEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if err := read(largeEvent); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU adds the process's CPU time per operation (user + system), which
// other processes on a shared machine disturb less than wall time.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op") }
}
