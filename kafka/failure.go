package kafka

import (
	"errors"

	kafkago "github.com/segmentio/kafka-go"
)

// BrokerFailure sorts a broker's answer found in err's chain: transient
// (retry may succeed) or not, with a reason from the collector's fixed set
// of failure reasons ("size", "encoding", "timeout", "overload",
// "unavailable", "rejected"). ok is false when err holds no broker answer
// (a network error, say), which the caller classifies itself.
func BrokerFailure(err error) (transient bool, reason string, ok bool) {
	var ke kafkago.Error
	if !errors.As(err, &ke) {
		return false, "", false
	}
	switch {
	case ke == kafkago.MessageSizeTooLarge || ke == kafkago.RecordListTooLarge:
		return false, "size", true
	case ke == kafkago.InvalidRecord || ke == kafkago.InvalidMessageSize || ke == kafkago.UnsupportedCompressionType:
		return false, "encoding", true
	case ke.Timeout():
		return true, "timeout", true
	case ke.Temporary():
		return true, "overload", true
	case ke == kafkago.TopicAuthorizationFailed || ke == kafkago.ClusterAuthorizationFailed || ke == kafkago.SASLAuthenticationFailed:
		return true, "unavailable", true
	}
	return false, "rejected", true
}

// MessageErrors returns the per-message errors of a publish that failed
// for some of its messages (Publisher.PublishEvents, PublishRejections): one
// entry per message in the order given, nil for those written. ok is false
// when err is not such a partial failure.
func MessageErrors(err error) (errs []error, ok bool) {
	var we kafkago.WriteErrors
	if !errors.As(err, &we) {
		return nil, false
	}
	return we, true
}
