package clickhouse

import (
	"errors"
	"fmt"
	"io"
	"testing"

	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/supplywatch/supplywatch/procure"
)

func TestServerFailureClassifiesTheServersCodes(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		class, reason string
	}{
		{"too many parts is transient", &chproto.Exception{Code: 252, Message: "Too many parts"}, procure.FailTransient, "overload"},
		{"memory limit is transient", fmt.Errorf("insert: %w", &chproto.Exception{Code: 241}), procure.FailTransient, "overload"},
		{"a missing table is transient", &chproto.Exception{Code: 60}, procure.FailTransient, "unavailable"},
		{"a violated constraint is deterministic", &chproto.Exception{Code: 469}, procure.FailDeterministic, "constraint"},
		{"an unparsable value is deterministic", &chproto.Exception{Code: 27}, procure.FailDeterministic, "encoding"},
		{"another server refusal is deterministic", &chproto.Exception{Code: 1234}, procure.FailDeterministic, "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := serverFailure(tt.err)
			var ce *procure.ClassifiedError
			if !errors.As(err, &ce) || ce.Class != tt.class || ce.Reason != tt.reason {
				t.Fatalf("serverFailure(%v) = %#v, want %s %s", tt.err, err, tt.class, tt.reason)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the server's error is not kept in the chain")
			}
		})
	}
	// Not a server's answer: left to the engines' own classification.
	if err := serverFailure(io.ErrUnexpectedEOF); err != io.ErrUnexpectedEOF {
		t.Errorf("a network error was changed: %#v", err)
	}
	if serverFailure(nil) != nil {
		t.Error("nil is not nil")
	}
}
