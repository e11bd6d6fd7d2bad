package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/alerts/slack"
	"github.com/supplywatch/supplywatch/b2b/intake"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/collector/otlp"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/retry"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/simulator"
	"github.com/supplywatch/supplywatch/rules/sla"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration: a YAML file, then SUPPLYWATCH_*
// environment variables over it (SUPPLYWATCH_KAFKA_BROKERS,
// SUPPLYWATCH_CLICKHOUSE_ADDR, ...), then defaults for what is unset.
type Config struct {
	HTTP       HTTPConfig             `yaml:"http" envPrefix:"HTTP_"`
	ClickHouse clickhouse.Config      `yaml:"clickhouse" envPrefix:"CLICKHOUSE_"`
	Kafka      kafka.Config           `yaml:"kafka" envPrefix:"KAFKA_"`
	Writer     collector.WriterConfig `yaml:"writer" envPrefix:"WRITER_"`
	Ingest     collector.IngestConfig `yaml:"ingest" envPrefix:"INGEST_"`
	Collector  CollectorConfig        `yaml:"collector" envPrefix:"COLLECTOR_"`
	Telemetry  TelemetryConfig        `yaml:"telemetry" envPrefix:"TELEMETRY_"`
	Simulator  simulator.Config       `yaml:"simulator" envPrefix:"SIMULATOR_"`
	Postgres   postgres.Config        `yaml:"postgres" envPrefix:"POSTGRES_"`
	Rules      rules.ProcessorConfig  `yaml:"rules" envPrefix:"RULES_"`
	SLA        sla.Config             `yaml:"sla" envPrefix:"SLA_"`
	Retry      retry.Config           `yaml:"retry" envPrefix:"RETRY_"`
	OTLP       otlp.Config            `yaml:"otlp" envPrefix:"OTLP_"`
	B2B        B2BConfig              `yaml:"b2b" envPrefix:"B2B_"`
	KPI        kpi.Config             `yaml:"kpi"`
	Console    console.Config         `yaml:"console" envPrefix:"CONSOLE_"`
	Alerts     alerts.Config          `yaml:"alerts"`
	Slack      slack.Config           `yaml:"slack" envPrefix:"SLACK_"`
	// SimulatorTraces is where the simulator's systems send spans.
	SimulatorTraces SimulatorTraces `yaml:"simulator_traces" envPrefix:"SIMULATOR_TRACES_"`
	// DataDir holds the embedded services' data (ClickHouse, Kafka log).
	DataDir string `yaml:"data_dir" env:"DATA_DIR"`
	// MemoryLimitMB is the Go runtime's soft memory limit (GOMEMLIMIT wins
	// when set): the heap is collected harder as it nears the limit instead
	// of doubling. 0 means 200.
	MemoryLimitMB int64  `yaml:"memory_limit_mb" env:"MEMORY_LIMIT_MB"`
	LogLevel      string `yaml:"log_level" env:"LOG_LEVEL"`
	// StopTimeout bounds a process's stop: every part has returned by then
	// or the process exits anyway (what it held is redelivered). Above
	// collector.drain_timeout; default 30s.
	StopTimeout time.Duration `yaml:"stop_timeout" env:"STOP_TIMEOUT"`
	// SkipMigrations leaves the schemas to `supplywatch migrate` (the Helm
	// chart's pre-upgrade Job); by default every process applies what is
	// missing at start (both runners are safe to run concurrently).
	SkipMigrations bool `yaml:"skip_migrations" env:"SKIP_MIGRATIONS"`
}

// B2BConfig configures the intake of X12, EDIFACT and cXML documents.
type B2BConfig struct {
	// PartnersFile holds the partner profiles; without it, B2B intake is off.
	PartnersFile string               `yaml:"partners_file" env:"PARTNERS_FILE"`
	Limits       intake.Config        `yaml:"limits"`
	DropDir      intake.DropDirConfig `yaml:"drop_dir"`
	// ControlNumbers is where the interchange and group control numbers of
	// our acknowledgements come from: "postgres" (default; a sequence per
	// partner, kept across restarts, in the postgres database) or "hash"
	// (derived from the document: for trying things out only, partners may
	// see a number twice).
	ControlNumbers string `yaml:"control_numbers" env:"CONTROL_NUMBERS"`
	// KafkaTopic, when set, is a topic of raw documents (one per record)
	// taken through the same intake as POST /v1/b2b; KafkaTenant and
	// KafkaSources scope it like an ingest token (empty tenant: the
	// envelope decides).
	KafkaTopic   string   `yaml:"kafka_topic" env:"KAFKA_TOPIC"`
	KafkaGroup   string   `yaml:"kafka_group" env:"KAFKA_GROUP"`
	KafkaTenant  string   `yaml:"kafka_tenant" env:"KAFKA_TENANT"`
	KafkaSources []string `yaml:"kafka_sources" env:"KAFKA_SOURCES" envSeparator:","`
}

// HTTPConfig is the API listener.
type HTTPConfig struct {
	Addr string `yaml:"addr" env:"ADDR"`
	// PublicURL is how people reach the console (links in alerts).
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
	// MetricsToken guards /metrics; without it only loopback may scrape.
	MetricsToken string `yaml:"metrics_token" env:"METRICS_TOKEN"`
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For names the client (audit entries, sign-in throttling);
	// none by default: the client is the peer address.
	TrustedProxies []string `yaml:"trusted_proxies" env:"TRUSTED_PROXIES" envSeparator:","`
}

// CollectorConfig is the Kafka consumer group of the collector.
type CollectorConfig struct {
	Group        string        `yaml:"group" env:"GROUP"`
	DrainTimeout time.Duration `yaml:"drain_timeout" env:"DRAIN_TIMEOUT"`
}

// TelemetryConfig says where supplywatch's own traces go (none when empty).
type TelemetryConfig struct {
	OTLPEndpoint string `yaml:"otlp_endpoint" env:"OTLP_ENDPOINT"`
}

// Defaults fills what is unset.
func (c *Config) Defaults() {
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = "127.0.0.1:8080"
	}
	if c.HTTP.PublicURL == "" {
		c.HTTP.PublicURL = "http://" + c.HTTP.Addr
	}
	if c.DataDir == "" {
		c.DataDir = "var"
	}
	if c.ClickHouse.DataDir == "" {
		c.ClickHouse.DataDir = c.DataDir + "/clickhouse"
	}
	if c.Kafka.EmbeddedDataDir == "" {
		c.Kafka.EmbeddedDataDir = c.DataDir + "/kafka"
	}
	if c.Collector.Group == "" {
		c.Collector.Group = "supplywatch-collector"
	}
	if c.Collector.DrainTimeout == 0 {
		c.Collector.DrainTimeout = 15 * time.Second
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 2 * c.Collector.DrainTimeout
	}
	if c.MemoryLimitMB == 0 {
		c.MemoryLimitMB = 200
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	c.ClickHouse.Defaults()
	c.Kafka.Defaults()
	c.Writer.Defaults()
	c.Ingest.Defaults()
	c.Simulator.Defaults()
	c.Postgres.Defaults()
	c.Rules.Defaults()
	c.SLA.Defaults()
	c.Retry.Defaults()
	c.OTLP.Defaults()
	c.KPI.Defaults()
	c.Console.Defaults()
	c.Alerts.Defaults()
	if c.SimulatorTraces.Endpoint == "" {
		c.SimulatorTraces.Endpoint = "http://" + c.HTTP.Addr + "/v1/traces"
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var alertsErr error
	if c.Slack.Token != "" {
		alertsErr = errors.Join(c.Alerts.Validate(), c.Slack.Validate())
	}
	var stopErr error
	if c.StopTimeout <= c.Collector.DrainTimeout {
		stopErr = fmt.Errorf("stop_timeout: %s must exceed collector.drain_timeout (%s)", c.StopTimeout, c.Collector.DrainTimeout)
	}
	return errors.Join(alertsErr, stopErr, c.ClickHouse.Validate(), c.Kafka.Validate(), c.Writer.Validate(), c.Simulator.Validate(),
		c.Postgres.Validate(), c.Rules.Validate(), c.SLA.Validate(), c.Retry.Validate(), c.OTLP.Validate(),
		c.KPI.Validate(), c.Console.Validate())
}

// LoadConfig reads path (if not empty), applies the environment and the
// defaults, and validates. Unknown YAML keys are errors.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := env.ParseWithOptions(&c, env.Options{Prefix: "SUPPLYWATCH_"}); err != nil {
		return c, fmt.Errorf("config environment: %w", err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}
