package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/procure"
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
		{"a store's transient refusal is transient", fmt.Errorf("insert: %w", procure.Transient(ReasonOverload, errors.New("Too many parts"))), true, ReasonOverload},
		{"a store's deterministic refusal is deterministic", procure.Deterministic(ReasonEncoding, errors.New("Cannot parse input")), false, ReasonEncoding},
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
