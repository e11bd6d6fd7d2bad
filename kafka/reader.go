package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Reader is a consumer-group reader that hands out Messages, the adapter's
// own type: the collector and the rules processor consume through it (each
// declaring the two methods it needs) and never see kafka-go. Offsets are
// committed only by Commit: the caller commits after what it read is
// stored, which makes consumption at least once.
type Reader struct {
	r *kafkago.Reader
}

// NewReader returns a consumer-group reader on topic; log receives the
// client's errors (it retries them itself). Offsets are committed only by
// an explicit Commit (kafka-go's CommitInterval 0).
func (c *Config) NewReader(topic, group string, log *slog.Logger) (*Reader, error) {
	d, err := c.Dialer()
	if err != nil {
		return nil, err
	}
	return &Reader{r: kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:               c.Brokers,
		GroupID:               group,
		Topic:                 topic,
		Dialer:                d,
		MinBytes:              1,
		MaxBytes:              4 << 20,
		MaxWait:               time.Second,
		ReadBatchTimeout:      10 * time.Second,
		QueueCapacity:         4000,
		StartOffset:           kafkago.FirstOffset,
		HeartbeatInterval:     time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      500 * time.Millisecond,
		WatchPartitionChanges: true,
		ErrorLogger: kafkago.LoggerFunc(func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			// A long-poll fetch that outlives its deadline on a busy machine
			// is retried at once; only other errors are worth a warning.
			if strings.Contains(msg, "i/o timeout") {
				log.Debug("kafka reader: " + msg)
				return
			}
			log.Warn("kafka reader: " + msg)
		}),
	})}, nil
}

// Fetch waits for the next record of the group's partitions. It does not
// commit: the record comes again after a restart or a rebalance until
// Commit covers it. The error is kafka-go's (BrokerFailure sorts it).
func (r *Reader) Fetch(ctx context.Context) (Message, error) {
	m, err := r.r.FetchMessage(ctx)
	if err != nil {
		return Message{}, err
	}
	return fromKafkaGo(&m), nil
}

// Commit commits the offsets of msgs: for each partition, everything up to
// and including the highest offset given. Only Topic, Partition and Offset
// of each Message are read.
func (r *Reader) Commit(ctx context.Context, msgs ...Message) error {
	out := make([]kafkago.Message, len(msgs))
	for i := range msgs {
		out[i] = kafkago.Message{Topic: msgs[i].Topic, Partition: msgs[i].Partition, Offset: msgs[i].Offset}
	}
	return r.r.CommitMessages(ctx, out...)
}

// Lag is how many records the reader is behind the end of its partitions,
// as of its last fetch.
func (r *Reader) Lag() int64 { return r.r.Stats().Lag }

// Close leaves the group and closes the connections.
func (r *Reader) Close() error { return r.r.Close() }

// fromKafkaGo converts a fetched record; its headers become a map (a later
// header of the same name wins, as supplywatch never repeats one).
func fromKafkaGo(m *kafkago.Message) Message {
	out := Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value,
		Time: m.Time, HighWaterMark: m.HighWaterMark}
	if len(m.Headers) > 0 {
		out.Headers = make(map[string]string, len(m.Headers))
		for _, h := range m.Headers {
			out.Headers[h.Key] = string(h.Value)
		}
	}
	return out
}
