package intake

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/supplywatch/supplywatch/procure"
)

// FuzzIntake feeds arbitrary input through the whole path: it must never
// panic, every event it returns must decode strictly, and a document is
// either mapped or rejected with a reason.
func FuzzIntake(f *testing.F) {
	dir := samplesDir(f)
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && e.Type().IsRegular() && e.Name() != "MANIFEST.md" && e.Name() != "SHA256SUMS" {
			f.Add(b)
		}
	}
	docs, _ := os.ReadDir(filepath.Join("..", "mapping", "testdata", "docs"))
	for _, e := range docs {
		if b, err := os.ReadFile(filepath.Join("..", "mapping", "testdata", "docs", e.Name())); err == nil {
			f.Add(b)
		}
	}
	in := newIntake(f, Deps{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 1<<16 {
			return
		}
		r, err := in.Process(context.Background(), raw, Auto)
		if err != nil {
			t.Fatalf("no dependency can fail here: %v", err)
		}
		for _, e := range r.Events {
			if _, err := procure.Decode(e.Raw); err != nil {
				t.Fatalf("event does not decode: %v\n%s", err, e.Raw)
			}
		}
		for _, p := range r.Rejections {
			if p.Error() == "" {
				t.Fatal("rejection without a reason")
			}
		}
		if r.Status == "" {
			t.Fatal("no status")
		}
	})
}
