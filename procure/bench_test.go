package procure

import "testing"

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
