package rules

import (
	"context"
	"errors"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/procure"
)

// Reader is what the Processor needs of a Kafka consumer-group reader
// (*kafkago.Reader, from kafka.Config.NewReader with the rules' own group).
type Reader interface {
	FetchMessage(ctx context.Context) (kafkago.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafkago.Message) error
}

// ProcessorConfig tunes the consumer.
type ProcessorConfig struct {
	// Group is the consumer group (default supplywatch-rules).
	Group string `yaml:"group" env:"GROUP"`
	// Dir holds the rule files (default rules/default).
	Dir string `yaml:"dir" env:"DIR"`
	// BatchSize is the most events applied in one transaction.
	BatchSize int `yaml:"batch_size" env:"BATCH_SIZE"`
	// BatchWait is how long a batch waits for more events once it has one.
	BatchWait time.Duration `yaml:"batch_wait" env:"BATCH_WAIT"`
}

// Defaults fills unset fields.
func (c *ProcessorConfig) Defaults() {
	if c.Group == "" {
		c.Group = "supplywatch-rules"
	}
	if c.Dir == "" {
		c.Dir = "rules/default"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.BatchWait == 0 {
		c.BatchWait = 20 * time.Millisecond
	}
}

// Validate checks the configuration without I/O.
func (c *ProcessorConfig) Validate() error {
	if c.BatchSize < 0 || c.BatchWait < 0 {
		return errors.New("rules: batch_size and batch_wait must not be negative")
	}
	return nil
}

// Processor consumes the events topic into the Engine: a batch of messages
// is applied in one transaction and the offsets are committed only after
// it commits, so a crash redelivers and the processed-events record drops
// what was applied.
type Processor struct {
	reader Reader
	engine *Engine
	cfg    ProcessorConfig
	log    *slog.Logger
}

// NewProcessor returns a Processor of reader into en.
func NewProcessor(reader Reader, en *Engine, cfg ProcessorConfig, log *slog.Logger) *Processor {
	cfg.Defaults()
	return &Processor{reader: reader, engine: en, cfg: cfg, log: log}
}

// Run consumes until ctx is done; the batch in hand is applied and
// committed before it returns.
func (p *Processor) Run(ctx context.Context) error {
	for {
		msgs, err := p.fetch(ctx)
		if len(msgs) > 0 {
			if perr := p.apply(ctx, msgs); perr != nil {
				return perr
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// fetch waits for one message, then takes what arrives within BatchWait.
func (p *Processor) fetch(ctx context.Context) ([]kafkago.Message, error) {
	m, err := p.reader.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []kafkago.Message{m}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.BatchWait)
	defer cancel()
	for len(msgs) < p.cfg.BatchSize {
		m, err := p.reader.FetchMessage(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return msgs, ctx.Err()
			}
			return msgs, nil
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// apply decodes and applies msgs, retrying with backoff while the store
// fails, then commits the offsets. Messages that do not decode are skipped:
// the collector dead-letters them.
func (p *Processor) apply(ctx context.Context, msgs []kafkago.Message) error {
	events := make([]*procure.Event, 0, len(msgs))
	for i := range msgs {
		e, err := procure.Decode(msgs[i].Value)
		if err != nil {
			p.log.Debug("undecodable event skipped", "partition", msgs[i].Partition, "offset", msgs[i].Offset, "err", err)
			continue
		}
		events = append(events, e)
	}
	// Finish the batch in hand even when ctx ends, within a bound.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	backoff := 100 * time.Millisecond
	for {
		_, err := p.engine.Process(actx, events)
		if err == nil {
			break
		}
		if actx.Err() != nil || ctx.Err() != nil {
			p.log.Warn("rules batch not applied before shutdown; it will be delivered again", "err", err)
			return nil
		}
		p.log.Error("rules batch failed; retrying", "events", len(events), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	if err := p.reader.CommitMessages(actx, msgs...); err != nil {
		p.log.Warn("kafka commit failed; the batch will be delivered again and dropped as processed", "err", err)
	}
	return nil
}
