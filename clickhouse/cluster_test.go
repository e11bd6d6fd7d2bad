package clickhouse_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// Every statement the migrations run on a cluster parses (the embedded
// engine cannot run them: no Keeper, no interserver port), runs ON CLUSTER,
// and every MergeTree table is Replicated under a Distributed one.
func TestClusterMigrationsParseAndReplicateEveryTable(t *testing.T) {
	conn, _, _ := chtest.DB(t)
	cfg := clickhouse.Config{Database: "supplywatch", Cluster: "supplywatch", RetentionDays: 1825}
	stmts, err := clickhouse.ClusterStatements(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) < 50 {
		t.Fatalf("%d statements, want every statement of every migration", len(stmts))
	}
	replicated := regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS supplywatch\.(\w+)_local ON CLUSTER supplywatch .*ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/supplywatch/(\w+)', '\{replica\}'`)
	distributed := regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS supplywatch\.(\w+) ON CLUSTER supplywatch AS supplywatch\.(\w+)_local ENGINE = Distributed\(supplywatch, supplywatch, (\w+)_local, cityHash64\(.+\)\)$`)
	locals, dists := map[string]bool{}, map[string]bool{}
	for _, s := range stmts {
		var formatted string
		if err := conn.QueryRow(context.Background(), "SELECT formatQuery(?)", s).Scan(&formatted); err != nil {
			t.Errorf("does not parse: %v\n%s", err, s)
			continue
		}
		upper := strings.ToUpper(strings.TrimSpace(s))
		if !strings.HasPrefix(upper, "INSERT") && !strings.Contains(s, " ON CLUSTER supplywatch") {
			t.Errorf("not ON CLUSTER:\n%s", s)
		}
		if strings.Contains(s, "MergeTree") && !strings.Contains(s, "ReplicatedReplacingMergeTree") && !strings.Contains(s, "Replicated") {
			t.Errorf("a MergeTree table that is not replicated:\n%s", s)
		}
		if g := replicated.FindStringSubmatch(s); g != nil {
			if g[2] != g[1]+"_local" {
				t.Errorf("%s_local replicates under %s", g[1], g[2])
			}
			locals[g[1]] = true
		}
		if g := distributed.FindStringSubmatch(s); g != nil {
			dists[g[1]] = true
		}
		if strings.HasPrefix(upper, "CREATE MATERIALIZED VIEW") {
			// A view writes to the local table of its shard and reads local tables.
			if !regexp.MustCompile(`TO supplywatch\.\w+_local AS`).MatchString(s) || strings.Contains(s, "FROM supplywatch.events ") {
				t.Errorf("materialized view not on the local tables:\n%s", s)
			}
		}
	}
	for _, table := range []string{"events", "event_ids", "rejected", "spans", "documents", "kpi_rollup", "kpi_rollup_stage", "exception_history"} {
		if !locals[table] || !dists[table] {
			t.Errorf("%s: replicated local table %v, distributed table %v; want both", table, locals[table], dists[table])
		}
	}
	for table := range locals {
		if !dists[table] {
			t.Errorf("%s_local has no Distributed table over it", table)
		}
	}
}

// Without a cluster the migrations are the single-node files unchanged.
func TestSingleNodeMigrationsAreTheFilesAsWritten(t *testing.T) {
	if _, err := clickhouse.ClusterStatements(clickhouse.Config{Database: "supplywatch"}); err == nil {
		t.Error("ClusterStatements without a cluster: want an error")
	}
	ms, err := clickhouse.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.Contains(m.SQL, "ON CLUSTER") || strings.Contains(m.SQL, "Replicated") {
			t.Errorf("%s: migration files are single-node DDL; the cluster form is made at apply time", m.Name)
		}
	}
}

// Unreplicated (a sharded cluster without Keeper), the local tables keep
// their engines and no statement says ON CLUSTER: supplywatch runs each on
// every server (the two-shard test in clickhouse/clustertest runs them).
func TestUnreplicatedClusterMigrationsNeedNoKeeper(t *testing.T) {
	no := false
	stmts, err := clickhouse.ClusterStatements(clickhouse.Config{Database: "supplywatch", Cluster: "supplywatch", Replicated: &no, RetentionDays: 1825})
	if err != nil {
		t.Fatal(err)
	}
	distributed := 0
	for _, s := range stmts {
		if strings.Contains(s, "ON CLUSTER") || strings.Contains(s, "Replicated") || strings.Contains(s, "{shard}") {
			t.Errorf("needs Keeper:\n%s", s)
		}
		if strings.Contains(s, "ENGINE = Distributed(supplywatch, supplywatch, ") {
			distributed++
		}
	}
	if distributed < 8 {
		t.Errorf("%d Distributed tables, want one over every MergeTree table", distributed)
	}
}

func TestReplicatedNeedsACluster(t *testing.T) {
	yes := true
	cfg := clickhouse.Config{Addr: []string{"127.0.0.1:9000"}, Database: "supplywatch", RetentionDays: 1, Replicated: &yes}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "clickhouse.replicated") {
		t.Errorf("replicated without a cluster: %v, want an error naming clickhouse.replicated", err)
	}
	cfg.Cluster = "supplywatch"
	if err := cfg.Validate(); err != nil {
		t.Errorf("replicated with a cluster: %v", err)
	}
}
