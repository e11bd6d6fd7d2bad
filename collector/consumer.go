package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// Reader is what the Consumer needs of a Kafka consumer-group reader
// (*kafka.Reader): Fetch does not commit, Commit commits each partition up
// to the highest offset given.
type Reader interface {
	Fetch(ctx context.Context) (kafka.Message, error)
	Commit(ctx context.Context, msgs ...kafka.Message) error
}

// Consumer reads canonical events from the events topic into the Writer,
// at least once: a message's offset is committed only after the Writer has
// stored it (or found it stored already), so a crash or a rebalance makes
// Kafka deliver again what was not stored, and the Writer's duplicate check
// stores it once.
type Consumer struct {
	reader      Reader
	writer      *Writer
	log         *slog.Logger
	metrics     *Metrics
	group       string
	commitEvery time.Duration

	mu      sync.Mutex
	pending map[int]kafka.Message // highest stored, uncommitted offset per partition
	// Per partition: the high watermark seen at the last fetch and the next
	// offset committed, for the lag gauge.
	hwm       map[int]int64
	committed map[int]int64
	topic     string
}

// NewConsumer returns a consumer of reader into w.
func NewConsumer(reader Reader, w *Writer, group string, log *slog.Logger, m *Metrics) *Consumer {
	return &Consumer{reader: reader, writer: w, log: log, metrics: m, group: group, commitEvery: 100 * time.Millisecond, pending: map[int]kafka.Message{}, hwm: map[int]int64{}, committed: map[int]int64{}}
}

// Run consumes until ctx is done. It returns after the messages it fetched
// are stored and their offsets committed, or the drain gave up.
func (c *Consumer) Run(ctx context.Context) error {
	commitCtx, stopCommit := context.WithCancel(context.Background())
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		c.commitLoop(commitCtx)
	}()
	err := c.fetchLoop(ctx)
	// The writer drains what was submitted when ctx ends; commit after it.
	if ctx.Err() != nil {
		<-c.writer.Done()
	}
	stopCommit()
	<-committed
	c.commit(context.Background())
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// fetchLoop fetches until ctx ends. A broker that is down or restarting
// is a transient failure: the reader reconnects by itself, and the loop
// waits (backoff up to 5 s) and fetches again instead of ending the
// process; only an error classified deterministic ends it.
func (c *Consumer) fetchLoop(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		m, err := c.reader.Fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f := Classify(err)
			if !f.Transient {
				return fmt.Errorf("kafka fetch: %w", err)
			}
			c.metrics.fetchErrors.WithLabelValues(f.Reason).Inc()
			c.log.Warn("kafka fetch failed; retrying", "reason", f.Reason, "backoff", backoff, "err", err)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		it := DecodeMessage(&m)
		topic, partition, offset := m.Topic, m.Partition, m.Offset // only what a commit needs
		it.Done = func(Outcome) { c.stored(topic, partition, offset) }
		it.At = m.Time
		c.mu.Lock()
		c.topic = m.Topic
		if m.HighWaterMark > c.hwm[partition] {
			c.hwm[partition] = m.HighWaterMark
		}
		if _, ok := c.committed[partition]; !ok {
			c.committed[partition] = offset // the first fetched offset: everything before it was committed
		}
		c.mu.Unlock()
		if err := c.writer.Submit(ctx, it); err != nil {
			if ctx.Err() != nil {
				// Shutting down: the writer may have stopped first. The
				// message is not marked stored, so it is not committed and
				// comes again after the restart.
				return ctx.Err()
			}
			return err
		}
	}
}

// DecodeMessage turns one Kafka record into a Writer item: the decoded event,
// or a rejection naming the record and the reason.
func DecodeMessage(m *kafka.Message) Item {
	received := m.ReceivedAt()
	// The writer stores the envelope columns and the raw bytes: the
	// payload is checked, not kept.
	e, err := procure.Check(m.Value)
	if err != nil {
		return Item{Rejection: rejection(err, m.Value, procure.ChannelKafka, received,
			contentID("kafka", "", m.Value), func(r *procure.Rejection) {
				r.Topic, r.Partition, r.Offset = m.Topic, int32(m.Partition), m.Offset
			})}
	}
	ch := m.Header(kafka.HeaderChannel)
	if ch == "" {
		ch = procure.ChannelKafka
	}
	return Item{Event: &procure.Received{Event: e, Raw: m.Value, Channel: ch, OriginID: m.Header(kafka.HeaderOriginID), ReceivedAt: received}}
}

// rejection builds the dead letter for raw, lifting what can be read of its
// envelope (tenant, source, id, type) for the dead-letter browser.
func rejection(err error, raw []byte, channel string, at time.Time, inputID string, more func(*procure.Rejection)) *procure.Rejection {
	r := &procure.Rejection{ReceivedAt: at, InputID: inputID, Channel: channel, Raw: raw, Reason: err.Error()}
	var fe *procure.FieldError
	if errors.As(err, &fe) {
		r.Field, r.Reason = fe.Field, fe.Reason
	}
	var env struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Source string `json:"source"`
		Tenant string `json:"tenant"`
	}
	if json.Unmarshal(raw, &env) == nil || env.Tenant != "" {
		r.EventID, r.EventType, r.Source, r.Tenant = clip(env.ID), clip(env.Type), clip(env.Source), clip(env.Tenant)
	}
	if more != nil {
		more(r)
	}
	return r
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

func (c *Consumer) stored(topic string, partition int, offset int64) {
	c.mu.Lock()
	c.pending[partition] = kafka.Message{Topic: topic, Partition: partition, Offset: offset}
	c.mu.Unlock()
}

func (c *Consumer) commitLoop(ctx context.Context) {
	t := time.NewTicker(c.commitEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.commit(ctx)
			c.observeLag()
		}
	}
}

// observeLag sets the lag gauge per partition: messages between the last
// committed offset (what a restart would read again) and the end of the
// partition as last fetched. It counts what is fetched but not yet stored,
// unlike the reader's own lag.
func (c *Consumer) observeLag() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, hwm := range c.hwm {
		c.metrics.lag.WithLabelValues(c.topic, c.group, strconv.Itoa(p)).Set(float64(max(0, hwm-c.committed[p])))
	}
}

func (c *Consumer) commit(ctx context.Context) {
	c.mu.Lock()
	msgs := make([]kafka.Message, 0, len(c.pending))
	for _, m := range c.pending {
		msgs = append(msgs, m)
	}
	clear(c.pending)
	c.mu.Unlock()
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.reader.Commit(ctx, msgs...); err != nil {
		// Typically a rebalance took the partition away; its new owner
		// re-reads from the last commit and the Writer drops what is stored.
		c.log.Warn("kafka commit failed; uncommitted messages will be delivered again", "err", err)
		return
	}
	c.mu.Lock()
	for _, m := range msgs {
		c.committed[m.Partition] = m.Offset + 1
	}
	c.mu.Unlock()
}
