// The executive dashboard over /api/kpi: a tile per KPI (value, target,
// change against the previous period), a trend chart (uPlot) by day, week
// or month, breakdowns by plant, supplier and item category, the documents behind a
// figure, value at risk per currency, CSV export. Period and scope live in
// the URL (/dashboard?from&to&plant&supplier&kpi&bucket) so a view can be
// bookmarked and shared.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { get } from "../api";
import { clear, day, h, money } from "../dom";
import { go, page } from "../shell";
import { can } from "../state";
import type { Answer, Schemas } from "../types";

// Value is one KPI's figure over a period (GET /api/kpi/values).
type Value = Schemas["KPIValue"];

// The tiles, in the order an executive reads them.
const tiles = [
  "otif", "otd_on_time", "response_sla", "ack_cycle_hours", "confirmation_rate", "confirmation_accuracy",
  "asn_timeliness", "asn_accuracy", "receipt_variance", "invoice_exception_rate", "first_pass_match", "touchless",
  "digital_documents", "digital_suppliers",
];
const short: Record<string, string> = {
  otif: "OTIF", otd_on_time: "On-time delivery", response_sla: "Response SLA", ack_cycle_hours: "Acknowledgement cycle time",
  confirmation_rate: "Confirmation rate", confirmation_accuracy: "Confirmation accuracy", asn_timeliness: "ASN timeliness",
  asn_accuracy: "ASN accuracy", receipt_variance: "Receipt variance", invoice_exception_rate: "Invoice exception rate",
  first_pass_match: "First-pass match", touchless: "Touchless POs", digital_documents: "Digital documents", digital_suppliers: "Digital suppliers",
};
const higherIsBetter: Record<string, boolean> = { ack_cycle_hours: false, receipt_variance: false, invoice_exception_rate: false };

export function fmt(v: number | undefined | null, unit: string): string {
  if (v === undefined || v === null || Number.isNaN(v)) return "—";
  return unit === "hours" ? v.toFixed(1) + " h" : (v * 100).toFixed(1) + "%";
}

function fmtChange(v: Value): string {
  if (v.change === undefined) return "no previous data";
  const c = v.change;
  const s = c > 0 ? "+" : c < 0 ? "−" : "±";
  const a = Math.abs(c);
  return v.unit === "hours" ? `${s}${a.toFixed(1)} h` : `${s}${(a * 100).toFixed(1)} pp`;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);
const longDay = (s: string) => new Date(s.slice(0, 10) + "T00:00:00Z").toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
function addDays(d: Date, n: number) {
  const x = new Date(d);
  x.setUTCDate(x.getUTCDate() + n);
  return x;
}

// periods are the picker's presets; to is exclusive (tomorrow).
function periods(): Record<string, [string, string]> {
  const now = new Date();
  const to = addDays(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())), 1);
  return {
    "Last 30 days": [iso(addDays(to, -30)), iso(to)],
    "Last 90 days": [iso(addDays(to, -90)), iso(to)],
    "Quarter to date": [iso(new Date(Date.UTC(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3) * 3, 1))), iso(to)],
    "Year to date": [iso(new Date(Date.UTC(now.getUTCFullYear(), 0, 1))), iso(to)],
    "Last 12 months": [iso(new Date(Date.UTC(now.getUTCFullYear() - 1, now.getUTCMonth(), now.getUTCDate() + 1))), iso(to)],
  };
}

function kpiQuery(p: URLSearchParams, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const k of ["from", "to", "plant", "supplier"]) if (p.get(k)) q.set(k, p.get(k)!);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

export async function renderDashboard(params: URLSearchParams) {
  const ps = periods();
  if (!params.get("from") || !params.get("to")) {
    const [f, t] = ps["Last 90 days"];
    params.set("from", f);
    params.set("to", t);
  }
  const sel = params.get("kpi") || "otif";
  const scoped = !!params.get("supplier");
  const bucket = scoped ? "month" : params.get("bucket") || "week";
  const [vals, cfg, plants, risk] = await Promise.all([
    get<Answer<"/api/kpi/values">>("/api/kpi/values?" + kpiQuery(params)),
    get<Answer<"/api/dashboard">>("/api/dashboard"),
    get<Answer<"/api/plants">>("/api/plants").catch((): Answer<"/api/plants"> => ({ plants: [] })),
    get<Answer<"/api/value-at-risk">>(
      "/api/value-at-risk?" + new URLSearchParams(Object.fromEntries(["plant", "supplier"].filter((k) => params.get(k)).map((k) => [k, params.get(k)!]))).toString(),
    ),
  ]);
  const byId = new Map(vals.values.map((v) => [v.kpi, v]));
  const setParams = (changes: Record<string, string | null>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    go("/dashboard?" + p.toString());
  };

  // ----- period and scope picker -----
  const preset = Object.entries(ps).find(([, [f, t]]) => f === params.get("from") && t === params.get("to"))?.[0] ?? "custom";
  const fromIn = h("input", { type: "date", id: "d-from", value: params.get("from") }) as HTMLInputElement;
  const toIn = h("input", { type: "date", id: "d-to", value: iso(addDays(new Date(params.get("to")! + "T00:00:00Z"), -1)) }) as HTMLInputElement;
  const plantSel = h("select", { id: "d-plant" }, h("option", { value: "" }, "all plants"),
    plants.plants.map((p) => h("option", { value: p.plant, selected: p.plant === params.get("plant") ? true : undefined }, p.plant))) as HTMLSelectElement;
  const supIn = h("input", { id: "d-supplier", value: params.get("supplier") ?? "", size: 8, placeholder: "all" }) as HTMLInputElement;
  const picker = h(
    "form.filters",
    {
      "aria-label": "Period and scope",
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (!fromIn.value || !toIn.value || fromIn.value > toIn.value) {
          fromIn.setCustomValidity("The period must start on or before its last day");
          fromIn.reportValidity();
          return;
        }
        setParams({ from: fromIn.value, to: iso(addDays(new Date(toIn.value + "T00:00:00Z"), 1)), plant: plantSel.value, supplier: supIn.value.trim() });
      },
    },
    h("div.field", h("label", { for: "d-period" }, "Period"), h("select", { id: "d-period", onchange: (e: Event) => {
      const v = (e.target as HTMLSelectElement).value;
      if (ps[v]) setParams({ from: ps[v][0], to: ps[v][1] });
    } }, [...Object.keys(ps), "custom"].map((k) => h("option", { value: k, selected: k === preset ? true : undefined }, k)))),
    h("div.field", h("label", { for: "d-from" }, "From"), fromIn),
    h("div.field", h("label", { for: "d-to" }, "To (inclusive)"), toIn),
    h("div.field", h("label", { for: "d-plant" }, "Plant"), plantSel),
    h("div.field", h("label", { for: "d-supplier" }, "Supplier"), supIn),
    h("button.primary", { type: "submit" }, "Apply"),
    h("a.button", { href: "/api/kpi/values?" + kpiQuery(params, { format: "csv" }), download: "kpi-values.csv" }, "Export CSV"),
  );

  // ----- tiles -----
  const tile = (id: string) => {
    const v = byId.get(id);
    if (!v) return null;
    const target = cfg.targets?.[id];
    const hib = higherIsBetter[id] ?? true;
    const onTarget = target === undefined || v.den === 0 ? null : hib ? v.value >= target : v.value <= target;
    return h(
      "button.tile" + (id === sel ? ".sel" : "") + (onTarget === false ? ".off" : ""),
      { type: "button", "aria-pressed": id === sel ? "true" : "false", "data-kpi": id, onclick: () => setParams({ kpi: id }) },
      h("span.t", short[id] ?? v.title),
      h("span.big", v.den ? fmt(v.value, v.unit) : "—"),
      h("span.small", target === undefined ? "" : `target ${fmt(target, v.unit)}${onTarget === null ? "" : onTarget ? " · met" : " · missed"}`),
      h("span.small" + (v.better === undefined ? ".muted" : v.better ? ".good" : ".worse"), fmtChange(v), v.change !== undefined ? " vs previous" : ""),
      h("span.small.muted", v.den ? `${v.unit === "hours" ? "p90 " + fmt(v.p90, "hours") + " · " : ""}${Math.round(v.den).toLocaleString("en")} ${v.unit === "hours" ? "acknowledged" : "in scope"}` : "no data in this period"),
    );
  };

  const riskBox = h(
    "section.risk",
    { "aria-label": "Value at risk" },
    h("h2", "Value at risk in open exceptions"),
    risk.currencies.length
      ? h("ul.plain.amounts", risk.currencies.map((c) => h("li", h("strong", money(c.amount, c.currency)), h("span.muted", ` in ${c.exceptions} exception${c.exceptions === 1 ? "" : "s"}`))))
      : h("p.muted", "No value at risk."),
    risk.reporting && risk.currencies.length
      ? h("p.small", "≈ ", h("strong", money(risk.reporting.amount, risk.reporting.currency)), ` in ${risk.reporting.currency} at the rates of ${risk.reporting.rates_date}`,
          risk.reporting.unconverted?.length ? ` (without ${risk.reporting.unconverted.join(", ")}: no rate configured)` : "")
      : null,
  );

  // ----- selected KPI: trend, breakdowns, documents -----
  const selV = byId.get(sel);
  const unit = selV?.unit ?? "ratio";
  const chartBox = h("div.chart", { role: "group", "aria-label": `Trend of ${short[sel] ?? sel} by ${bucket}` }, h("p.muted", "Loading the trend…"));
  const plantBox = h("div", h("p.muted", "Loading…"));
  const supplierBox = h("div", h("p.muted", "Loading…"));
  const categoryBox = h("div", h("p.muted", "Loading…"));
  const noCategory = sel === "digital_documents";
  const docsBox = h("div");
  const detail = sel === "digital_suppliers"
    ? h("section", h("h2", short[sel]), h("p.muted", "Suppliers are counted over the whole period (distinct counts do not add up per day): there is no trend or breakdown for this figure."))
    : h(
        "section.kpidetail",
        { "aria-label": "Detail of " + (short[sel] ?? sel) },
        h("div.pagehead", h("h2", selV?.title ?? sel),
          h("div.seg", { role: "group", "aria-label": "Trend buckets" }, ["day", "week", "month"].map((b) =>
            h("button.small", { type: "button", "aria-pressed": b === bucket ? "true" : "false", disabled: scoped && b !== "month" ? true : undefined, onclick: () => setParams({ bucket: b }) }, "by " + b))),
          h("a.button.small", { href: "/api/kpi/trend?" + kpiQuery(params, { kpi: sel, bucket, format: "csv" }), download: "" }, "Trend CSV")),
        chartBox,
        h("div.grid.breakdowns", h("div", h("h3", "By plant ", h("a.small", { href: "/api/kpi/breakdown?" + kpiQuery(params, { kpi: sel, by: "plant", format: "csv" }), download: "" }, "CSV")), plantBox),
          h("div", h("h3", "By supplier ", h("a.small", { href: "/api/kpi/breakdown?" + kpiQuery(params, { kpi: sel, by: "supplier", format: "csv" }), download: "" }, "CSV")), supplierBox),
          noCategory ? null : h("div", h("h3", "By category ", h("a.small", { href: "/api/kpi/breakdown?" + kpiQuery(params, { kpi: sel, by: "category", format: "csv" }), download: "" }, "CSV")), categoryBox)),
        h("h3", "Documents behind this figure ", h("a.small", { href: "/api/kpi/documents?" + kpiQuery(params, { kpi: sel, limit: "10000", format: "csv" }), download: "" }, "CSV"),
          can("GET", "/api/exceptions") && !noCategory
            ? [" · exceptions of ", h("a.small", { href: "/queue?" + kpiQuery(params, { kpi: sel, docs: "missed" }) }, "the documents that missed"),
               " or ", h("a.small", { href: "/queue?" + kpiQuery(params, { kpi: sel, docs: "all" }) }, "all of them")]
            : null),
        docsBox,
      );

  const scope = [params.get("plant") ? "plant " + params.get("plant") : "all plants", params.get("supplier") ? "supplier " + params.get("supplier") : "all suppliers"].join(" · ");
  page(
    "/dashboard",
    h("div.pagehead", h("h1", "Procurement KPIs"), h("span.muted", `${longDay(vals.from)} – ${longDay(iso(addDays(new Date(vals.to), -1)))} · ${scope}${vals.grain === "month" ? " · whole months (supplier figures are monthly)" : ""}`)),
    picker,
    h("div.tiles", tiles.map(tile)),
    riskBox,
    detail,
  );
  if (sel === "digital_suppliers") return;

  // The parts below load after the page is shown.
  const q = (extra: Record<string, string>) => kpiQuery(params, { kpi: sel, ...extra });
  get<Answer<"/api/kpi/trend">>("/api/kpi/trend?" + q({ bucket }))
    .then((pts) => drawTrend(chartBox, pts ?? [], unit, cfg.targets?.[sel], [Date.parse(vals.from) / 1000, Date.parse(vals.to) / 1000]))
    .catch((e) => clear(chartBox, h("p.error", { role: "alert" }, "The trend could not be loaded: " + e.message)));
  const breakdown = (by: string, box: HTMLElement, pick?: (key: string) => void) =>
    get<Answer<"/api/kpi/breakdown">>("/api/kpi/breakdown?" + q({ by }))
      .then((b) => clear(box, breakdownTable(b.rows ?? [], unit, by, pick)))
      .catch((e) => clear(box, h("p.error", { role: "alert" }, e.message)));
  breakdown("plant", plantBox, (key) => setParams({ plant: key }));
  breakdown("supplier", supplierBox, (key) => setParams({ supplier: key }));
  // Categories (the material class of PO lines) are not a scope of the
  // KPI API: their rows do not narrow the page. They are read from the PO
  // events (seconds on a large history, not a rollup): loaded when asked for.
  if (!noCategory) {
    const loadCategories = () => {
      clear(categoryBox, h("p.muted", { role: "status" }, "Reading the categories of the orders…"));
      return breakdown("category", categoryBox);
    };
    if (params.get("cat") === "1") loadCategories();
    else clear(categoryBox, h("button", { type: "button", id: "show-categories", onclick: loadCategories }, "Break down by category"));
  }
  // The documents are computed from the facts, not the rollup: loaded when
  // asked for, not with every view of the page.
  const loadDocs = () =>
    get<Answer<"/api/kpi/documents">>("/api/kpi/documents?" + q({ limit: "200" }))
      .then((ds) => clear(docsBox, documentsTable(ds ?? [], sel, can("GET", "/api/exceptions"))))
      .catch((e) => clear(docsBox, h("p.error", { role: "alert" }, e.message)));
  if (params.get("docs") === "1") loadDocs();
  else clear(docsBox, h("button", { type: "button", id: "show-docs", onclick: () => { clear(docsBox, h("p.muted", { role: "status" }, "Finding the documents…")); return loadDocs(); } }, "Show the 200 worst documents"));
}

function breakdownTable(rows: Schemas["KPIRow"][], unit: string, by: string, pick?: (key: string) => void) {
  if (!rows.length) return h("p.empty", "No data in this period.");
  return h(
    "div.tablewrap.short",
    h(
      "table.small",
      h("thead", h("tr", h("th", by), h("th.num", "Value"), h("th.num", "Change"), h("th.num", "Count"))),
      h("tbody", rows.slice(0, 50).map((r) =>
        h("tr", h("td", pick && r.key ? h("button.link", { type: "button", title: `Show ${by} ${r.key} only`, onclick: () => pick(r.key) }, r.key) : r.key || (by === "category" ? h("span.muted", "unclassified") : "—")),
          h("td.num", fmt(r.value, unit)),
          h("td.num" + (r.better === undefined ? ".muted" : r.better ? ".good" : ".worse"), fmtChange(r)),
          h("td.num", Math.round(r.den).toLocaleString("en"))))),
    ),
  );
}

function documentsTable(ds: Schemas["KPIDocument"][], kpi: string, exceptions: boolean) {
  if (!ds.length) return h("p.empty", "No documents in this period.");
  return h(
    "div.tablewrap.short",
    h(
      "table.small",
      h("thead", h("tr", h("th", "Document"), h("th", "Day"), h("th", "Plant"), h("th", "Supplier"), h("th.num", kpi.endsWith("_hours") ? "Hours" : "Counted in the rate"), h("th", "Exceptions"))),
      h("tbody", ds.map((d) => {
        const po = String(d.doc).split("/")[0];
        return h("tr",
          h("td.nowrap", exceptions ? h("a", { href: "/queue?q=" + encodeURIComponent(po), title: "Exceptions of " + po }, d.doc) : d.doc),
          h("td.nowrap", day(d.day)),
          h("td", d.plant || "—"),
          h("td", d.supplier || "—"),
          h("td.num", kpi.endsWith("_hours") ? (d.x ?? 0).toFixed(1) : d.den ? (d.num >= d.den ? "yes" : "no") : "—"),
          h("td", (d.exceptions ?? []).length
            ? (d.exceptions ?? []).map((x) => exceptions ? h("a.badge." + x.state, { href: "/exceptions/" + x.id, title: x.rule }, `#${x.id} ${x.state}`) : h("span.badge." + x.state, `${x.rule} ${x.state}`))
            : h("span.muted", "none")));
      })),
    ),
  );
}

function drawTrend(box: HTMLElement, pts: Schemas["KPIPoint"][], unit: string, target: number | undefined, period: [number, number]) {
  clear(box);
  if (!pts.length) {
    box.append(h("p.empty", "No data in this period."));
    return;
  }
  // The period's first and last instants carry no value but draw the
  // target line across the whole period.
  const xs = [period[0], ...pts.map((p) => Date.parse(p.start) / 1000), period[1]];
  const scale = unit === "hours" ? 1 : 100;
  const ys: (number | null)[] = [null, ...pts.map((p) => (p.den ? p.value * scale : null)), null];
  if (xs[1] <= xs[0]) { xs.splice(0, 1); ys.splice(0, 1); }
  if (xs[xs.length - 2] >= xs[xs.length - 1]) { xs.pop(); ys.pop(); }
  const data: uPlot.AlignedData = target === undefined ? [xs, ys] : [xs, ys, xs.map(() => target * scale)];
  const suffix = unit === "hours" ? " h" : "%";
  const series: uPlot.Series[] = [
    { label: "start", value: (_u, v) => (v === null ? "—" : new Date(v * 1000).toISOString().slice(0, 10)) },
    { label: "value", stroke: "#1f5fbf", width: 2, fill: "rgba(31,95,191,0.08)", spanGaps: true, points: { show: pts.length < 60 }, value: (_u, v) => (v === null ? "—" : v.toFixed(1) + suffix) },
  ];
  if (target !== undefined) series.push({ label: "target", stroke: "#a34700", dash: [6, 4], width: 1.5, points: { show: false }, value: (_u, v) => (v === null ? "—" : v.toFixed(1) + suffix) });
  const width = Math.max(320, box.clientWidth || 900);
  new uPlot({
    width, height: 260, series,
    // The x axis is the period asked for, however few buckets have data.
    scales: { x: { time: true, range: () => [xs[0], xs[xs.length - 1]] } },
    axes: [{ stroke: "#3b4652" }, { stroke: "#3b4652", values: (_u, vs) => vs.map((v) => v + suffix), size: 60 }],
  }, data, box);
  // The figures as a table too, for screen readers and copying.
  box.append(h("details.small", h("summary", "Trend as a table"), h("table.small", h("thead", h("tr", h("th", "From"), h("th.num", "Value"), h("th.num", "Count"))),
    h("tbody", pts.map((p) => h("tr", h("td", p.start.slice(0, 10)), h("td.num", p.den ? fmt(p.value, unit) : "—"), h("td.num", String(Math.round(p.den)))))))));
}
