package intake

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/b2b/ack"
	"github.com/supplywatch/supplywatch/b2b/partner"
)

// TestAnErrorOutsideAnInterchangeKeepsItsByteOffset: a segment after IEA
// belongs to no interchange, so the byte offset is the only way to find it
// (issue 14, cause 6); the interchange itself is still accepted, with errors.
func TestAnErrorOutsideAnInterchangeKeepsItsByteOffset(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-855-nodex12-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	at := len(raw)
	raw = append(raw, "REF*ZZ*STRAY~\n"...)
	r, err := newIntake(t, Deps{}).Process(context.Background(), raw, Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rejections) != 1 || r.Status != AcceptedWithErrors || len(r.Events) != 1 {
		t.Fatalf("status %s, %d events, rejections %v", r.Status, len(r.Events), r.Rejections)
	}
	got := r.Rejections[0].Error()
	if want := "(REF at byte " + strconv.Itoa(at) + "): segment outside an interchange"; !strings.Contains(got, want) {
		t.Errorf("rejection %q lacks %q", got, want)
	}
}

// TestApplicationProblemsGoBackAsAnAdviceWhenTheProfileAsks: a valid
// document with an unmapped ship-to is accepted by the 997 (syntax) and
// rejected in an 824 (application) for a partner whose profile asks for
// one; an EDIFACT partner asking for APERAK gets one (issue 14, cause 13).
func TestApplicationProblemsGoBackAsAnAdviceWhenTheProfileAsks(t *testing.T) {
	dir := filepath.Join("..", "testdata", "issue14")
	reg, err := partner.LoadFile(filepath.Join(dir, "partners.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	in := New(reg, Config{}, Deps{Now: func() time.Time { return now }})
	for file, want := range map[string][2]string{
		"x12-850-unmapped-shipto.edi": {"997", "824"},
		"edifact-orders-unmapped.edi": {"CONTRL", "APERAK"},
	} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := in.Process(context.Background(), raw, Auto)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != Rejected || len(r.Acks) != 2 || r.Acks[0].Kind != want[0] || r.Acks[1].Kind != want[1] {
			t.Fatalf("%s: status %s, acks %v; want rejected with %v", file, r.Status, r.Acks, want)
		}
		if r.Acks[0].Verdict != ack.Accepted || !r.Rejections[0].Application {
			t.Errorf("%s: %s verdict %s for an application problem: it must stay about syntax", file, want[0], r.Acks[0].Verdict)
		}
	}
}
