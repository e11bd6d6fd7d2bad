// Package clickhouse stores supplywatch's immutable facts in ClickHouse:
// canonical events, rejected inputs (the dead letter) and OTLP spans. It owns
// the schema (versioned migrations), the batch inserts and the duplicate
// check that keeps every event stored once.
//
// It does no batching, retrying or decoding of its own: the collector
// decides when to write and what to do when a write fails.
package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/internal/tlsfile"
)

// Config says which ClickHouse to use. The zero value, after Defaults, is
// the embedded server of `make run` at 127.0.0.1:9000.
type Config struct {
	Addr          []string `yaml:"addr" env:"ADDR" envSeparator:","`
	HTTPAddr      string   `yaml:"http_addr" env:"HTTP_ADDR"`
	Database      string   `yaml:"database" env:"DATABASE"`
	User          string   `yaml:"user" env:"USER"`
	Password      string   `yaml:"password" env:"PASSWORD"`
	TLS           bool     `yaml:"tls" env:"TLS"`
	TLSCAFile     string   `yaml:"tls_ca_file" env:"TLS_CA_FILE"`
	TLSSkipVerify bool     `yaml:"tls_skip_verify" env:"TLS_SKIP_VERIFY"`
	// Compression is how blocks travel on the native connections: lz4
	// (cheap, and it pays over a network), zstd (smaller, dearer) or none.
	// Unset, it is none when every address is on the loopback interface
	// (the embedded server, a sidecar: compressing would only cost CPU on
	// both ends) and lz4 otherwise.
	Compression string `yaml:"compression" env:"COMPRESSION"`
	// RetentionDays is how long facts are kept (the tables' TTL).
	RetentionDays int `yaml:"retention_days" env:"RETENTION_DAYS"`
	// Cluster names a cluster of the servers' remote_servers: the
	// migrations then create Replicated*MergeTree tables ({shard} and
	// {replica} macros) under a _local name, Distributed tables over them
	// under the plain name, and run every statement ON CLUSTER. Empty:
	// single-node DDL.
	Cluster string `yaml:"cluster" env:"CLUSTER"`
	// Replicated, with Cluster, says the cluster has Keeper: the local
	// tables are Replicated and every schema statement runs ON CLUSTER
	// (unset: true). False is a sharded cluster without replication (one
	// replica per shard): plain MergeTree local tables, and supplywatch
	// runs each schema statement on every server of the cluster itself
	// (the servers system.clusters lists, with these credentials).
	Replicated *bool `yaml:"replicated" env:"REPLICATED"`
	// Embedded starts the chDB engine in a child process when true.
	Embedded bool   `yaml:"embedded" env:"EMBEDDED"`
	DataDir  string `yaml:"data_dir" env:"DATA_DIR"`
}

// Defaults fills the unset fields with the local defaults.
func (c *Config) Defaults() {
	if len(c.Addr) == 0 {
		c.Addr = []string{"127.0.0.1:9000"}
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8123"
	}
	if c.Database == "" {
		c.Database = "supplywatch"
	}
	if c.User == "" {
		c.User = "default"
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = 5 * 365
	}
	if c.DataDir == "" {
		c.DataDir = "var/clickhouse"
	}
}

// compression is the method Compression names, or the one chosen for the
// addresses when it is unset.
func (c *Config) compression() string {
	if c.Compression != "" {
		return c.Compression
	}
	for _, a := range c.Addr {
		if !isLoopback(a) {
			return CompressionLZ4
		}
	}
	return CompressionNone
}

// isLoopback reports whether addr (host:port) names this host's loopback
// interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// replicated reports whether the cluster's tables are replicated.
func (c *Config) replicated() bool { return c.Replicated == nil || *c.Replicated }

// clusterSettings are the settings every connection to a cluster runs
// with, so that queries through the Distributed tables mean what they mean
// on a single server:
//   - an insert returns once every shard has stored its rows (the
//     collector acknowledges Kafka after the write, the duplicate check and
//     the KPI refresh read right after it), not when the rows are queued
//     on the server that took it;
//   - an IN or JOIN over another table is computed once where the query
//     started and sent to the shards (GLOBAL): each shard would otherwise
//     see only its own rows of the other table, or none of a temporary
//     table of the initiator (the KPI refresher's touched keys);
//   - INSERT INTO a Distributed table SELECT FROM one runs where it
//     started, and its rows go to the shards by the sharding key (run on
//     each shard, as newer servers do by default, the rows would stay on
//     the shard they were read from, and the SELECT could not see the
//     initiator's temporary tables).
var clusterSettings = map[string]int{
	"distributed_foreground_insert":      1,
	"prefer_global_in_and_join":          1,
	"parallel_distributed_insert_select": 0,
}

// Compression methods of Config.Compression.
const (
	CompressionLZ4  = "lz4"
	CompressionZSTD = "zstd"
	CompressionNone = "none"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Validate checks the configuration without doing I/O.
func (c *Config) Validate() error {
	switch {
	case len(c.Addr) == 0:
		return errors.New("clickhouse.addr: is required")
	case !identRE.MatchString(c.Database):
		return fmt.Errorf("clickhouse.database: %q is not a plain identifier", c.Database)
	case c.RetentionDays < 1:
		return errors.New("clickhouse.retention_days: must be at least 1")
	case c.Cluster != "" && !identRE.MatchString(c.Cluster):
		return fmt.Errorf("clickhouse.cluster: %q is not a plain identifier", c.Cluster)
	case c.Cluster == "" && c.Replicated != nil:
		return errors.New("clickhouse.replicated: is set but clickhouse.cluster is not (a single server has nothing to replicate to)")
	}
	switch c.Compression {
	case "", CompressionLZ4, CompressionZSTD, CompressionNone:
	default:
		return fmt.Errorf("clickhouse.compression: %q is not one of lz4, zstd, none", c.Compression)
	}
	return nil
}

// Open connects to ClickHouse (without selecting the database, which may not
// exist yet) and pings it.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	opts := &clickhouse.Options{
		Addr: cfg.Addr,
		Auth: clickhouse.Auth{Username: cfg.User, Password: cfg.Password},
		Settings: clickhouse.Settings{
			"max_execution_time": 60,
		},
		DialTimeout:     5 * time.Second,
		ReadTimeout:     60 * time.Second,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: time.Hour,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	}
	if cfg.Cluster != "" {
		for k, v := range clusterSettings {
			opts.Settings[k] = v
		}
	}
	switch cfg.compression() {
	case CompressionZSTD:
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	case CompressionNone:
		opts.Compression = nil
	}
	var err error
	if opts.TLS, err = cfg.tlsConfig(); err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse open %v: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse ping %v: %w", cfg.Addr, err)
	}
	return conn, nil
}

// tlsConfig is the TLS configuration of the native connections, nil
// without TLS.
func (c *Config) tlsConfig() (*tls.Config, error) {
	return tlsfile.Config("clickhouse", c.TLS, c.TLSCAFile, c.TLSSkipVerify)
}
