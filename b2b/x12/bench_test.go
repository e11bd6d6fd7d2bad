package x12_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/supplywatch/supplywatch/b2b/x12"
)

// ship856 generates an interchange of n 856 ship notices (S-O-P-I, 50 items
// each), the shape of a large inbound ASN batch.
func ship856(n int) []byte {
	var b bytes.Buffer
	b.WriteString("ISA*00*          *00*          *ZZ*SUPPLIER       *ZZ*BUYER          *240101*1200*U*00401*000000001*0*P*>~\n")
	b.WriteString("GS*SH*SUPPLIER*BUYER*20240101*1200*1*X*004010~\n")
	for i := 1; i <= n; i++ {
		start := b.Len()
		_ = start
		segs := 0
		w := func(format string, args ...any) {
			fmt.Fprintf(&b, format, args...)
			b.WriteString("~\n")
			segs++
		}
		w("ST*856*%04d", i)
		w("BSN*00*SHP%06d*20240101*1200*0001", i)
		w("HL*1**S")
		w("TD1*CTN*50****G*120*LB")
		w("TD5**2*SCAC**CARRIER")
		w("REF*BM*BOL%06d", i)
		w("DTM*011*20240101")
		w("N1*ST*PLANT 01*92*P01")
		w("N1*SF*SUPPLIER*92*S0042")
		w("HL*2*1*O")
		w("PRF*450001%04d", i)
		w("HL*3*2*P")
		w("MAN*GM*00000715670002152360")
		hl := 3
		for j := 1; j <= 50; j++ {
			hl++
			w("HL*%d*3*I", hl)
			w("LIN*%d*BP*PART-%05d*VP*V-%05d", j, j, j)
			w("SN1**%d*EA", 10+j)
		}
		w("CTT*%d", hl)
		segs++
		fmt.Fprintf(&b, "SE*%d*%04d~\n", segs, i)
	}
	fmt.Fprintf(&b, "GE*%d*1~\nIEA*1*000000001~\n", n)
	return b.Bytes()
}

func TestGenerated856IsValid(t *testing.T) {
	doc, err := x12.Parse(ship856(3), x12.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Interchanges[0].Groups[0].Sets); n != 3 {
		t.Fatalf("%d sets", n)
	}
}

func BenchmarkX12Tokenize(b *testing.B) {
	data := ship856(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var segs, sets int
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		doc, err := x12.Parse(data, x12.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		segs, sets = 0, 0
		for _, g := range doc.Interchanges[0].Groups {
			for _, s := range g.Sets {
				segs += len(s.Segments)
				sets++
			}
		}
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(segs), "segments/op")
	b.ReportMetric(float64(sets)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/float64(segs), "allocs/seg")
}

func BenchmarkX12Scan(b *testing.B) {
	data := ship856(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sc := x12.NewScanner(data, x12.Limits{})
		for sc.Next() {
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzX12(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(samples, "*x12-*.edi"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(ship856(2))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := x12.Limits{MaxBytes: 1 << 20, MaxSegments: 10000, MaxElementLen: 512}
		doc, err := x12.Parse(data, lim)
		if doc == nil {
			t.Fatal("nil document")
		}
		if err != nil {
			_ = err.Error()
		}
		for _, ic := range doc.Interchanges {
			for _, g := range ic.Groups {
				for _, s := range g.Sets {
					for _, seg := range s.Segments {
						for i := 0; i <= min(seg.Len()+1, 40); i++ {
							_ = seg.Component(i, 2)
							_ = seg.Repetition(i, 2)
						}
					}
				}
			}
		}
	})
}
