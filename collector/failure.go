package collector

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// Failure is a classified error of the writer's dependencies (ClickHouse,
// the dead-letter topic). Transient failures are retried with bounded
// backoff for as long as the writer runs; deterministic ones would fail the
// same way on every attempt, so the input at fault goes to the dead letter
// and the writer moves on. Reason is one of a fixed set, a bounded metric
// label.
type Failure struct {
	Transient bool
	Reason    string
}

// Failure reasons.
const (
	ReasonNetwork     = "network"     // connection refused, reset, closed, EOF (transient)
	ReasonTimeout     = "timeout"     // a deadline passed on the way (transient)
	ReasonOverload    = "overload"    // the server refused for load: too many parts, memory, queries (transient)
	ReasonUnavailable = "unavailable" // the server cannot take writes now: readonly, no table yet, auth (transient)
	ReasonSize        = "size"        // a value or message too large (deterministic)
	ReasonEncoding    = "encoding"    // a value the server cannot parse or convert (deterministic)
	ReasonConstraint  = "constraint"  // a constraint or a function in the insert path failed on a row (deterministic)
	ReasonRejected    = "rejected"    // any other refusal by the server (deterministic)
	// ReasonUnknown is an error neither a server's answer nor a known
	// network failure (a driver refusing a value, say): retried as
	// transient a few times (WriterConfig.UnknownAttempts), then treated as
	// deterministic, so that it cannot wedge the writer.
	ReasonUnknown = "unknown"
)

// Classify sorts err into transient or deterministic. An error it does not
// recognise is transient with ReasonUnknown, which the writer retries only a
// few times: the connection, not the data, is the likelier cause, but it
// must not be retried forever either.
func Classify(err error) Failure {
	if err == nil {
		return Failure{}
	}
	// A store's classified answer (the ClickHouse adapter classifies its
	// server's error codes): its class decides.
	var ce *procure.ClassifiedError
	if errors.As(err, &ce) {
		return Failure{Transient: ce.Class == procure.FailTransient, Reason: ce.Reason}
	}
	// A broker's answer.
	if transient, reason, ok := kafka.BrokerFailure(err); ok {
		return Failure{Transient: transient, Reason: reason}
	}
	if errs, ok := kafka.MessageErrors(err); ok {
		// Transient when any message failed transiently: the batch is
		// retried; the deterministic ones are sorted out per message.
		det := Failure{Reason: ReasonRejected}
		for _, e := range errs {
			if e == nil {
				continue
			}
			f := Classify(e)
			if f.Transient {
				return f
			}
			det = f
		}
		return det
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return Failure{Transient: true, Reason: ReasonTimeout}
	case errors.Is(err, context.Canceled):
		return Failure{Transient: true, Reason: ReasonTimeout}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Failure{Transient: true, Reason: ReasonNetwork}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return Failure{Transient: true, Reason: ReasonTimeout}
		}
		return Failure{Transient: true, Reason: ReasonNetwork}
	}
	// The drivers' own wording for a connection that went away.
	msg := err.Error()
	for _, s := range []string{"connection refused", "broken pipe", "connection reset", "use of closed", "acquire conn", "i/o timeout", "no such host", "EOF"} {
		if strings.Contains(msg, s) {
			return Failure{Transient: true, Reason: ReasonNetwork}
		}
	}
	return Failure{Transient: true, Reason: ReasonUnknown}
}
