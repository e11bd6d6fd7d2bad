package collector

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/ClickHouse/ch-go"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/supplywatch/supplywatch/kafka"
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

// ClickHouse error codes (src/Common/ErrorCodes.cpp) that say "not now"
// rather than "never": a retry of the same rows may succeed.
var transientCH = map[int32]string{
	159:  ReasonTimeout,     // TIMEOUT_EXCEEDED
	209:  ReasonTimeout,     // SOCKET_TIMEOUT
	210:  ReasonNetwork,     // NETWORK_ERROR
	202:  ReasonOverload,    // TOO_MANY_SIMULTANEOUS_QUERIES
	241:  ReasonOverload,    // MEMORY_LIMIT_EXCEEDED
	252:  ReasonOverload,    // TOO_MANY_PARTS
	236:  ReasonOverload,    // ABORTED
	394:  ReasonOverload,    // QUERY_WAS_CANCELLED
	999:  ReasonUnavailable, // KEEPER_EXCEPTION
	242:  ReasonUnavailable, // TABLE_IS_READ_ONLY
	164:  ReasonUnavailable, // READONLY
	60:   ReasonUnavailable, // UNKNOWN_TABLE (migrations not run yet)
	81:   ReasonUnavailable, // UNKNOWN_DATABASE
	516:  ReasonUnavailable, // AUTHENTICATION_FAILED
	497:  ReasonUnavailable, // ACCESS_DENIED
	243:  ReasonUnavailable, // NOT_ENOUGH_SPACE
	425:  ReasonUnavailable, // SYSTEM_ERROR
	3:    ReasonUnavailable, // UNEXPECTED_END_OF_FILE
	1000: ReasonNetwork,     // POCO_EXCEPTION
}

// Deterministic ClickHouse codes with a more telling reason than "rejected".
var deterministicCH = map[int32]string{
	131: ReasonSize,       // TOO_LARGE_STRING_SIZE
	307: ReasonSize,       // TOO_MANY_BYTES
	396: ReasonSize,       // TOO_MANY_ROWS_OR_BYTES
	6:   ReasonEncoding,   // CANNOT_PARSE_TEXT
	27:  ReasonEncoding,   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	38:  ReasonEncoding,   // CANNOT_PARSE_DATE
	41:  ReasonEncoding,   // CANNOT_PARSE_DATETIME
	53:  ReasonEncoding,   // TYPE_MISMATCH
	70:  ReasonEncoding,   // CANNOT_CONVERT_TYPE
	72:  ReasonEncoding,   // CANNOT_PARSE_NUMBER
	117: ReasonEncoding,   // INCORRECT_DATA
	321: ReasonEncoding,   // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
	469: ReasonConstraint, // VIOLATED_CONSTRAINT
	36:  ReasonConstraint, // BAD_ARGUMENTS
	43:  ReasonConstraint, // ILLEGAL_TYPE_OF_ARGUMENT
}

// Classify sorts err into transient or deterministic. An error it does not
// recognise is transient with ReasonUnknown, which the writer retries only a
// few times: the connection, not the data, is the likelier cause, but it
// must not be retried forever either.
func Classify(err error) Failure {
	if err == nil {
		return Failure{}
	}
	// A server's answer: its code decides.
	if code, ok := clickHouseCode(err); ok {
		if r, ok := transientCH[code]; ok {
			return Failure{Transient: true, Reason: r}
		}
		if r, ok := deterministicCH[code]; ok {
			return Failure{Reason: r}
		}
		return Failure{Reason: ReasonRejected}
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

func clickHouseCode(err error) (int32, bool) {
	var e *chproto.Exception
	if errors.As(err, &e) {
		return e.Code, true
	}
	if ce, ok := ch.AsException(err); ok {
		return int32(ce.Code), true
	}
	return 0, false
}
