package procure

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestRejectionBound(t *testing.T) {
	t.Run("an oversized raw input is cut, its size and hash kept", func(t *testing.T) {
		raw := bytes.Repeat([]byte("x"), 1200<<10)
		r := Rejection{Raw: raw, Reason: strings.Repeat("é", MaxDeadLetterText)}
		r.Bound()
		sum := sha256.Sum256(raw)
		if len(r.Raw) != MaxDeadLetterRaw || r.RawSize != int64(len(raw)) || r.RawSHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("raw %d bytes, size %d, sha %s", len(r.Raw), r.RawSize, r.RawSHA256)
		}
		if !r.Truncated() || r.Stage != StageIngest {
			t.Fatalf("truncated %v, stage %q", r.Truncated(), r.Stage)
		}
		if len(r.Reason) > MaxDeadLetterText+len("…") || !strings.HasSuffix(r.Reason, "é…") {
			t.Fatalf("reason of %d bytes not cut on a rune boundary", len(r.Reason))
		}
		before := r
		r.Bound()
		if r.RawSize != before.RawSize || r.RawSHA256 != before.RawSHA256 || len(r.Raw) != len(before.Raw) {
			t.Fatal("Bound is not idempotent")
		}
	})
	t.Run("a reference to a stored original keeps the original's size and hash", func(t *testing.T) {
		r := Rejection{Raw: []byte("ST*850*0001~"), RawSize: 640 << 10, RawSHA256: "ab", OriginalRef: "b2b:doc1", Stage: StageB2B}
		r.Bound()
		if r.RawSize != 640<<10 || r.RawSHA256 != "ab" || r.Stage != StageB2B || !r.Truncated() {
			t.Fatalf("%+v", r)
		}
	})
}
