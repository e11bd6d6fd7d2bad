package edi

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// TestIndexMatchesBytesIndex compares the eight-bytes-at-a-time searches
// with a byte-by-byte search at every start offset and match position
// (across word boundaries, at the tail, absent).
func TestIndexMatchesBytesIndex(t *testing.T) {
	for n := 0; n <= 33; n++ {
		for pos := -1; pos < n; pos++ {
			b := bytes.Repeat([]byte{'A'}, n)
			if pos >= 0 {
				b[pos] = '~'
			}
			if n > 3 {
				b[n-1] = 0x80 | 'A' // a high byte must not match
			}
			for i := 0; i <= n; i++ {
				want := bytes.IndexByte(b[i:], '~')
				if want >= 0 {
					want += i
				}
				if got := IndexByte(b, i, '~'); got != want {
					t.Fatalf("IndexByte(%q, %d) = %d, want %d", b, i, got, want)
				}
				wantEither := bytes.IndexAny(b[i:], "~\n")
				if wantEither >= 0 {
					wantEither += i
				}
				wantStop := bytes.IndexFunc(b[i:], func(r rune) bool { return r == '~' || r == '\n' || r >= 0x80 })
				if wantStop >= 0 {
					wantStop += i
				}
				if got := IndexStop(b, i, '~'); got != wantStop {
					t.Fatalf("IndexStop(%q, %d) = %d, want %d", b, i, got, wantStop)
				}
				if got := IndexEither(b, i, '~', '\n'); got != wantEither {
					t.Fatalf("IndexEither(%q, %d) = %d, want %d", b, i, got, wantEither)
				}
			}
		}
	}
	if got := IndexEither([]byte("ABCDEFGH\nIJ~"), 0, '~', '\n'); got != 8 {
		t.Errorf("line feed before the terminator: %d, want 8", got)
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

func TestListReportsEveryError(t *testing.T) {
	var err error = List[testErr]{"a", "b"}
	if got := err.Error(); got != "2 errors:\n\ta\n\tb" {
		t.Errorf("Error() = %q", got)
	}
	var one testErr
	if !errors.As(err, &one) || one != "a" {
		t.Errorf("errors.As found %q, want the first error", one)
	}
	if got := fmt.Sprint(List[testErr]{"only"}); got != "only" {
		t.Errorf("one error prints %q", got)
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxErrors: 7}.WithDefaults()
	want := Limits{MaxBytes: 64 << 20, MaxSegments: 1_000_000, MaxElementLen: 4096, MaxErrors: 7}
	if got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
	if got := (Limits{MaxBytes: 1 << 40}).WithDefaults().MaxBytes; got != 1<<32-1 {
		t.Errorf("MaxBytes %d: segment offsets are uint32", got)
	}
}
