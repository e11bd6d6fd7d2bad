// Exception KPIs and value at risk of the caller's scope.
import { get } from "../api";
import { h } from "../dom";
import { page } from "../shell";
import { kpi, varList } from "../widgets";
import type { Answer, VaR } from "../types";

export async function renderKPIs() {
  const [k, risk] = await Promise.all([get<Answer<"/api/kpis">>("/api/kpis"), get<VaR>("/api/value-at-risk")]);
  page(
    "/kpis",
    h("h1", "Exception KPIs"),
    h(
      "div.kpis",
      kpi("Active exceptions", String(k.active)),
      kpi("Open (not acknowledged)", String(k.open)),
      kpi("Critical", String(k.critical)),
      kpi("Priority 1", String(k.priority_1)),
      kpi("Resolved, 7 days", String(k.resolved_7d)),
      kpi("Time to resolve p50", k.resolve_hours_p50_30d.toFixed(1) + " h"),
      kpi("Time to resolve p90", k.resolve_hours_p90_30d.toFixed(1) + " h"),
    ),
    h("h2", "Value at risk in active exceptions"),
    varList(risk),
  );
}

