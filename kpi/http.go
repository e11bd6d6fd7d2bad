package kpi

import (
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// HandlerOptions configure the Handler.
type HandlerOptions struct {
	// Tenant returns the tenant of the request, as established by the
	// auth middleware; when nil or empty, the tenant query parameter.
	Tenant func(c *gin.Context) string
	Log    *slog.Logger
	Now    func() time.Time
}

// Handler serves the KPI API of docs/kpi.md as JSON or CSV.
type Handler struct {
	q    *Querier
	opts HandlerOptions
}

// NewHandler returns a Handler reading through q.
func NewHandler(q *Querier, opts HandlerOptions) *Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{q: q, opts: opts}
}

// Register adds the routes under /api/kpi; mw (the console's
// authentication and authorization) runs before each.
func (h *Handler) Register(r gin.IRouter, mw ...gin.HandlerFunc) {
	g := r.Group("/api/kpi", mw...)
	g.GET("/catalog", h.catalog)
	g.GET("/values", h.values)
	g.GET("/trend", h.trend)
	g.GET("/breakdown", h.breakdown)
	g.GET("/documents", h.documents)
	g.GET("/ops", h.ops)
}

func (h *Handler) query(c *gin.Context) (Query, error) {
	q := Query{Plant: c.Query("plant"), Supplier: c.Query("supplier")}
	if h.opts.Tenant != nil {
		q.Tenant = h.opts.Tenant(c)
	}
	if q.Tenant == "" {
		q.Tenant = c.Query("tenant")
	}
	now := h.opts.Now().UTC()
	q.To = day(now).AddDate(0, 0, 1)
	q.From = q.To.AddDate(0, 0, -30)
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if s := c.Query(name); s != "" {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return q, procure.Errorf(procure.EINVALID, "%s: %q is not a date YYYY-MM-DD", name, s)
			}
			*dst = t
		}
	}
	return q, q.validate()
}

func (h *Handler) fail(c *gin.Context, err error) {
	code := procure.ErrorCode(err)
	status := httperr.Status(code)
	if status == http.StatusInternalServerError {
		h.opts.Log.Error("kpi api", "path", c.Request.URL.Path, "err", err)
	}
	httperr.Abort(c, status, httperr.Detail{Code: code, Message: procure.ErrorMessage(err)})
}

// FreshnessHeader is the response header of the rolled-up routes (values,
// trend, breakdown) with the time up to which the rollup is complete
// (RFC 3339), absent until the first build is done.
const FreshnessHeader = "X-KPI-Complete-Through"

func (h *Handler) freshnessHeader(c *gin.Context, f Freshness) {
	if f.CompleteThrough != nil {
		c.Header(FreshnessHeader, f.CompleteThrough.UTC().Format(time.RFC3339Nano))
	}
}

// reply writes v as JSON, or table as CSV when format=csv.
func (h *Handler) reply(c *gin.Context, name string, v any, header []string, rows [][]string) {
	if c.Query("format") != "csv" {
		c.JSON(http.StatusOK, v)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	w.Write(header)
	w.WriteAll(rows)
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fp(v *float64) string {
	if v == nil {
		return ""
	}
	return f(*v)
}

var valueHeader = []string{"kpi", "title", "unit", "value", "num", "den", "mean", "p50", "p90", "previous", "change"}

func valueRow(v Value) []string {
	return []string{v.KPI, v.Title, v.Unit, f(v.Value), f(v.Num), f(v.Den), f(v.Mean), f(v.P50), f(v.P90), fp(v.Previous), fp(v.Change)}
}

func (h *Handler) catalog(c *gin.Context) {
	var rows [][]string
	for _, d := range Catalog {
		rows = append(rows, []string{d.ID, d.Title, string(d.Kind), d.Unit, strconv.FormatBool(d.HigherIsBetter), d.Entity, d.Date})
	}
	h.reply(c, "kpi-catalog", Catalog, []string{"id", "title", "kind", "unit", "higher_is_better", "entity", "date"}, rows)
}

func (h *Handler) values(c *gin.Context) {
	q, err := h.query(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	vs, err := h.q.Values(c.Request.Context(), q)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.freshnessHeader(c, vs.Freshness)
	var rows [][]string
	for _, v := range vs.Values {
		rows = append(rows, valueRow(v))
	}
	h.reply(c, "kpi-values", vs, valueHeader, rows)
}

func (h *Handler) trend(c *gin.Context) {
	q, err := h.query(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	ps, err := h.q.Trend(c.Request.Context(), q, c.Query("kpi"), c.DefaultQuery("bucket", "day"))
	if err != nil {
		h.fail(c, err)
		return
	}
	fr, err := h.q.Freshness(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	h.freshnessHeader(c, fr)
	var rows [][]string
	for _, p := range ps {
		rows = append(rows, append([]string{p.Start.Format(time.DateOnly)}, valueRow(p.Value)...))
	}
	h.reply(c, "kpi-trend-"+c.Query("kpi"), ps, append([]string{"start"}, valueHeader...), rows)
}

func (h *Handler) breakdown(c *gin.Context) {
	q, err := h.query(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	by := c.DefaultQuery("by", "plant")
	var rs []Row
	var grain string
	switch by {
	case "plant", "supplier":
		rs, grain, err = h.q.Breakdown(c.Request.Context(), q, c.Query("kpi"), by)
	case Category:
		grain = "day"
		rs, err = h.q.BreakdownByCategory(c.Request.Context(), q, c.Query("kpi"))
	default:
		err = procure.Errorf(procure.EINVALID, "by must be plant, supplier or category")
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	fr, err := h.q.Freshness(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	h.freshnessHeader(c, fr)
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, append([]string{r.Key}, valueRow(r.Value)...))
	}
	h.reply(c, "kpi-"+c.Query("kpi")+"-by-"+by, gin.H{"grain": grain, "rows": rs, "freshness": fr}, append([]string{by}, valueHeader...), rows)
}

func (h *Handler) documents(c *gin.Context) {
	q, err := h.query(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	limit, _ := strconv.Atoi(c.Query("limit"))
	ds, err := h.q.Documents(c.Request.Context(), q, c.Query("kpi"), limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	var rows [][]string
	for _, d := range ds {
		ex := ""
		for i, x := range d.Exceptions {
			if i > 0 {
				ex += " "
			}
			ex += fmt.Sprintf("%d:%s:%s", x.ID, x.Rule, x.State)
		}
		rows = append(rows, []string{d.Doc, d.Day.Format(time.DateOnly), d.Plant, d.Supplier, f(d.Num), f(d.Den), f(d.X), ex})
	}
	h.reply(c, "kpi-"+c.Query("kpi")+"-documents", ds, []string{"doc", "day", "plant", "supplier", "num", "den", "x", "exceptions"}, rows)
}

func (h *Handler) ops(c *gin.Context) {
	q, _ := h.query(c)
	if q.Tenant == "" {
		h.fail(c, procure.Errorf(procure.EINVALID, "tenant is required"))
		return
	}
	window := 24 * time.Hour
	if s := c.Query("window"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 90*24*time.Hour {
			h.fail(c, procure.Errorf(procure.EINVALID, "window: %q is not a duration up to 2160h", s))
			return
		}
		window = d
	}
	o, err := h.q.Ops(c.Request.Context(), q.Tenant, window, 0)
	if err != nil {
		h.fail(c, err)
		return
	}
	var header []string
	var rows [][]string
	table := c.DefaultQuery("table", "failures")
	switch table {
	case "throughput":
		header = []string{"hour", "events"}
		for _, t := range o.Throughput {
			rows = append(rows, []string{t.Hour.UTC().Format(time.RFC3339), strconv.FormatUint(t.Events, 10)})
		}
	case "failures":
		header = []string{"target", "supplier", "delivered", "failed", "error_rate"}
		for _, x := range o.Failures {
			rows = append(rows, []string{x.Target, x.Supplier, strconv.FormatUint(x.Delivered, 10), strconv.FormatUint(x.Failed, 10), f(x.ErrorRate)})
		}
	case "unacknowledged", "missing_asns":
		header = []string{"doc", "plant", "supplier", "since"}
		docs := o.Unacknowledged
		if table == "missing_asns" {
			docs = o.MissingASNs
		}
		for _, d := range docs {
			rows = append(rows, []string{d.Doc, d.Plant, d.Supplier, d.Since.UTC().Format(time.RFC3339)})
		}
	default:
		h.fail(c, procure.Errorf(procure.EINVALID, "table must be throughput, failures, unacknowledged or missing_asns"))
		return
	}
	h.reply(c, "ops-"+table, o, header, rows)
}
