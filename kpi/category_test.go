package kpi

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/procure"
)

// TestBreakdownByCategoryFollowsPOLineMaterialClasses gives the scenario's
// PO lines material classes: A/10 and B/10 fasteners (B's main class: 50 of
// its 70 ordered value), B/20 and C/10 castings.
func TestBreakdownByCategoryFollowsPOLineMaterialClasses(t *testing.T) {
	conn, db := migrated(t)
	asOf := ts("2026-03-31T12:00:00Z")
	class := map[string]string{"A/10": "fasteners", "B/10": "fasteners", "B/20": "castings", "C/10": "castings"}
	ctx := context.Background()
	var rs []procure.Received
	for _, e := range scenario() {
		if o, ok := e.Payload.(*procure.PurchaseOrder); ok {
			for i := range o.Lines {
				o.Lines[i].MaterialClass = class[e.Document.ID+"/"+strconv.Itoa(o.Lines[i].Line)]
			}
		}
		b, err := procure.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, procure.Received{Event: e, Raw: b, Channel: procure.ChannelKafka, ReceivedAt: e.OccurredAt})
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := NewMirror(conn, db, nil, Config{}, discard).Insert(ctx, history()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRefresher(conn, db, Config{}, discard, nil).RefreshAll(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	q := NewQuerier(conn, db, Config{}, func() time.Time { return asOf })
	period := Query{Tenant: "acme", From: ts("2026-03-01T00:00:00Z"), To: ts("2026-04-01T00:00:00Z")}
	want := []struct {
		kpi      string
		category string
		num, den float64
	}{
		{"confirmation_rate", "fasteners", 2, 2}, // a line's own class
		{"confirmation_rate", "castings", 0, 2},
		{"otif", "fasteners", 1, 2}, // A on time in full, B not: B's main class
		{"otif", "castings", 0, 1},
		{"asn_timeliness", "fasteners", 1, 2}, // ASNs through their PO
		{"invoice_exception_rate", "fasteners", 1, 2},
		{"exception_ack_hours", "fasteners", 2, 1}, // exception 1 on PO B, acknowledged after 2 h
		{"exception_ack_hours", "castings", 6, 1},  // exception 2 on PO C, after 6 h
	}
	rows := map[string]map[string]Row{}
	for _, w := range want {
		if rows[w.kpi] == nil {
			rs, err := q.BreakdownByCategory(ctx, period, w.kpi)
			if err != nil {
				t.Fatalf("%s: %v", w.kpi, err)
			}
			rows[w.kpi] = map[string]Row{}
			total, err := q.Values(ctx, period)
			if err != nil {
				t.Fatal(err)
			}
			var num, den float64
			for _, r := range rs {
				rows[w.kpi][r.Key] = r
				num, den = num+r.Num, den+r.Den
			}
			for _, v := range total.Values {
				if v.KPI == w.kpi && (!near(v.Num, num) || !near(v.Den, den)) {
					t.Errorf("%s: categories add up to %v/%v, the total is %v/%v", w.kpi, num, den, v.Num, v.Den)
				}
			}
		}
		r, ok := rows[w.kpi][w.category]
		if !ok || !near(r.Num, w.num) || !near(r.Den, w.den) {
			t.Errorf("%s in %s: %+v, want %v/%v", w.kpi, w.category, r, w.num, w.den)
		}
	}
	if r := rows["exception_ack_hours"]["castings"]; !near(r.P50, 6) {
		t.Errorf("exception_ack_hours median in castings = %v, want 6", r.P50)
	}
	// The rollup's grain 'category' (by day and plant) and the entity rows
	// (what a breakdown naming a supplier reads) agree, and a supplier's
	// breakdown holds its own orders only: S1 has A (fasteners) and C
	// (castings).
	for _, k := range []string{"confirmation_rate", "otif", "asn_timeliness", "exception_ack_hours"} {
		d, _ := Lookup(k)
		cells, err := q.byCategory(ctx, period, d, period.From, period.To)
		if err != nil {
			t.Fatal(err)
		}
		for key, r := range rows[k] {
			if c := cells[key]; !near(c.num, r.Num) || !near(c.den, r.Den) || len(cells) != len(rows[k]) {
				t.Errorf("%s in %q: rollup %v/%v, entity rows %v/%v (%d against %d categories)", k, key, r.Num, r.Den, c.num, c.den, len(rows[k]), len(cells))
			}
		}
	}
	s1 := period
	s1.Supplier = "S1"
	s1rows, err := q.BreakdownByCategory(ctx, s1, "confirmation_rate")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]float64{}
	for _, r := range s1rows {
		got[r.Key] = [2]float64{r.Num, r.Den}
	}
	if want := map[string][2]float64{"fasteners": {1, 1}, "castings": {0, 1}}; len(got) != 2 || got["fasteners"] != want["fasteners"] || got["castings"] != want["castings"] {
		t.Errorf("confirmation_rate of S1 by category: %v, want %v", got, want)
	}
	if _, err := q.BreakdownByCategory(ctx, period, "digital_documents"); err == nil || procure.ErrorCode(err) != procure.EINVALID {
		t.Errorf("digital_documents by category: %v, want invalid", err)
	}

	gin.SetMode(gin.TestMode)
	r := gin.New()
	NewHandler(q, HandlerOptions{Now: func() time.Time { return asOf }}).Register(r)
	for url, want := range map[string]string{
		"/api/kpi/breakdown?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=otif&by=category":            `"key":"castings"`,
		"/api/kpi/breakdown?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=otif&by=category&format=csv": "category,kpi,",
		"/api/kpi/breakdown?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=otif&by=colour":              `by must be plant, supplier or category`,
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d %s, want %s", url, w.Code, w.Body, want)
		}
	}

	// Lines stored before migration 0251 get their class from its
	// backfill: forget the classes and that 0251 ran, migrate again, and
	// the breakdowns are the same.
	for _, stmt := range []string{
		"ALTER TABLE " + db + ".kpi_line_orders DROP COLUMN class, DROP COLUMN value",
		"ALTER TABLE " + db + ".schema_migrations DELETE WHERE version = 251 SETTINGS mutations_sync = 2",
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := clickhouse.Migrate(ctx, conn, clickhouse.Config{Database: db, RetentionDays: 3650}, discard); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	// (the entities and their categories computed again from the
	// backfilled classes)
	if _, err := NewRefresher(conn, db, Config{}, discard, nil).RefreshAll(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"confirmation_rate", "otif", "asn_timeliness"} {
		again, err := q.BreakdownByCategory(ctx, period, k)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][2]float64{}
		for _, r := range again {
			got[r.Key] = [2]float64{r.Num, r.Den}
		}
		for key, r := range rows[k] {
			if g := got[key]; !near(g[0], r.Num) || !near(g[1], r.Den) || len(got) != len(rows[k]) {
				t.Errorf("%s after the backfill: %v, want the same categories as before %v", k, got, rows[k])
				break
			}
		}
	}
}
