// Operations (on-call): throughput, rejects, latency, breaches, deliveries.
import { get } from "../api";
import { ago, h, when } from "../dom";
import { can } from "../state";
import { page } from "../shell";
import { dur, kpi } from "../widgets";
import type { Answer } from "../types";

export async function renderOps(params: URLSearchParams) {
  const window = params.get("window") || "24h";
  const o = await get<Answer<"/api/operations">>("/api/operations?window=" + encodeURIComponent(window));
  const table = (head: string[], rows: (string | Node)[][], empty: string) =>
    rows.length
      ? h("div.tablewrap.short", h("table.small", h("thead", h("tr", head.map((x, i) => h(i === 0 ? "th" : "th.num", x)))), h("tbody", rows.map((r) => h("tr", r.map((c, i) => h(i === 0 || typeof c !== "string" ? "td" : "td.num", c)))))))
      : h("p.empty", empty);
  const n = (v: number) => Math.round(v).toLocaleString("en");
  const lat = o.ingest_latency;
  const lag = (o.metrics ?? []).filter((m) => m.name === "supplywatch_consumer_lag");
  const alerts = (o.metrics ?? []).filter((m) => m.name.startsWith("supplywatch_alerts_"));
  const ingest = (o.metrics ?? []).filter((m) => m.name.startsWith("supplywatch_ingest_") || m.name.startsWith("supplywatch_writer_"));
  const metricRows = (ms: NonNullable<Answer<"/api/operations">["metrics"]>) => ms.map((m) => [h("span", h("code.small", m.name), m.labels ? h("span.muted.small", " " + Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(" ")) : null), n(m.value)]);
  const failedTotal = o.deliveries.reduce((a, t) => a + t.failed, 0);
  const deliveredTotal = o.deliveries.reduce((a, t) => a + t.delivered, 0);
  page(
    "/ops",
    h(
      "div.pagehead",
      h("h1", "Operations"),
      h("div.seg", { role: "group", "aria-label": "Window" }, ["1h", "24h", "168h"].map((w) => h("a.button.small", { href: "/ops?window=" + w, "aria-current": w === window ? "true" : undefined }, w === "168h" ? "7 days" : w))),
      h("span.muted", `${when(o.from)} – ${when(o.to)}`),
    ),
    h(
      "div.kpis",
      kpi("Events stored", n(o.throughput.reduce((a, t) => a + t.events, 0))),
      kpi("Rejected to dead letter", n(o.rejects.reduce((a, r) => a + r.count, 0))),
      kpi("Ingest → queryable p95", lat ? dur(lat.p95_ms) : "—"),
      kpi("Consumer lag", lag.length ? n(lag.reduce((a, m) => a + m.value, 0)) : "—"),
      kpi("SLA breaches", n(o.sla_breaches.reduce((a, r) => a + r.count, 0))),
      kpi("Delivery failures", deliveredTotal + failedTotal ? `${n(failedTotal)} (${((failedTotal / (deliveredTotal + failedTotal)) * 100).toFixed(1)}%)` : "—"),
    ),
    h("div.grid",
      h("section", h("h2", "Throughput by source and partner"), table(["Source", "Partner", "Events"], o.throughput.map((t) => [t.source || "—", t.supplier || "—", n(t.events)]), "No events in this window.")),
      h("section", h("h2", "Rejects and dead letters by reason"), table(["Reason", "Field", "Channel", "Count", "Last"], o.rejects.map((r) => [r.reason, r.field || "—", r.channel, n(r.count), ago(r.last)]), "Nothing rejected in this window."),
        can("GET", "/api/deadletter") ? h("p", h("a", { href: "/deadletter" }, "Open the dead letter")) : null),
    ),
    h("div.grid",
      h("section", h("h2", "Ingest → queryable latency"), lat
        ? h("dl.facts", h("dt", "Events"), h("dd", n(lat.events)), h("dt", "p50"), h("dd", dur(lat.p50_ms)), h("dt", "p95"), h("dd", dur(lat.p95_ms)), h("dt", "p99"), h("dd", dur(lat.p99_ms)), h("dt", "max"), h("dd", dur(lat.max_ms)))
        : h("p.empty", "No events in this window."),
        h("h2", "Consumer lag"), lag.length ? table(["Group and topic", "Messages behind"], metricRows(lag), "") : h("p.muted", "This process reads no Kafka topic (the lag is a metric of the collector processes).")),
      h("section", h("h2", "SLA breaches by rule"), table(["Rule", "Opened"], o.sla_breaches.map((r) => [h("code", r.rule), n(r.count)]), "No SLA breaches in this window."),
        h("h2", "Deliveries by target system"), table(["Target", "Delivered", "Failed"], o.deliveries.map((t) => [t.target, n(t.delivered), n(t.failed)]), "No deliveries in this window.")),
    ),
    h("section", h("h2", "Alert deliveries and ingest counters of this process"), alerts.length + ingest.length ? table(["Metric", "Value"], metricRows([...alerts, ...ingest]), "") : h("p.muted", "No such metrics in this process.")),
  );
}

// auditDetail shows an audit entry's detail as "key value" pairs (nested
