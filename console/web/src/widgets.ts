// Small pieces several views show: badges, labels, KPI tiles, value at
// risk, durations.
import { h, money } from "./dom";
import type { Exc, VaR } from "./types";

export const sevOrder = ["critical", "high", "medium", "low"];

export function badge(kind: string, text: string) {
  return h("span.badge." + kind.replace(/[^a-z_-]/g, ""), text);
}

export function subjectLabel(x: Exc) {
  const [kind, id, line] = x.subject.split("/");
  const names: Record<string, string> = { po: "PO", invoice: "Invoice", asn: "ASN", message: "Message", supplier: "Supplier" };
  return `${names[kind] ?? kind} ${id}${line ? " / " + line : ""}`;
}

export function kpi(label: string, value: string) {
  return h("div.kpi", h("div.big", value), h("div.muted", label));
}

// varList shows value at risk per currency, and the converted total with
// the rates' date: amounts of different currencies are never added up.
export function varList(r: VaR) {
  if (!r.currencies.length) return h("p.muted", "No value at risk.");
  return h(
    "div",
    h("div.kpis", r.currencies.map((c) => kpi(`${c.currency} · ${c.exceptions} exception${c.exceptions === 1 ? "" : "s"}`, money(c.amount, c.currency)))),
    r.reporting
      ? h("p.muted", `≈ ${money(r.reporting.amount, r.reporting.currency)} in ${r.reporting.currency} at the rates of ${r.reporting.rates_date}` +
          (r.reporting.unconverted?.length ? ` (not counting ${r.reporting.unconverted.join(", ")}: no rate configured)` : ""))
      : null,
  );
}

// segmentLabel shows "pilot" or "!pilot" (every supplier outside pilot).
export function segmentLabel(seg: string): string {
  return seg.startsWith("!") ? `all but segment ${seg.slice(1)}` : `segment ${seg}`;
}

// dur shows milliseconds in the unit a reader takes in at a glance.
export function dur(ms: number): string {
  if (ms < 1000) return ms.toFixed(0) + " ms";
  if (ms < 60_000) return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1) + " s";
  if (ms < 3_600_000) return (ms / 60_000).toFixed(1) + " min";
  return (ms / 3_600_000).toFixed(1) + " h";
}

