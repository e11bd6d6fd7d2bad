package intake

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
