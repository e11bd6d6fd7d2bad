package x12

import (
	"fmt"
	"strings"

	"github.com/supplywatch/supplywatch/b2b/errpos"
)

// Kind classifies an error so that acknowledgements and metrics can use a
// fixed set of reasons.
type Kind int

// The kinds of syntax and envelope errors.
const (
	KindSyntax                     Kind = iota + 1 // unreadable input: no ISA, bad delimiters, unterminated segment
	KindLimit                                      // a size limit was exceeded
	KindBadTag                                     // segment identifier is not 2-3 upper-case letters or digits
	KindLineBreak                                  // a line break inside a segment (mixed terminators)
	KindUnexpectedSegment                          // segment outside the envelope it needs (ST outside GS …)
	KindMissingElement                             // mandatory envelope element missing
	KindInvalidValue                               // envelope element with a wrong format or code
	KindISAFormat                                  // ISA not fixed-width (a lenient reader copes)
	KindSetTrailerMissing                          // ST without SE
	KindSetControlMismatch                         // SE02 differs from ST02
	KindSetCount                                   // SE01 differs from the segments counted
	KindGroupTrailerMissing                        // GS without GE
	KindGroupControlMismatch                       // GE02 differs from GS06
	KindGroupCount                                 // GE01 differs from the sets counted
	KindInterchangeTrailerMissing                  // ISA without IEA
	KindInterchangeControlMismatch                 // IEA02 differs from ISA13
	KindInterchangeCount                           // IEA01 differs from the groups counted
	KindDuplicateControl                           // a control number repeated in its envelope
	KindVersion                                    // inconsistent versions between envelopes
	KindUnterminated                               // last segment without terminator (a warning)
)

// Error is one syntax or envelope problem, located as precisely as the input
// allows. Zero fields are unknown or not applicable.
type Error struct {
	Kind        Kind
	Interchange string // ISA13
	Group       string // GS06
	Set         string // ST02
	SetID       string // ST01
	// Segment is the 1-based position of the segment in its transaction set
	// (ST = 1) when Set is known, else in its interchange (ISA = 1).
	Segment   int
	Tag       string
	Offset    int // byte offset of the segment in the input; -1 if unknown
	Element   int // 1-based element position, 0 for the whole segment
	Component int // 1-based component position, 0 for the whole element
	Reason    string
}

func (e *Error) Error() string {
	var b strings.Builder
	sep := ""
	if e.Interchange != "" {
		fmt.Fprintf(&b, "interchange %s", e.Interchange)
		sep = " "
	}
	if e.Group != "" {
		fmt.Fprintf(&b, "%sgroup %s", sep, e.Group)
		sep = " "
	}
	if e.Set != "" {
		fmt.Fprintf(&b, "%sset %s", sep, e.Set)
		sep = " "
	}
	return errpos.Format(b.String(), e.Segment, e.Tag, e.Offset, e.Element, e.Component, e.Reason)
}

// Errors is the list of errors found in one input; it is the error returned by
// Parse. errors.As finds the individual *Error values through Unwrap.
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors:", len(es))
	for _, e := range es {
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see each error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Limits bound what Parse accepts; the zero value means the defaults.
type Limits struct {
	MaxBytes      int `yaml:"max_bytes"`       // whole input; default 64 MiB
	MaxSegments   int `yaml:"max_segments"`    // whole input; default 1,000,000
	MaxElementLen int `yaml:"max_element_len"` // default 4,096 (BIN/BDS data excepted from nothing)
	MaxErrors     int `yaml:"max_errors"`      // errors collected before giving up; default 100
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	l.MaxBytes = min(l.MaxBytes, 1<<32-1) // segment offsets are uint32
	if l.MaxSegments <= 0 {
		l.MaxSegments = 1_000_000
	}
	if l.MaxElementLen <= 0 {
		l.MaxElementLen = 4096
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = 100
	}
	return l
}
