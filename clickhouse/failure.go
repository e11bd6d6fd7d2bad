package clickhouse

import (
	"errors"

	"github.com/ClickHouse/ch-go"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/supplywatch/supplywatch/procure"
)

// ClickHouse error codes (src/Common/ErrorCodes.cpp) that say "not now"
// rather than "never": a retry of the same rows may succeed.
var transientCodes = map[int32]string{
	159:  "timeout",     // TIMEOUT_EXCEEDED
	209:  "timeout",     // SOCKET_TIMEOUT
	210:  "network",     // NETWORK_ERROR
	202:  "overload",    // TOO_MANY_SIMULTANEOUS_QUERIES
	241:  "overload",    // MEMORY_LIMIT_EXCEEDED
	252:  "overload",    // TOO_MANY_PARTS
	236:  "overload",    // ABORTED
	394:  "overload",    // QUERY_WAS_CANCELLED
	999:  "unavailable", // KEEPER_EXCEPTION
	242:  "unavailable", // TABLE_IS_READ_ONLY
	164:  "unavailable", // READONLY
	60:   "unavailable", // UNKNOWN_TABLE (migrations not run yet)
	81:   "unavailable", // UNKNOWN_DATABASE
	516:  "unavailable", // AUTHENTICATION_FAILED
	497:  "unavailable", // ACCESS_DENIED
	243:  "unavailable", // NOT_ENOUGH_SPACE
	425:  "unavailable", // SYSTEM_ERROR
	3:    "unavailable", // UNEXPECTED_END_OF_FILE
	1000: "network",     // POCO_EXCEPTION
}

// Deterministic codes with a more telling reason than "rejected".
var deterministicCodes = map[int32]string{
	131: "size",       // TOO_LARGE_STRING_SIZE
	307: "size",       // TOO_MANY_BYTES
	396: "size",       // TOO_MANY_ROWS_OR_BYTES
	6:   "encoding",   // CANNOT_PARSE_TEXT
	27:  "encoding",   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	38:  "encoding",   // CANNOT_PARSE_DATE
	41:  "encoding",   // CANNOT_PARSE_DATETIME
	53:  "encoding",   // TYPE_MISMATCH
	70:  "encoding",   // CANNOT_CONVERT_TYPE
	72:  "encoding",   // CANNOT_PARSE_NUMBER
	117: "encoding",   // INCORRECT_DATA
	321: "encoding",   // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
	469: "constraint", // VIOLATED_CONSTRAINT
	36:  "constraint", // BAD_ARGUMENTS
	43:  "constraint", // ILLEGAL_TYPE_OF_ARGUMENT
}

// serverFailure classifies a ClickHouse server's answer in err (either
// driver's exception type) as a procure.ClassifiedError: a code that says
// "not now" is transient, any other refusal deterministic ("rejected" when
// no more telling reason is known). Other errors (the network, a deadline,
// the driver's own) are returned as they are: the engines classify those
// without knowing the driver. This is how the writer's store calls report
// a refusal, so that no engine needs ClickHouse's codes.
func serverFailure(err error) error {
	if err == nil {
		return nil
	}
	var ce *procure.ClassifiedError
	if errors.As(err, &ce) {
		return err
	}
	code, ok := serverCode(err)
	if !ok {
		return err
	}
	if r, ok := transientCodes[code]; ok {
		return procure.Transient(r, err)
	}
	if r, ok := deterministicCodes[code]; ok {
		return procure.Deterministic(r, err)
	}
	return procure.Deterministic("rejected", err)
}

func serverCode(err error) (int32, bool) {
	var e *chproto.Exception
	if errors.As(err, &e) {
		return e.Code, true
	}
	if ce, ok := ch.AsException(err); ok {
		return int32(ce.Code), true
	}
	return 0, false
}
