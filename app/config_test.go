package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKafkaIsEmbeddedOnlyWhenConfigured(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"no brokers is an error", "kafka: {topic: t}\n", "kafka.brokers: is required"},
		{"a broker without a port is an error", "kafka: {brokers: [\"kafka-1\"]}\n", `kafka.brokers[0] "kafka-1": not host:port`},
		{"a mistyped port is an error", "kafka: {brokers: [\"kafka-1:9092\", \"kafka-2:90o2\"]}\n", `kafka.brokers[1] "kafka-2:90o2"`},
		{"brokers are taken", "kafka: {brokers: [\"kafka-1:9092\"]}\n", ""},
		{"embedded: true needs no brokers", "kafka: {embedded: true}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("SUPPLYWATCH_KAFKA_BROKERS", "")
			os.Unsetenv("SUPPLYWATCH_KAFKA_BROKERS")
			cfg, err := LoadConfig(path)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("LoadConfig: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("LoadConfig = %v, want an error with %q", err, tc.wantErr)
			case tc.wantErr == "" && !cfg.Kafka.Embedded && len(cfg.Kafka.Brokers) == 0:
				t.Fatal("neither brokers nor embedded")
			}
		})
	}
}

func TestDemoSecretsAreRandomPerDataDirAndStable(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ta, tAgain, tOther := a.Tokens(), again.Tokens(), other.Tokens()
	for i := range ta {
		if ta[i].Token.Token != tAgain[i].Token.Token {
			t.Errorf("%s changed across loads of one data dir", ta[i].Name)
		}
		if ta[i].Token.Token == tOther[i].Token.Token {
			t.Errorf("%s is the same in two data dirs", ta[i].Name)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "demo-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("demo-secret mode %v, want 0600", fi.Mode().Perm())
	}
	var cfg Config
	a.Apply(&cfg)
	if len(cfg.Ingest.Tokens) != 3 || cfg.SimulatorTraces.Token == "" {
		t.Errorf("Apply: %d tokens, simulator token %q; want 3 and the OTLP one", len(cfg.Ingest.Tokens), cfg.SimulatorTraces.Token)
	}
}

func TestClickHouseClusterReplicatedSetting(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, env string
		want            string // "unset", "true", "false" or an error
	}{
		{"unset on a cluster means replicated", "clickhouse: {cluster: c}\n", "", "unset"},
		{"replicated: false from the file", "clickhouse: {cluster: c, replicated: false}\n", "", "false"},
		{"the environment overrides the file", "clickhouse: {cluster: c, replicated: false}\n", "true", "true"},
		{"replicated without a cluster is an error", "clickhouse: {replicated: false}\n", "", "clickhouse.replicated: is set but clickhouse.cluster is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml+"kafka: {brokers: [\"kafka-1:9092\"]}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("SUPPLYWATCH_CLICKHOUSE_REPLICATED", tc.env)
			if tc.env == "" {
				os.Unsetenv("SUPPLYWATCH_CLICKHOUSE_REPLICATED")
			}
			cfg, err := LoadConfig(path)
			got := "unset"
			switch {
			case err != nil:
				got = err.Error()
			case cfg.ClickHouse.Replicated != nil && *cfg.ClickHouse.Replicated:
				got = "true"
			case cfg.ClickHouse.Replicated != nil:
				got = "false"
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
