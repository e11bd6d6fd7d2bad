package edifact

import (
	"fmt"
	"github.com/supplywatch/supplywatch/b2b/edi"
	"strings"

	"github.com/supplywatch/supplywatch/b2b/errpos"
)

// Kind classifies an error so that CONTRL messages and metrics can use a fixed
// set of reasons.
type Kind int

// The kinds of syntax and envelope errors.
const (
	KindSyntax                       Kind = iota + 1 // unreadable input: bad UNA, no UNB
	KindLimit                                        // a size limit was exceeded
	KindBadTag                                       // tag is not three upper-case letters or digits
	KindUnexpectedSegment                            // segment outside the envelope it needs
	KindMissingElement                               // mandatory element missing
	KindInvalidValue                                 // element with a wrong format, length or code
	KindCharset                                      // characters outside the declared repertoire (a warning)
	KindUnterminated                                 // last segment without terminator (a warning)
	KindMessageTrailerMissing                        // UNH without UNT
	KindMessageReferenceMismatch                     // UNT02 differs from UNH01
	KindMessageCount                                 // UNT01 differs from the segments counted
	KindGroupTrailerMissing                          // UNG without UNE
	KindGroupReferenceMismatch                       // UNE02 differs from UNG05
	KindGroupCount                                   // UNE01 differs from the messages counted
	KindInterchangeTrailerMissing                    // UNB without UNZ
	KindInterchangeReferenceMismatch                 // UNZ02 differs from UNB05
	KindInterchangeCount                             // UNZ01 differs from the messages or groups counted
	KindDuplicateReference                           // a reference repeated in its envelope (a warning)
	KindSegmentRepeated                              // a segment that may occur once occurs again (UNS)
	KindInvalidCharacter                             // a character no declared repertoire has (C1 controls under UNOC)
	KindMergedSegments                               // a line break or terminator look-alike followed by a tag inside a segment
)

// Error is one syntax or envelope problem, located as precisely as the input
// allows. Zero fields are unknown or not applicable.
type Error struct {
	Kind        Kind
	Interchange string // UNB05
	Group       string // UNG05
	Message     string // UNH01
	MessageType string // UNH02-1
	// Segment is the 1-based position of the segment in its message (UNH = 1)
	// when Message is known, else in its interchange (UNB = 1).
	Segment   int
	Tag       string
	Offset    int // byte offset of the segment in the input; -1 if unknown
	Element   int // 1-based data element position, 0 for the whole segment
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
	if e.Message != "" {
		fmt.Fprintf(&b, "%smessage %s", sep, e.Message)
		if e.MessageType != "" {
			fmt.Fprintf(&b, " (%s)", e.MessageType)
		}
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
