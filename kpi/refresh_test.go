package kpi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/internal/promrules"
	"github.com/supplywatch/supplywatch/procure"
)

// store inserts events as the collector does.
func store(t *testing.T, conn driver.Conn, db string, evs ...*procure.Event) {
	t.Helper()
	var rs []procure.Received
	for _, e := range evs {
		b, err := procure.Encode(e)
		if err != nil {
			t.Fatalf("encode %s: %v", e.Type, err)
		}
		rs = append(rs, procure.Received{Event: e, Raw: b, Channel: procure.ChannelKafka, ReceivedAt: e.OccurredAt})
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
}

// storeScenario stores the worked example's events and exception history
// without refreshing.
func storeScenario(t *testing.T, conn driver.Conn, db string) {
	t.Helper()
	store(t, conn, db, scenario()...)
	if err := NewMirror(conn, db, nil, Config{}, discard).Insert(context.Background(), history()); err != nil {
		t.Fatal(err)
	}
}

// rollupRows returns kpi_rollup as sorted lines.
func rollupRows(t *testing.T, conn driver.Conn, db string) []string {
	t.Helper()
	return lines(t, conn, `SELECT toString((tenant, kpi, grain, day, plant, supplier, category, round(sum(num), 6), round(sum(den), 6),
	arrayMap(v -> round(v, 6), quantilesIfMerge(0.5, 0.9)(q))))
FROM `+db+`.kpi_rollup GROUP BY tenant, kpi, grain, day, plant, supplier, category HAVING sum(den) > 0 OR sum(num) != 0`)
}

// truthRows computes what kpi_rollup must hold as of asOf, straight from
// the facts (the formulas of entitySQL with each entity's category,
// rolled up in one query).
func truthRows(t *testing.T, conn driver.Conn, db string, asOf time.Time) []string {
	t.Helper()
	p := Config{}.withDefaults().Params
	parts := make([]string, len(families))
	for i, f := range families {
		parts[i] = categorized(db, f, familySQL(db, p, asOf, f, "1"), "1")
	}
	return lines(t, conn, fmt.Sprintf(`SELECT toString((tenant, kpi, grain, gday, plant, gsupplier, gcategory, round(sum(num), 6), round(sum(den), 6),
	arrayMap(v -> round(v, 6), quantilesIf(0.5, 0.9)(x, kpi IN (%s)))))
FROM (%s) AS e
ARRAY JOIN [('day', e.day, '', ''), ('month', toStartOfMonth(e.day), e.supplier, ''), ('category', e.day, '', e.category)] AS g
GROUP BY tenant, kpi, g.1 AS grain, g.2 AS gday, plant, g.3 AS gsupplier, g.4 AS gcategory`, durationKPIs(), strings.Join(parts, "\nUNION ALL\n")))
}

func lines(t *testing.T, conn driver.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	t.Errorf("%s: rollup differs from the facts (%d rows, want %d)\nmissing:\n  %s\nextra:\n  %s", what, len(got), len(want),
		strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
}

func (c Config) withDefaults() Config { c.Defaults(); return c }

// After a full build, new facts of every kind (a receipt, a PO change
// that moves a line to another month, a cancellation, a new order, a
// supplier's tier, an exception) and the passing time (lines falling due,
// facts dated after the previous as-of) reach the rollup through an
// incremental refresh, which then holds exactly what a full computation
// from the facts gives.
func TestIncrementalRefreshEqualsFullComputation(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	storeScenario(t, conn, db)
	reg := prometheus.NewRegistry()
	r := NewRefresher(conn, db, Config{}, discard, nil).WithMetrics(NewMetrics(reg))

	asOf1 := ts("2026-03-05T12:00:00Z")
	rep, err := r.Refresh(ctx, asOf1)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Full || rep.CompleteThrough.IsZero() {
		t.Fatalf("first refresh %+v, want a full build with a completeness time", rep)
	}
	sameRows(t, "after the build", rollupRows(t, conn, db), truthRows(t, conn, db, asOf1))

	po := func(id string, v int) procure.DocumentRef {
		return procure.DocumentRef{Kind: procure.DocPO, ID: id, Version: v}
	}
	ev := func(id string, typ procure.Type, at, supplier string, doc procure.DocumentRef, p any) *procure.Event {
		return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts(at), Plant: "P1", Supplier: supplier, Document: doc, Payload: p}
	}
	store(t, conn, db,
		// C's line received late: class, OTIF, receipt variance.
		ev("n1", procure.GoodsReceived, "2026-03-09T09:00:00Z", "S1", procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-C"},
			&procure.Receipt{Lines: []procure.ReceiptLine{{PO: "C", Line: 10, ReceivedQuantity: 10, Unit: "C62"}}}),
		// A's line moves from March to April.
		ev("n2", procure.POChanged, "2026-03-06T09:00:00Z", "S1", po("A", 2), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 100, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-04-02")}}}),
		// D: a new order, cancelled later (its lines leave the line KPIs).
		ev("n3", procure.POReleased, "2026-03-20T09:00:00Z", "S2", po("D", 1), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 5, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-25")}}}),
		ev("n4", procure.POCancelled, "2026-03-21T09:00:00Z", "S2", po("D", 1), &procure.Cancellation{Reason: "test"}),
		// S2 becomes tier 1: B's response SLA is 24 business hours.
		ev("n5", procure.SupplierUpdated, "2026-03-22T00:00:00Z", "S2", procure.DocumentRef{Kind: procure.DocSupplier, ID: "S2"}, &procure.Supplier{Name: "Two", Tier: 1}),
	)
	x3 := &procure.Exception{ID: 3, Tenant: "acme", Rule: "asn-missing", Kind: "sla", Severity: "low", Team: "procurement",
		Plant: "P1", Supplier: "S1", PO: "A", FirstSeen: ts("2026-03-10T08:00:00Z"), State: "open"}
	if err := NewMirror(conn, db, nil, Config{}, discard).Insert(ctx, []*procure.OutboxEvent{
		{ID: 7, Tenant: "acme", Kind: procure.OutboxOpened, At: ts("2026-03-10T08:00:00Z"), Exception: x3}}); err != nil {
		t.Fatal(err)
	}

	asOf2 := ts("2026-03-31T12:00:00Z")
	rep, err = r.Refresh(ctx, asOf2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Full || rep.Touched == 0 || !slices.Contains(rep.Months, "202604") || !slices.Contains(rep.Months, "202603") {
		t.Fatalf("second refresh %+v, want an incremental one over March and April", rep)
	}
	sameRows(t, "after the incremental refresh", rollupRows(t, conn, db), truthRows(t, conn, db, asOf2))
	var m dto.Metric
	if err := r.metrics.complete.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetGauge().GetValue(); got != float64(rep.CompleteThrough.UnixMilli())/1000 {
		t.Errorf("complete-through metric %v, want %v", got, rep.CompleteThrough)
	}

	// Nothing new: the completeness time still moves on.
	rep2, err := r.Refresh(ctx, asOf2)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Full || !rep2.CompleteThrough.After(rep.CompleteThrough) {
		t.Errorf("quiet refresh %+v, want incremental and complete through a later time than %v", rep2, rep.CompleteThrough)
	}
	sameRows(t, "after a quiet refresh", rollupRows(t, conn, db), truthRows(t, conn, db, asOf2))
}

// The passing time changes a line's delivery class only while it is not
// received: a refresh within the same day touches no line, and one on a
// later day touches the orders with a line falling due unreceived, not
// those whose lines due the same day were received. The rollup then equals
// a computation from the facts (the overdue line counted).
func TestIncrementalRefreshTouchesOnlyUnreceivedLinesFallingDue(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	var evs []*procure.Event
	ev := func(id string, typ procure.Type, at string, doc procure.DocumentRef, p any) {
		evs = append(evs, &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts(at),
			Plant: "P1", Supplier: "S1", Document: doc, Payload: p})
	}
	for _, id := range []string{"U", "R", "L"} {
		po := procure.DocumentRef{Kind: procure.DocPO, ID: id, Version: 1}
		ev(id+"r", procure.POReleased, "2026-03-02T09:00:00Z", po, &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 10, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-10")},
				{Line: 20, Item: "M1", Quantity: 10, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-10")}}})
		ev(id+"a", procure.POAcknowledged, "2026-03-02T10:00:00Z", po, &procure.Acknowledgement{Lines: []procure.AckLine{{Line: 10, Status: "accepted"}, {Line: 20, Status: "accepted"}}})
	}
	// R: both lines received early; L: one of its two lines.
	receipt := func(id, po string, lines ...int) {
		var ls []procure.ReceiptLine
		for _, l := range lines {
			ls = append(ls, procure.ReceiptLine{PO: po, Line: l, ReceivedQuantity: 10, Unit: "C62"})
		}
		ev(id, procure.GoodsReceived, "2026-03-04T09:00:00Z", procure.DocumentRef{Kind: procure.DocReceipt, ID: id}, &procure.Receipt{Lines: ls})
	}
	receipt("GR-R", "R", 10, 20)
	receipt("GR-L", "L", 10)
	store(t, conn, db, evs...)
	r := NewRefresher(conn, db, Config{}, discard, nil)
	r.overlap = 0 // else the refreshes re-read what the build just read
	if _, err := r.Refresh(ctx, ts("2026-03-05T12:00:00Z")); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Refresh(ctx, ts("2026-03-05T12:05:00Z"))
	if err != nil || rep.Full || rep.Touched != 0 {
		t.Fatalf("refresh later the same day %+v (%v), want incremental with nothing touched", rep, err)
	}
	asOf := ts("2026-03-12T08:00:00Z")
	rep, err = r.Refresh(ctx, asOf)
	if err != nil || rep.Full {
		t.Fatalf("refresh days later %+v (%v), want incremental", rep, err)
	}
	// U and L (a line each unreceived past due); R's lines were received.
	if rep.Touched != 2 {
		t.Errorf("refresh days later touched %d keys, want 2 (orders U and L)", rep.Touched)
	}
	sameRows(t, "after lines fell due", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
	if got := lines(t, conn, "SELECT toString((num, den)) FROM "+db+".kpi_rollup WHERE grain = 'month' AND kpi = 'otd_overdue'"); !slices.Equal(got, []string{"(3,6)"}) {
		t.Errorf("otd_overdue month rows %v, want (3,6): U's two lines and L's line 20 overdue of six classified", got)
	}
}

// An incremental refresh recomputes the months that new facts touch, not
// the history: a receipt in one old month leaves the other months alone.
func TestIncrementalRefreshRecomputesOnlyTouchedMonths(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	asOf := ts("2026-03-31T12:00:00Z")
	var evs []*procure.Event
	for i, m := range []string{"2025-10", "2025-11", "2025-12", "2026-01"} {
		evs = append(evs, &procure.Event{ID: fmt.Sprintf("r%d", i), Type: procure.POReleased, Source: procure.SourceERP, Tenant: "acme",
			OccurredAt: ts(m + "-05T09:00:00Z"), Plant: "P1", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocPO, ID: fmt.Sprintf("P%d", i), Version: 1},
			Payload: &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
				Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 10, Unit: "C62", UnitPrice: 1, NeedBy: date(m + "-20")}}}})
	}
	store(t, conn, db, evs...)
	r := NewRefresher(conn, db, Config{}, discard, nil)
	r.overlap = 0 // else the first refresh re-reads what the build just read
	if _, err := r.Refresh(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	store(t, conn, db, &procure.Event{ID: "g1", Type: procure.GoodsReceived, Source: procure.SourceWMS, Tenant: "acme",
		OccurredAt: ts("2025-11-21T09:00:00Z"), Plant: "P1", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR1"},
		Payload: &procure.Receipt{Lines: []procure.ReceiptLine{{PO: "P1", Line: 10, ReceivedQuantity: 10, Unit: "C62"}}}})
	rep, err := r.Refresh(ctx, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"202511"}; !slices.Equal(rep.Months, want) {
		t.Errorf("months recomputed %v, want %v", rep.Months, want)
	}
	sameRows(t, "after the receipt", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
}

// A full build runs in pieces; a piece that fails for good is reported, the
// others are kept, and the next refresh resumes with the failed piece only.
func TestBuildResumesWithTheFailedPiece(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	storeScenario(t, conn, db)
	asOf := ts("2026-03-31T12:00:00Z")
	r := NewRefresher(conn, db, Config{PieceRows: 1, PieceBackoff: time.Millisecond}, discard, nil)
	var mu sync.Mutex
	var attempts []string
	broken := "entities/lines/1"
	r.fault = func(piece string, attempt int) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, piece)
		if piece == broken {
			return errors.New("bad statement")
		}
		return nil
	}
	rep, err := r.Refresh(ctx, asOf)
	if err == nil || rep.Failed != 1 || !strings.Contains(err.Error(), broken) || rep.Retries != 0 {
		t.Fatalf("build %+v (err %v), want one failed piece %s, not retried", rep, err, broken)
	}
	entityPieces := 0
	for _, a := range attempts {
		if strings.HasPrefix(a, "entities/") {
			entityPieces++
		}
	}
	if entityPieces < 5 {
		t.Fatalf("build ran %d entity pieces (%v), want the families split in several", entityPieces, attempts)
	}
	if rep.CompleteThrough.IsZero() == false {
		t.Errorf("a failed build says complete through %v", rep.CompleteThrough)
	}
	f, err := NewQuerier(conn, db, Config{}, nil).Freshness(ctx)
	if err != nil || !f.Building || f.CompleteThrough != nil || f.BuildProgress <= 0 || f.BuildProgress >= 1 {
		t.Fatalf("freshness during the build %+v (%v), want building, partly done, no completeness time", f, err)
	}

	attempts, broken = nil, ""
	rep, err = r.Refresh(ctx, ts("2026-04-30T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var again []string
	for _, a := range attempts {
		if strings.HasPrefix(a, "entities/") {
			again = append(again, a)
		}
	}
	if !rep.Full || !slices.Equal(again, []string{"entities/lines/1"}) {
		t.Errorf("resumed build %+v ran entity pieces %v, want only entities/lines/1", rep, again)
	}
	// The resumed build keeps the as-of it started with.
	sameRows(t, "after the resumed build", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
}

// A month failing transiently is retried; one failing for good is reported
// and stays pending while the other months land, and the completeness time
// waits until it is done.
func TestFailedMonthIsRetriedReportedAndRedone(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	storeScenario(t, conn, db)
	asOf := ts("2026-03-31T12:00:00Z")
	r := NewRefresher(conn, db, Config{PieceBackoff: time.Millisecond}, discard, nil)
	r.fault = func(piece string, attempt int) error {
		if piece == "rollup/202603" && attempt == 1 {
			return fmt.Errorf("server busy: %w", errTransient)
		}
		return nil
	}
	rep, err := r.Refresh(ctx, asOf)
	if err != nil || rep.Retries != 1 || rep.Failed != 0 {
		t.Fatalf("build %+v (%v), want March retried once and done", rep, err)
	}
	complete := rep.CompleteThrough

	store(t, conn, db, &procure.Event{ID: "late", Type: procure.GoodsReceived, Source: procure.SourceWMS, Tenant: "acme",
		OccurredAt: ts("2026-03-09T09:00:00Z"), Plant: "P1", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-C"},
		Payload: &procure.Receipt{Lines: []procure.ReceiptLine{{PO: "C", Line: 10, ReceivedQuantity: 10, Unit: "C62"}}}})
	attempts := 0
	r.fault = func(piece string, attempt int) error {
		if piece == "rollup/202603" {
			attempts++
			return errors.New("syntax error")
		}
		return nil
	}
	rep, err = r.Refresh(ctx, asOf)
	if err == nil || rep.Failed != 1 || attempts != 1 || !rep.CompleteThrough.Equal(complete) {
		t.Fatalf("refresh %+v (%v, %d attempts), want March failed once, not retried, completeness kept at %v", rep, err, attempts, complete)
	}
	st, err := r.loadState(ctx)
	if err != nil || !slices.Equal(st.Pending, []string{"202603"}) {
		t.Fatalf("state %+v (%v), want March pending", st, err)
	}

	r.fault = nil
	rep, err = r.Refresh(ctx, asOf)
	if err != nil || !slices.Contains(rep.Months, "202603") || !rep.CompleteThrough.After(complete) {
		t.Fatalf("refresh %+v (%v), want March redone and a later completeness time", rep, err)
	}
	sameRows(t, "after March is redone", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
}

// Run refreshes at once, again when triggered (a backfill announced), and
// stops when its context ends.
func TestRunRefreshesWhenTriggeredAndStops(t *testing.T) {
	conn, db := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	asOf := ts("2026-03-31T12:00:00Z")
	r := NewRefresher(conn, db, Config{RefreshEvery: time.Hour}, discard, func() time.Time { return asOf })
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	wait := func(what string, ok func(*refreshState) bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			st, err := r.loadState(context.Background())
			if err == nil && st != nil && ok(st) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: state %+v (%v)", what, st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("first build", func(st *refreshState) bool { return st.Build == nil && !st.CompleteThrough.IsZero() })
	storeScenario(t, conn, db)
	r.Trigger()
	wait("triggered refresh", func(*refreshState) bool {
		return len(rollupRows(t, conn, db)) > 0
	})
	sameRows(t, "after the triggered refresh", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not stop")
	}
}

// The stale-KPI alert reads the metric the Refresher exports.
func TestStaleAlertRuleReadsTheExportedMetric(t *testing.T) {
	f, err := promrules.Load("../deploy/prometheus/kpi.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.completeThrough(time.Now())
	m.piece("failed")
	m.buildProgress(0.5)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range fams {
		exported[mf.GetName()] = true
	}
	var stale bool
	for _, rule := range f.Rules() {
		names := promrules.Metrics(rule.Expr)
		if len(names) == 0 {
			t.Errorf("alert %s: expression %q reads no supplywatch metric", rule.Alert, rule.Expr)
		}
		for _, name := range names {
			if !exported[name] {
				t.Errorf("alert %s reads %s, which the Refresher does not export", rule.Alert, name)
			}
		}
		stale = stale || strings.Contains(rule.Expr, "time() - supplywatch_kpi_complete_through_timestamp_seconds >")
	}
	if !stale {
		t.Error("no alert on the age of supplywatch_kpi_complete_through_timestamp_seconds")
	}
}

// A build piece that outlives its statement timeout is split in two, not
// retried at the same size, and the halves land.
func TestBuildSplitsAPieceThatTimesOut(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	storeScenario(t, conn, db)
	asOf := ts("2026-03-31T12:00:00Z")
	r := NewRefresher(conn, db, Config{}, discard, nil)
	var ran []string
	r.fault = func(piece string, attempt int) error {
		ran = append(ran, piece)
		if piece == "entities/lines/0" {
			return fmt.Errorf("read: %w", context.DeadlineExceeded)
		}
		return nil
	}
	rep, err := r.Refresh(ctx, asOf)
	if err != nil || rep.Failed != 0 || rep.Retries != 0 {
		t.Fatalf("build %+v (%v), want no failure and no retry", rep, err)
	}
	if !slices.Contains(ran, "entities/lines/0.a") || !slices.Contains(ran, "entities/lines/0.b") {
		t.Fatalf("pieces run %v, want lines/0 split into lines/0.a and lines/0.b", ran)
	}
	sameRows(t, "after the split build", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
}

// An incremental refresh over more touched keys than PieceKeys recomputes
// them in chunks, with the same result.
func TestIncrementalRefreshInChunks(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	asOf := ts("2026-03-31T12:00:00Z")
	r := NewRefresher(conn, db, Config{PieceKeys: 1}, discard, nil)
	if _, err := r.Refresh(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	storeScenario(t, conn, db)
	rep, err := r.Refresh(ctx, asOf)
	if err != nil || rep.Full {
		t.Fatalf("refresh %+v (%v), want incremental", rep, err)
	}
	if rep.Pieces < 10 {
		t.Errorf("refresh ran %d pieces, want the touched keys in chunks", rep.Pieces)
	}
	sameRows(t, "after the chunked refresh", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
}

// A refresh re-rolls the cells (day, plant, supplier) its touched entities
// were or are in, and only the kpi_rollup rows those cells belong to: a
// receipt and a need-by moved within the month on one order change that
// order's cells; every other cell keeps its rollup row as it was (same
// version), every other kpi_rollup row stays byte for byte. The result
// equals both a computation from the facts and a full rebuild.
func TestCellRerollChangesOnlyTouchedCells(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	asOf := ts("2026-04-15T12:00:00Z")
	po := func(id string, v int) procure.DocumentRef {
		return procure.DocumentRef{Kind: procure.DocPO, ID: id, Version: v}
	}
	order := func(needBy string) *procure.PurchaseOrder {
		return &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 10, Unit: "C62", UnitPrice: 1, NeedBy: date(needBy)}}}
	}
	var evs []*procure.Event
	for i := range 6 {
		id := fmt.Sprintf("Q%d", i)
		plant, supplier := fmt.Sprintf("P%d", 1+i%2), fmt.Sprintf("S%d", 1+i%3)
		evs = append(evs,
			&procure.Event{ID: id + "r", Type: procure.POReleased, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts(fmt.Sprintf("2026-02-0%dT09:00:00Z", 2+i)),
				Plant: plant, Supplier: supplier, Document: po(id, 1), Payload: order(fmt.Sprintf("2026-02-%d", 15+i))},
			&procure.Event{ID: id + "a", Type: procure.POAcknowledged, Source: procure.SourcePortal, Tenant: "acme", OccurredAt: ts(fmt.Sprintf("2026-02-0%dT15:00:00Z", 2+i)),
				Plant: plant, Supplier: supplier, Document: po(id, 1), Payload: &procure.Acknowledgement{Lines: []procure.AckLine{{Line: 10, Status: "accepted"}}}})
	}
	store(t, conn, db, evs...)
	r := NewRefresher(conn, db, Config{}, discard, nil)
	r.overlap = 0 // else the refresh re-reads what the build just read
	if _, err := r.Refresh(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	cellRows := func() map[string]uint64 {
		out := map[string]uint64{}
		rows, err := conn.Query(ctx, "SELECT toString((tenant, kpi, day, plant, supplier)), version FROM "+db+".kpi_cell_rollup FINAL")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var v uint64
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
		return out
	}
	// Every kpi_rollup row with its quantile state's bytes, by (grain, day, plant, supplier).
	rawRollup := func() map[string][]string {
		out := map[string][]string{}
		for _, l := range lines(t, conn, "SELECT concat(grain, '|', toString(day), '|', plant, '|', supplier, '|', toString((kpi, num, den, hex(q)))) FROM "+db+".kpi_rollup") {
			i := strings.LastIndexByte(l, '|')
			out[l[:i]] = append(out[l[:i]], l[i+1:])
		}
		return out
	}
	cellsBefore, rollupBefore := cellRows(), rawRollup()

	// Q0 (P1, S1): received on 02-14, its need-by moved from 02-15 to 02-20.
	store(t, conn, db,
		&procure.Event{ID: "Q0g", Type: procure.GoodsReceived, Source: procure.SourceWMS, Tenant: "acme", OccurredAt: ts("2026-02-14T10:00:00Z"),
			Plant: "P1", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-Q0"},
			Payload: &procure.Receipt{Lines: []procure.ReceiptLine{{PO: "Q0", Line: 10, ReceivedQuantity: 10, Unit: "C62"}}}},
		&procure.Event{ID: "Q0c", Type: procure.POChanged, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts("2026-02-10T09:00:00Z"),
			Plant: "P1", Supplier: "S1", Document: po("Q0", 2), Payload: order("2026-02-20")})
	rep, err := r.Refresh(ctx, asOf)
	if err != nil || rep.Full || !slices.Equal(rep.Months, []string{"202602"}) {
		t.Fatalf("refresh %+v (%v), want an incremental one over February", rep, err)
	}
	// Q0's cells: released 02-02, due 02-15 then 02-20, received 02-14.
	q0Days := []string{"2026-02-02", "2026-02-14", "2026-02-15", "2026-02-20"}
	inQ0 := func(k string) bool {
		for _, d := range q0Days {
			if strings.Contains(k, "'"+d+"','P1','S1')") {
				return true
			}
		}
		return false
	}
	cellsAfter := cellRows()
	changed := 0
	for k, v := range cellsAfter {
		if old, ok := cellsBefore[k]; ok && old == v {
			continue
		}
		changed++
		if !inQ0(k) {
			t.Errorf("cell %s re-rolled, not one of Q0's", k)
		}
	}
	for k := range cellsBefore {
		if _, ok := cellsAfter[k]; !ok && !inQ0(k) {
			t.Errorf("cell %s removed, not one of Q0's", k)
		}
	}
	if changed == 0 {
		t.Fatal("no cell re-rolled")
	}
	// Per KPI: Q0's release-day cell also holds its acknowledgement's
	// supplier documents (digital_documents), which nothing touched.
	docsCell := "('acme','digital_documents','2026-02-02','P1','S1')"
	if v, ok := cellsBefore[docsCell]; !ok || cellsAfter[docsCell] != v {
		t.Errorf("cell %s: version %d before, %d after: want it kept (no touched entity has that KPI)", docsCell, v, cellsAfter[docsCell])
	}
	rollupAfter := rawRollup()
	for k, want := range rollupBefore {
		f := strings.Split(k, "|") // grain, day, plant, supplier
		touched := f[2] == "P1" && ((f[0] == "day" || f[0] == "category") && slices.Contains(q0Days, f[1]) || f[0] == "month" && f[3] == "S1")
		if !touched && !slices.Equal(rollupAfter[k], want) {
			t.Errorf("kpi_rollup %s changed, though none of its cells did:\n  %v\n  %v", k, want, rollupAfter[k])
		}
	}
	if slices.Equal(rollupAfter["day|2026-02-15|P1|"], rollupBefore["day|2026-02-15|P1|"]) {
		t.Error("the day Q0's line left (02-15, P1) kept its rollup rows")
	}
	sameRows(t, "after the cell re-roll", rollupRows(t, conn, db), truthRows(t, conn, db, asOf))
	incremental := rollupRows(t, conn, db)
	if _, err := r.RefreshAll(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "a full rebuild against the cell re-roll", incremental, rollupRows(t, conn, db))
}

// The refresh's big statements keep both their timeout and their
// streaming settings (the client replaces a context's settings: they are
// merged by withSettings).
func TestRefreshStatementsKeepTheirSettings(t *testing.T) {
	conn, _ := migrated(t)
	var timeout, inOrder uint64
	ctx := bigQuery(withStatementTimeout(context.Background(), 50*time.Second))
	if err := conn.QueryRow(ctx, "SELECT toUInt64(getSetting('max_execution_time')), toUInt64(getSetting('optimize_aggregation_in_order'))").Scan(&timeout, &inOrder); err != nil {
		t.Fatal(err)
	}
	if timeout != 50 || inOrder != 1 {
		t.Errorf("refresh statement settings: max_execution_time %d, optimize_aggregation_in_order %d; want 50 and 1", timeout, inOrder)
	}
}

// A refresh re-rolls the touched cells of the difference KPIs from their
// rows in kpi_cell_categories and the touched entities' rows before and
// after, not from the cells' rows in kpi_cells (whose read cost a month's
// size): a row planted in kpi_cells, in a touched cell, that no entity has
// is not read for confirmation_rate, while the duration KPI beside it in
// the same cell, re-rolled from its rows, reads it (so the cell was
// touched). An acknowledgement of an open order (a duration KPI in a
// touched cell), a receipt, a line moved to the next month and an order
// released and cancelled end as a computation from the facts gives.
func TestCellRerollByDifferenceReadsNoCellRows(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	storeScenario(t, conn, db)
	asOf := ts("2026-03-31T12:00:00Z")
	r := NewRefresher(conn, db, Config{}, discard, nil)
	if _, err := r.Refresh(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	// C was released on 03-03 at P1 for S1.
	if err := conn.Exec(ctx, `INSERT INTO `+db+`.kpi_cells (family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, version, deleted) VALUES
    ('lines', 'acme', 'planted', 'confirmation_rate', 'planted/10', '2026-03-03', 'P1', 'S1', 1, 1, 0, 'M1', 4611686018427387904, 0),
    ('orders', 'acme', 'planted', 'ack_cycle_hours', 'planted', '2026-03-03', 'P1', 'S1', 100, 1, 100, 'M1', 4611686018427387904, 0)`); err != nil {
		t.Fatal(err)
	}
	po := func(id string, v int) procure.DocumentRef {
		return procure.DocumentRef{Kind: procure.DocPO, ID: id, Version: v}
	}
	ev := func(id string, typ procure.Type, at, supplier string, doc procure.DocumentRef, p any) *procure.Event {
		return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts(at), Plant: "P1", Supplier: supplier, Document: doc, Payload: p}
	}
	store(t, conn, db,
		ev("d1", procure.POAcknowledged, "2026-03-04T10:00:00Z", "S1", po("C", 1), &procure.Acknowledgement{Lines: []procure.AckLine{{Line: 10, Status: "accepted"}}}),
		ev("d2", procure.GoodsReceived, "2026-03-09T09:00:00Z", "S1", procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-C"},
			&procure.Receipt{Lines: []procure.ReceiptLine{{PO: "C", Line: 10, ReceivedQuantity: 10, Unit: "C62"}}}),
		ev("d3", procure.POChanged, "2026-03-06T09:00:00Z", "S1", po("A", 2), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 100, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-04-02")}}}),
		ev("d4", procure.POReleased, "2026-03-20T09:00:00Z", "S2", po("D", 1), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 5, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-25")}}}),
		ev("d5", procure.POCancelled, "2026-03-21T09:00:00Z", "S2", po("D", 1), &procure.Cancellation{Reason: "test"}),
	)
	rep, err := r.Refresh(ctx, asOf)
	if err != nil || rep.Full || rep.Retries != 0 {
		t.Fatalf("refresh %+v (%v), want an incremental one without retries", rep, err)
	}
	split := func(rows []string) (duration, other []string) {
		for _, l := range rows {
			if strings.Contains(l, "'ack_cycle_hours'") {
				duration = append(duration, l)
			} else {
				other = append(other, l)
			}
		}
		return duration, other
	}
	gotDur, got := split(rollupRows(t, conn, db))
	wantDur, want := split(truthRows(t, conn, db, asOf))
	sameRows(t, "the difference KPIs after the refresh", got, want)
	if slices.Equal(gotDur, wantDur) {
		t.Error("ack_cycle_hours equals the facts though a row was planted in its cell: the cell was not re-rolled from its rows, so the test shows nothing")
	}
}

// The difference KPIs' entity rows have whole numbers as num and den, and
// den ≥ 1 (what re-rolling their cells by difference relies on).
func TestDifferenceKPIsCountWholeRows(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	storeScenario(t, conn, db)
	if _, err := NewRefresher(conn, db, Config{}, discard, nil).RefreshAll(ctx, ts("2026-03-31T12:00:00Z")); err != nil {
		t.Fatal(err)
	}
	var n, bad uint64
	var kpis []string
	if err := conn.QueryRow(ctx, `SELECT count(), countIf(num != floor(num) OR den != floor(den) OR den < 1), groupUniqArray(toString(kpi))
FROM `+db+`.kpi_entities FINAL WHERE kpi IN (`+differenceKPIs()+`)`).Scan(&n, &bad, &kpis); err != nil {
		t.Fatal(err)
	}
	if n == 0 || len(kpis) < 10 || bad != 0 {
		t.Errorf("%d rows of %d difference KPIs (%v), %d of them with a fractional num or den or den < 1; want many, none", n, len(kpis), kpis, bad)
	}
}

// The keys an event names in its payload are touched: an invoice status
// its PO (an invoice with lines, which also name POs), a receipt its ASN
// and its lines' POs, an ASN its lines' POs; other types' payloads are
// not read for keys.
func TestTouchedKeysFromEventPayloads(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	ev := func(id string, typ procure.Type, doc procure.DocumentRef, p any) *procure.Event {
		return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts("2026-03-09T09:00:00Z"), Plant: "P1", Supplier: "S1", Document: doc, Payload: p}
	}
	since := time.Now().Add(-time.Minute)
	store(t, conn, db,
		ev("k1", procure.InvoiceStatusChanged, procure.DocumentRef{Kind: procure.DocInvoice, ID: "INV-1"},
			&procure.InvoiceStatus{Status: "received", PO: "P-INV", Lines: []procure.InvoiceLine{{PO: "P-INVLINE", Line: 10, Quantity: 1, UnitPrice: 1}}}),
		ev("k2", procure.GoodsReceived, procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-1"},
			&procure.Receipt{ASN: "ASN-GR", Lines: []procure.ReceiptLine{{PO: "P-GR1", Line: 10, ReceivedQuantity: 1, Unit: "C62"}, {PO: "P-GR2", Line: 10, ReceivedQuantity: 1, Unit: "C62"}}}),
		ev("k3", procure.ASNSubmitted, procure.DocumentRef{Kind: procure.DocASN, ID: "ASN-1"},
			&procure.ShipNotice{ShipDate: ts("2026-03-09T09:00:00Z"), ExpectedArrival: ts("2026-03-10T09:00:00Z"), Lines: []procure.ASNLine{{PO: "P-ASN", Line: 10, Quantity: 1, Unit: "C62"}}}),
		ev("k4", procure.QualityDocumentAttached, procure.DocumentRef{Kind: procure.DocQuality, ID: "Q-1"},
			&procure.QualityDocument{DocType: "coa", Item: "M1", Lot: "L1", PO: "P-Q", Line: 10}),
	)
	touched := db + ".kpi_touched_test"
	if err := conn.Exec(ctx, "CREATE TABLE "+touched+" (family LowCardinality(String), tenant String, key String, day Date, plant String, supplier String) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	r := NewRefresher(conn, db, Config{}, discard, nil)
	asOf := ts("2026-03-09T12:00:00Z")
	if err := r.findTouched(ctx, touched, since, asOf, asOf); err != nil {
		t.Fatal(err)
	}
	got := lines(t, conn, "SELECT DISTINCT concat(toString(family), ' ', key) FROM "+touched+" WHERE family IN ('po', 'asn', 'invoice') ORDER BY 1")
	sameRows(t, "touched keys", got, []string{"asn ASN-1", "asn ASN-GR", "invoice INV-1", "po P-ASN", "po P-GR1", "po P-GR2", "po P-INV"})
}
