package x12

import (
	"fmt"
	"github.com/supplywatch/supplywatch/b2b/edi"
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
type Errors = edi.List[*Error]

// Limits bound what Parse accepts; the zero value means the defaults
// (64 MiB, 1,000,000 segments, elements of 4,096 bytes, 100 errors).
type Limits = edi.Limits
