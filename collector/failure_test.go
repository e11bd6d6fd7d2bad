package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	kafkago "github.com/segmentio/kafka-go"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		transient bool
		reason    string
	}{
		{"connection refused is transient", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true, ReasonNetwork},
		{"EOF mid-insert is transient", fmt.Errorf("insert events: %w", io.ErrUnexpectedEOF), true, ReasonNetwork},
		{"a deadline is transient", fmt.Errorf("ping: %w", context.DeadlineExceeded), true, ReasonTimeout},
		{"too many parts is transient", &chproto.Exception{Code: 252, Message: "Too many parts"}, true, ReasonOverload},
		{"memory limit is transient", fmt.Errorf("insert: %w", &chproto.Exception{Code: 241}), true, ReasonOverload},
		{"a missing table is transient", &chproto.Exception{Code: 60}, true, ReasonUnavailable},
		{"a violated constraint is deterministic", &chproto.Exception{Code: 469}, false, ReasonConstraint},
		{"an unparsable value is deterministic", &chproto.Exception{Code: 27}, false, ReasonEncoding},
		{"another server refusal is deterministic", &chproto.Exception{Code: 1234}, false, ReasonRejected},
		{"a message too large is deterministic", fmt.Errorf("dead-letter publish: %w", kafkago.MessageSizeTooLarge), false, ReasonSize},
		{"a leader election is transient", kafkago.LeaderNotAvailable, true, ReasonOverload},
		{"one transient message makes a write transient", kafkago.WriteErrors{nil, kafkago.MessageSizeTooLarge, kafkago.RequestTimedOut}, true, ReasonTimeout},
		{"deterministic messages only make it deterministic", kafkago.WriteErrors{nil, kafkago.MessageSizeTooLarge}, false, ReasonSize},
		{"an unknown error is retried a few times", errors.New("clickhouse [AppendRow]: converting string to UInt8 is unsupported"), true, ReasonUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := Classify(tt.err); f.Transient != tt.transient || f.Reason != tt.reason {
				t.Errorf("Classify(%v) = %+v, want transient %v reason %s", tt.err, f, tt.transient, tt.reason)
			}
		})
	}
}
