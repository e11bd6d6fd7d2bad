package intake

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// badSets is one X12 interchange of widget-buyer with n 850 sets, each
// rejected (a zero quantity).
func badSets(n int) []byte {
	var b bytes.Buffer
	b.WriteString("ISA*00*          *00*          *12*4405197800     *01*999999999      *101127*1719*U*00400*000003438*0*P*>~\n")
	b.WriteString("GS*PO*4405197800*999999999*20101127*1719*1421*X*004010~\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "ST*850*%04d~BEG*00*SA*%d**20101127~DTM*002*20101214~PO1*1*0*EA*1~SE*5*%04d~", i%10000, i, i%10000)
	}
	fmt.Fprintf(&b, "GE*%d*1421~\nIEA*1*000003438~\n", n)
	return b.Bytes()
}

// BenchmarkRejectionFlood processes a 760 KB interchange of 10,000 bad
// sets and encodes its dead letters as the dead-letter topic gets them
// (kafka.DeadLetterMessages, which bounds each). It reports the bytes of
// dead letters per document (the whole document was copied into each before
// issue 9: 7.6 GB), the heap in use at the end of an operation and the
// allocation per document.
func BenchmarkRejectionFlood(b *testing.B) {
	doc := badSets(10000)
	var dlBytes, rows int
	deps := Deps{DeadLetter: DeadLetterFunc(func(_ context.Context, rs []procure.Rejection) error {
		for _, m := range kafka.DeadLetterMessages(rs) {
			dlBytes += len(m.Value) + len(m.Key)
			for _, h := range m.Headers {
				dlBytes += len(h.Key) + len(h.Value)
			}
		}
		rows += len(rs)
		return nil
	})}
	in := newIntake(b, deps)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	var ms runtime.MemStats
	peak := uint64(0)
	for b.Loop() {
		dlBytes, rows = 0, 0
		res, err := in.Process(context.Background(), doc, Auto)
		if err != nil || res.Status != Rejected || rows != 10000 {
			b.Fatalf("status %s, %d dead letters, err %v", res.Status, rows, err)
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.ReportMetric(float64(dlBytes)/(1<<20), "deadletter_MB/doc")
	b.ReportMetric(float64(peak)/(1<<20), "heap_inuse_MB")
}
