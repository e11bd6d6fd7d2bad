package procure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// Failure classes: what a pipeline does with an input whose processing
// failed. A transient failure (a store or peer unavailable, overloaded,
// timing out, a serialization conflict) is retried with bounded backoff and
// the input kept; a deterministic one (encoding, constraint, decode,
// expression) fails the same way every time, so the input goes to the dead
// letter with its reason and the pipeline moves on.
const (
	FailTransient     = "transient"
	FailDeterministic = "deterministic"
)

// ClassifiedError is an error whose class an adapter or engine has decided.
// Reason is one of a small fixed set (metric labels stay bounded):
// "unavailable", "timeout", "serialization", "overload", "rate_limited",
// "encoding", "constraint", "decode", "expression", "state", "statement",
// "rejected".
type ClassifiedError struct {
	Class  string
	Reason string
	Err    error
}

func (e *ClassifiedError) Error() string { return e.Err.Error() }
func (e *ClassifiedError) Unwrap() error { return e.Err }

// Transient marks err as transient for reason.
func Transient(reason string, err error) error {
	return &ClassifiedError{Class: FailTransient, Reason: reason, Err: err}
}

// Deterministic marks err as deterministic for reason.
func Deterministic(reason string, err error) error {
	return &ClassifiedError{Class: FailDeterministic, Reason: reason, Err: err}
}

// Classify returns the class and reason of err: those of the first
// ClassifiedError in its chain; otherwise a timeout, a cancelled context
// and a network error are transient, a FieldError is deterministic
// ("decode"), and anything else is transient with reason "unknown" (the
// caller bounds how often it retries those).
func Classify(err error) (class, reason string) {
	var ce *ClassifiedError
	if errors.As(err, &ce) {
		return ce.Class, ce.Reason
	}
	var fe *FieldError
	var ne net.Error
	switch {
	case errors.As(err, &fe):
		return FailDeterministic, "decode"
	case errors.Is(err, context.DeadlineExceeded):
		return FailTransient, "timeout"
	case errors.Is(err, context.Canceled):
		return FailTransient, "cancelled"
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FailTransient, "unavailable"
	}
	return FailTransient, "unknown"
}

// EventError is a failure that belongs to one event of a batch (its rule
// evaluation failed, its state cannot be stored): the batch can go on
// without it.
type EventError struct {
	Event *Event
	Err   error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("event %s (%s %s): %v", e.Event.ID, e.Event.Type, e.Event.Document.ID, e.Err)
}
func (e *EventError) Unwrap() error { return e.Err }
