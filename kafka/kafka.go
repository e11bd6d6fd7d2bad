// Package kafka is supplywatch's transport: it configures segmentio/kafka-go
// readers and writers for a real cluster (SASL, TLS) and, when no brokers are
// configured, runs an in-process kfake broker in their place.
//
// It knows topics and connections, not events: what is read and written and
// when offsets are committed is the business of the collector and the rules.
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/supplywatch/supplywatch/internal/tlsfile"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Config says which Kafka to use and which topics. With Embedded, an
// in-process broker listens at EmbeddedAddr (local runs only); otherwise
// Brokers is required.
type Config struct {
	Brokers          []string `yaml:"brokers" env:"BROKERS" envSeparator:","`
	Embedded         bool     `yaml:"embedded" env:"EMBEDDED"`
	EmbeddedAddr     string   `yaml:"embedded_addr" env:"EMBEDDED_ADDR"`
	EmbeddedDataDir  string   `yaml:"embedded_data_dir" env:"EMBEDDED_DATA_DIR"`
	Topic            string   `yaml:"topic" env:"TOPIC"`
	DeadLetterTopic  string   `yaml:"dead_letter_topic" env:"DEAD_LETTER_TOPIC"`
	RetryTopicPrefix string   `yaml:"retry_topic_prefix" env:"RETRY_TOPIC_PREFIX"`
	Partitions       int      `yaml:"partitions" env:"PARTITIONS"`
	ClientID         string   `yaml:"client_id" env:"CLIENT_ID"`
	SASL             SASL     `yaml:"sasl" envPrefix:"SASL_"`
	TLS              bool     `yaml:"tls" env:"TLS"`
	TLSCAFile        string   `yaml:"tls_ca_file" env:"TLS_CA_FILE"`
	TLSSkipVerify    bool     `yaml:"tls_skip_verify" env:"TLS_SKIP_VERIFY"`
}

// SASL is the broker authentication: mechanism plain, scram-sha-256 or
// scram-sha-512.
type SASL struct {
	Mechanism string `yaml:"mechanism" env:"MECHANISM"`
	Username  string `yaml:"username" env:"USERNAME"`
	Password  string `yaml:"password" env:"PASSWORD"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.EmbeddedAddr == "" {
		c.EmbeddedAddr = "127.0.0.1:9092"
	}
	if c.Topic == "" {
		c.Topic = "supplywatch.events"
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = "supplywatch.deadletter"
	}
	if c.RetryTopicPrefix == "" {
		c.RetryTopicPrefix = "supplywatch.retry."
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.ClientID == "" {
		c.ClientID = "supplywatch"
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	switch c.SASL.Mechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q is not one of plain, scram-sha-256, scram-sha-512", c.SASL.Mechanism)
	}
	if c.Topic == "" {
		return errors.New("kafka.topic: is required")
	}
	if c.Partitions < 1 {
		return errors.New("kafka.partitions: must be at least 1")
	}
	if c.Embedded {
		return nil
	}
	if len(c.Brokers) == 0 {
		return errors.New("kafka.brokers: is required (host:port of the brokers; embedded: true runs an in-process broker for local use)")
	}
	for i, b := range c.Brokers {
		host, port, err := net.SplitHostPort(strings.TrimSpace(b))
		if err != nil {
			return fmt.Errorf("kafka.brokers[%d] %q: not host:port: %w", i, b, err)
		}
		if p, err := strconv.Atoi(port); host == "" || err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("kafka.brokers[%d] %q: needs a host and a port from 1 to 65535", i, b)
		}
	}
	return nil
}

// Broker is a running in-process broker.
type Broker struct {
	cluster *kfake.Cluster
	reaper  *sessionReaper
	close   sync.Once
}

// newBroker starts the session reaper beside the kfake cluster c (see
// sessionReaper: kfake can keep a dead consumer-group member for ever).
func newBroker(c *kfake.Cluster) (*Broker, error) {
	r, err := startSessionReaper(c, slog.Default())
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("kafka embedded broker: %w", err)
	}
	return &Broker{cluster: c, reaper: r}, nil
}

// Addrs are the broker's listen addresses.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops the broker; calls after the first do nothing.
func (b *Broker) Close() {
	b.close.Do(func() {
		b.reaper.Close()
		b.cluster.Close()
	})
}

// Cluster exposes the kfake cluster for tests (fault injection).
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// StartEmbedded runs a kfake broker at addr ("127.0.0.1:0" for any port)
// with the given topics. With dataDir set, its log persists across restarts.
func StartEmbedded(addr, dataDir string, partitions int, topics ...string) (*Broker, error) {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("kafka embedded addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("kafka embedded port %q: %w", portStr, err)
	}
	if port != 0 {
		// kfake listens on all interfaces; check the port is free on loopback
		// first so that the error names it.
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("kafka embedded broker: port %d is taken (is another supplywatch running?): %w", port, err)
		}
		l.Close()
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.SeedTopics(int32(partitions), topics...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.ListenFn(func(network, a string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(a)
			return net.Listen(network, net.JoinHostPort("127.0.0.1", p))
		}),
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka embedded broker: %w", err)
	}
	return newBroker(c)
}

// StartCluster runs an embedded cluster of n brokers on loopback (any free
// ports), with the given topics; tools and the multi-process tests use it.
func StartCluster(n, partitions int, topics ...string) (*Broker, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(n),
		kfake.SeedTopics(int32(partitions), topics...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.ListenFn(func(network, a string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(a)
			return net.Listen(network, net.JoinHostPort("127.0.0.1", p))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka embedded cluster: %w", err)
	}
	return newBroker(c)
}

func (c *Config) mechanism() (sasl.Mechanism, error) {
	switch c.SASL.Mechanism {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, c.SASL.Username, c.SASL.Password)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, c.SASL.Username, c.SASL.Password)
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: unknown %q", c.SASL.Mechanism)
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	return tlsfile.Config("kafka", c.TLS, c.TLSCAFile, c.TLSSkipVerify)
}

// Dialer returns the dialer for readers and admin connections.
func (c *Config) Dialer() (*kafkago.Dialer, error) {
	m, err := c.mechanism()
	if err != nil {
		return nil, err
	}
	t, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &kafkago.Dialer{ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true, SASLMechanism: m, TLS: t}, nil
}

// transport is the writers' and admin clients' connection to the brokers.
func (c *Config) transport() (*kafkago.Transport, error) {
	m, err := c.mechanism()
	if err != nil {
		return nil, err
	}
	t, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &kafkago.Transport{ClientID: c.ClientID, SASL: m, TLS: t, DialTimeout: 5 * time.Second}, nil
}

// NewWriter returns a writer to topic that partitions by message key with
// the same murmur2 hash as the Java client, waits for all in-sync replicas,
// and sends small batches quickly (ingest latency matters more than the last
// percent of throughput).
func (c *Config) NewWriter(topic string) (*kafkago.Writer, error) {
	t, err := c.transport()
	if err != nil {
		return nil, err
	}
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Murmur2Balancer{Consistent: true},
		RequiredAcks: kafkago.RequireAll,
		BatchSize:    5000,
		// Kafka refuses record batches over message.max.bytes (1 MiB by
		// default, kfake too); stay under it.
		BatchBytes:             1_000_000,
		BatchTimeout:           5 * time.Millisecond,
		WriteTimeout:           10 * time.Second,
		MaxAttempts:            5,
		AllowAutoTopicCreation: true,
		Transport:              t,
	}, nil
}

// EnsureTopics creates the topics that do not exist yet.
func (c *Config) EnsureTopics(ctx context.Context, log *slog.Logger, topics ...string) error {
	d, err := c.Dialer()
	if err != nil {
		return err
	}
	conn, err := d.DialContext(ctx, "tcp", c.Brokers[0])
	if err != nil {
		return fmt.Errorf("kafka dial %s: %w", c.Brokers[0], err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("kafka dial controller: %w", err)
	}
	defer cc.Close()
	var specs []kafkago.TopicConfig
	for _, t := range topics {
		specs = append(specs, kafkago.TopicConfig{Topic: t, NumPartitions: c.Partitions, ReplicationFactor: -1})
	}
	if err := cc.CreateTopics(specs...); err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
		return fmt.Errorf("kafka create topics %v: %w", topics, err)
	}
	log.Debug("kafka topics ready", "topics", topics)
	return nil
}
