package clickhouse

import (
	"context"
	"strings"
	"testing"

	"github.com/supplywatch/supplywatch/chdb/chtest"
)

// The statements the KPI refresher runs through Cluster.DDL at run time
// parse in their replicated form, run ON CLUSTER on the shard-local
// tables, and a stage table replicates under a path of its own (sharing
// kpi_rollup_local's would make it a replica of the rollup).
func TestRefresherDDLOnAReplicatedCluster(t *testing.T) {
	conn, _, _ := chtest.DB(t)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	rw, err := newClusterRewriter("supplywatch", "supplywatch", true, ms)
	if err != nil {
		t.Fatal(err)
	}
	stage := "kpi_rollup_stage_0123456789ab"
	for _, tc := range []struct {
		stmt string
		want []string // a substring of each statement it becomes
	}{
		{"TRUNCATE TABLE {db}.kpi_entities", []string{"TRUNCATE TABLE supplywatch.kpi_entities_local ON CLUSTER supplywatch"}},
		{"TRUNCATE TABLE {db}.kpi_business_spans", []string{"TRUNCATE TABLE supplywatch.kpi_business_spans_local ON CLUSTER supplywatch"}},
		{"CREATE TABLE IF NOT EXISTS {db}." + stage + " AS {db}.kpi_rollup", []string{
			"CREATE TABLE IF NOT EXISTS supplywatch." + stage + "_local ON CLUSTER supplywatch AS supplywatch.kpi_rollup_local ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/supplywatch/" + stage + "_local', '{replica}')",
			"CREATE TABLE IF NOT EXISTS supplywatch." + stage + " ON CLUSTER supplywatch AS supplywatch." + stage + "_local ENGINE = Distributed(supplywatch, supplywatch, " + stage + "_local, cityHash64(",
		}},
		{"ALTER TABLE {db}." + stage + " DROP PARTITION 202603", []string{"ALTER TABLE supplywatch." + stage + "_local ON CLUSTER supplywatch DROP PARTITION 202603"}},
		{"DROP TABLE IF EXISTS {db}." + stage, []string{
			"DROP TABLE IF EXISTS supplywatch." + stage + " ON CLUSTER supplywatch SYNC",
			"DROP TABLE IF EXISTS supplywatch." + stage + "_local ON CLUSTER supplywatch SYNC",
		}},
	} {
		out, err := rw.Rewrite(tc.stmt)
		if err != nil {
			t.Errorf("%s: %v", tc.stmt, err)
			continue
		}
		if len(out) != len(tc.want) {
			t.Errorf("%s: %d statements %q, want %d", tc.stmt, len(out), out, len(tc.want))
			continue
		}
		for i, s := range out {
			s = strings.ReplaceAll(s, "{db}", "supplywatch")
			if !strings.Contains(s, tc.want[i]) {
				t.Errorf("%s:\n%s\nwant it to contain\n%s", tc.stmt, s, tc.want[i])
			}
			var formatted string
			if err := conn.QueryRow(context.Background(), "SELECT formatQuery(?)", s).Scan(&formatted); err != nil {
				t.Errorf("does not parse: %v\n%s", err, s)
			}
		}
	}
}
