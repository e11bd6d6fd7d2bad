package mapping

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
)

const benchPartners = `
partners:
  - id: bench
    tenant: acme
    supplier: S0042
    currency: EUR
    x12: {interchange: [{qualifier: ZZ, id: SUPPLIER}]}
    edifact: {interchange: [{qualifier: "14", id: "5400110000009"}]}
    codes:
      ship_to: {"92:P01": P01, "9:5400110000016": P01}
`

// ship856 generates an interchange of n 856 ship notices (S-O-P-I, 50 items
// each, a valid SSCC per pack).
func ship856(n int) []byte {
	var b bytes.Buffer
	b.WriteString("ISA*00*          *00*          *ZZ*SUPPLIER       *ZZ*BUYER          *240101*1200*U*00401*000000001*0*P*>~\n")
	b.WriteString("GS*SH*SUPPLIER*BUYER*20240101*1200*1*X*004010~\n")
	for i := 1; i <= n; i++ {
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
		w("TD5**2*SCAC*M*CARRIER")
		w("REF*BM*BOL%06d", i)
		w("DTM*011*20240101*1200")
		w("DTM*017*20240103*0800")
		w("N1*ST*PLANT 01*92*P01")
		w("N1*SF*SUPPLIER*92*S0042")
		w("HL*2*1*O")
		w("PRF*450001%04d", i)
		w("HL*3*2*P")
		w("MAN*GM*00106141411234567897")
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
		w("DTM+137:202401011200:203")
		w("DTM+2:20240115:102")
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

func benchRegistry(tb testing.TB) *partner.Registry {
	r, err := partner.Load("bench.yaml", []byte(benchPartners), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestGeneratedDocumentsMapCleanly(t *testing.T) {
	reg := benchRegistry(t)
	opt := Options{ReceivedAt: time.Now()}
	doc, err := x12.Parse(ship856(3), x12.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ic := &doc.Interchanges[0]
	out := X12(reg.ForX12(ic.SenderQualifier, ic.Sender), ic, nil, opt)
	if len(out.Events) != 3 || len(out.Rejections)+len(out.Warnings) != 0 {
		t.Fatalf("856: %d events, %v %v", len(out.Events), out.Rejections, out.Warnings)
	}
	edoc, err := edifact.Parse(orders(3), edifact.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	eic := &edoc.Interchanges[0]
	eout := EDIFACT(reg.ForEDIFACT(eic.SenderQualifier, eic.Sender), eic, nil, opt)
	if len(eout.Events) != 3 || len(eout.Rejections)+len(eout.Warnings) != 0 {
		t.Fatalf("ORDERS: %d events, %v %v", len(eout.Events), eout.Rejections, eout.Warnings)
	}
}

// report adds documents/s and allocations per segment.
func report(b *testing.B, docs, segs int, mallocs uint64) {
	b.ReportMetric(float64(docs)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(mallocs)/float64(b.N)/float64(segs), "allocs/seg")
}

// BenchmarkX12ShipNotices tokenizes and maps an interchange of 1,000 856s
// with 50 items each (tokenize + map; event encoding is not included).
func BenchmarkX12ShipNotices(b *testing.B) {
	reg := benchRegistry(b)
	data := ship856(1000)
	opt := Options{ReceivedAt: time.Now()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	segs := bytes.Count(data, []byte("~"))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		doc, err := x12.Parse(data, x12.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ic := &doc.Interchanges[0]
		out := X12(reg.ForX12(ic.SenderQualifier, ic.Sender), ic, nil, opt)
		if len(out.Events) != 1000 {
			b.Fatalf("%d events %v", len(out.Events), out.Rejections)
		}
	}
	runtime.ReadMemStats(&ms1)
	report(b, 1000, segs, ms1.Mallocs-ms0.Mallocs)
}

// BenchmarkEDIFACTOrders tokenizes and maps an interchange of 1,000 ORDERS
// with 20 lines each.
func BenchmarkEDIFACTOrders(b *testing.B) {
	reg := benchRegistry(b)
	data := orders(1000)
	opt := Options{ReceivedAt: time.Now()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	segs := bytes.Count(data, []byte("'"))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		doc, err := edifact.Parse(data, edifact.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ic := &doc.Interchanges[0]
		out := EDIFACT(reg.ForEDIFACT(ic.SenderQualifier, ic.Sender), ic, nil, opt)
		if len(out.Events) != 1000 {
			b.Fatalf("%d events %v", len(out.Events), out.Rejections)
		}
	}
	runtime.ReadMemStats(&ms1)
	report(b, 1000, segs, ms1.Mallocs-ms0.Mallocs)
}
