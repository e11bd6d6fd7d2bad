package edifact_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/supplywatch/supplywatch/b2b/edifact"
)

// orders generates an interchange of n ORDERS messages with 20 lines each.
func orders(n int) []byte {
	var b bytes.Buffer
	b.WriteString("UNA:+.? '\nUNB+UNOC:3+5400110000009:14+5013546107732:14+240101:1200+REF1++ORDERS'\n")
	for i := 1; i <= n; i++ {
		segs := 0
		w := func(format string, args ...any) {
			fmt.Fprintf(&b, format, args...)
			b.WriteString("'\n")
			segs++
		}
		w("UNH+M%d+ORDERS:D:96A:UN:EAN008", i)
		w("BGM+220+PO%06d+9", i)
		w("DTM+137:20240101:102")
		w("DTM+2:20240115:102")
		w("FTX+PUR+1++DELIVER TO DOCK 4?: RING THE BELL")
		w("RFF+CT:FRAME-2024")
		w("NAD+BY+5400110000009::9")
		w("NAD+SU+5013546107732::9")
		w("NAD+DP+5400110000016::9")
		w("CUX+2:EUR:9")
		for j := 1; j <= 20; j++ {
			w("LIN+%d++54001118641%02d:EN", j, j)
			w("PIA+1+86418%02d:SA", j)
			w("IMD+F++:::WIDGET %d", j)
			w("QTY+21:%d:PCE", 10*j)
			w("DTM+2:20240115:102")
			w("PRI+AAA:12.80:CT")
		}
		w("UNS+S")
		w("CNT+2:20")
		segs++
		fmt.Fprintf(&b, "UNT+%d+M%d'\n", segs, i)
	}
	fmt.Fprintf(&b, "UNZ+%d+REF1'\n", n)
	return b.Bytes()
}

func TestGeneratedOrdersIsValid(t *testing.T) {
	doc, err := edifact.Parse(orders(3), edifact.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Interchanges[0].Messages); n != 3 {
		t.Fatalf("%d messages", n)
	}
}

func BenchmarkEDIFACTTokenize(b *testing.B) {
	data := orders(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var segs, msgs int
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		doc, err := edifact.Parse(data, edifact.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		segs, msgs = 0, len(doc.Interchanges[0].Messages)
		for _, m := range doc.Interchanges[0].Messages {
			segs += len(m.Segments)
		}
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(segs), "segments/op")
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/float64(segs), "allocs/seg")
}

func BenchmarkEDIFACTScan(b *testing.B) {
	data := orders(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sc := edifact.NewScanner(data, edifact.Limits{})
		for sc.Next() {
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzEDIFACT(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(samples, "*edifact-*.edi"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(orders(2))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := edifact.Limits{MaxBytes: 1 << 20, MaxSegments: 10000, MaxElementLen: 512}
		doc, err := edifact.Parse(data, lim)
		if doc == nil {
			t.Fatal("nil document")
		}
		if err != nil {
			_ = err.Error()
		}
		for _, ic := range doc.Interchanges {
			for _, m := range ic.Messages {
				for _, seg := range m.Segments {
					for i := 0; i <= min(seg.Len()+1, 40); i++ {
						_ = seg.Text(i, 0)
						_ = seg.Text(i, 2)
					}
				}
			}
		}
	})
}
