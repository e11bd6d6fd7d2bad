// One supplier: open orders, response times and exceptions.
import { get } from "../api";
import { h, isZero, money, when } from "../dom";
import { zonesOfPlants } from "../state";
import { page } from "../shell";
import { kpi, subjectLabel } from "../widgets";
import type { Answer, Exc } from "../types";

export async function renderSupplier(id: string) {
  const [s, zones] = await Promise.all([get<Answer<"/api/suppliers/{supplier}">>("/api/suppliers/" + encodeURIComponent(id)), zonesOfPlants()]);
  page(
    "/suppliers",
    h("div.pagehead", h("h1", "Supplier ", id)),
    h(
      "div.kpis",
      kpi("Open orders", String((s.open_orders ?? []).length)),
      kpi("Unacknowledged", String(s.unacknowledged)),
      kpi("Ack time p50", s.acknowledged_orders ? s.ack_hours_p50.toFixed(1) + " h" : "—"),
      kpi("Ack time p90", s.acknowledged_orders ? s.ack_hours_p90.toFixed(1) + " h" : "—"),
      kpi("Open exceptions", String(s.exceptions.length)),
    ),
    h("h2", "Exceptions"),
    s.exceptions.length
      ? h("ul.plain", s.exceptions.map((x: Exc) => h("li", h("span.prio.p" + x.priority, "P" + x.priority), " ", h("a", { href: "/exceptions/" + x.id }, x.title), h("span.muted", ` · ${subjectLabel(x)} · ${x.state}`))))
      : h("p.muted", "None."),
    h("h2", "Open orders"),
    h(
      "div.tablewrap",
      h(
        "table",
        h("thead", h("tr", h("th", "PO"), h("th", "Plant"), h("th", "Version"), h("th", "Released"), h("th", "Acknowledged"), h("th", "Received"), h("th", "Value"))),
        h("tbody", (s.open_orders ?? []).map((o) => h("tr", h("td", h("a", { href: "/queue?q=" + o.po }, o.po)), h("td", o.plant), h("td", String(o.version)), h("td", when(o.released_at, zones.get(o.plant))), h("td", isZero(o.acked_at) ? h("span.bad", "not yet") : when(o.acked_at, zones.get(o.plant)) + (o.acked_version < o.version ? ` (v${o.acked_version})` : "")), h("td.num", `${o.received} / ${o.quantity}`), h("td.num", money(o.value, o.currency))))),
      ),
    ),
  );
}

