package dashboards

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestEveryPanelQueryRunsOnTheMigratedSchema(t *testing.T) {
	conn, db, _ := chtest.DB(t)
	ctx := context.Background()
	if err := clickhouse.Migrate(ctx, conn, clickhouse.Config{Database: db, RetentionDays: 3650}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	ps, err := Panels()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 20 {
		t.Fatalf("%d panel queries, want the two dashboards' panels", len(ps))
	}
	to := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	for _, vars := range []map[string]string{{"tenant": "acme", "plant": ""}, {"tenant": "acme", "plant": "P01"}} {
		for _, p := range ps {
			t.Run(p.Dashboard+"/"+p.Title+"/"+vars["plant"], func(t *testing.T) {
				if p.DatasourceUID != DatasourceUID {
					t.Fatalf("datasource uid %q, want %q", p.DatasourceUID, DatasourceUID)
				}
				sql := ExpandMacros(p.SQL, to.AddDate(0, 0, -90), to, time.Hour, vars)
				if strings.Contains(sql, "$") {
					t.Fatalf("unexpanded macro or variable in:\n%s", sql)
				}
				rows, err := conn.Query(ctx, sql)
				if err != nil {
					t.Fatalf("%v\n%s", err, sql)
				}
				rows.Close()
			})
		}
	}
}

func TestExpandMacros(t *testing.T) {
	from, to := time.Unix(100, 0), time.Unix(200, 0)
	got := ExpandMacros("SELECT $__timeInterval(hour) FROM x WHERE $__timeFilter(hour) AND t = '${tenant}' AND $__fromTime < $__toTime LIMIT $__interval_s", from, to, time.Minute, map[string]string{"tenant": "acme"})
	want := "SELECT toStartOfInterval(toDateTime(hour), INTERVAL 60 second) FROM x WHERE hour >= toDateTime(100) AND hour <= toDateTime(200) AND t = 'acme' AND toDateTime(100) < toDateTime(200) LIMIT 60"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
