// Plant boards: the picker and one plant's inbound.
import { get } from "../api";
import { day, h, isZero, setZone } from "../dom";
import { go, page } from "../shell";
import { badge } from "../widgets";
import type { Answer, BoardLine } from "../types";

export async function renderBoard(plant: string, params: URLSearchParams) {
  const qs = params.get("from") ? "?from=" + params.get("from") : "";
  const [b, pl] = await Promise.all([
    get<Answer<"/api/plants/{plant}/inbound">>("/api/plants/" + encodeURIComponent(plant) + "/inbound" + qs),
    get<Answer<"/api/plants">>("/api/plants").catch((): Answer<"/api/plants"> => ({ plants: [] })),
  ]);
  const zone = pl.plants.find((p) => p.plant === plant)?.time_zone;
  setZone(zone);
  const plants = pl.plants.map((p) => p.plant);
  if (!plants.includes(plant)) plants.unshift(plant);
  const lineRow = (l: BoardLine) =>
    h(
      "tr" + (l.at_risk ? ".risk" : ""),
      h("td.nowrap", day(l.expected_at)),
      h("td.nowrap", h("a", { href: "/queue?q=" + l.po }, l.po), " / " + l.line),
      h("td", l.item),
      h("td", h("a", { href: "/suppliers/" + l.supplier }, l.supplier)),
      h("td.num", `${l.received} / ${l.quantity} ${l.unit}`, l.shipped && !l.received ? h("div.muted.small", `${l.shipped} shipped`) : null),
      h("td", badge(l.status, l.status.replace("_", " ")), l.on_hold ? badge("hold", "quality hold") : null),
      h("td.nowrap", isZero(l.arrival) ? "—" : day(l.arrival)),
      h("td", l.at_risk ? h("strong.risktext", "⚠ " + l.why) : ""),
    );
  const table = (ls: BoardLine[], empty: string) =>
    ls.length
      ? h("div.tablewrap", h("table", h("thead", h("tr", h("th", "Expected"), h("th", "PO / line"), h("th", "Item"), h("th", "Supplier"), h("th", "Received / ordered"), h("th", "Status"), h("th", "Arrival"), h("th", "Production impact"))), h("tbody", ls.map(lineRow))))
      : h("p.empty", empty);
  page(
    "/plants",
    h(
      "div.pagehead",
      h("h1", "Inbound · plant ", plant),
      plants.length > 1 ? h("select", { "aria-label": "Plant", onchange: (e: Event) => go("/plants/" + (e.target as HTMLSelectElement).value) }, plants.map((p) => h("option", { value: p, selected: p === plant ? true : undefined }, p))) : null,
      h("span.muted", "from " + day(b.from) + (zone ? " · times in " + zone : "")),
    ),
    h(
      "div.days",
      b.days.map((d) =>
        h(
          "div.day" + (d.at_risk ? ".risk" : ""),
          h("h3", day(d.date + "T12:00:00Z")),
          h("div.big", String(d.expected), h("span.muted.small", " expected")),
          h("ul.plain.small", h("li", `ASN received ${d.asn_received}`), h("li" + (d.asn_missing ? ".bad" : ""), `ASN missing ${d.asn_missing}`), h("li", `in transit ${d.in_transit}`), h("li", `received ${d.received}`), h("li" + (d.quality_holds ? ".bad" : ""), `quality holds ${d.quality_holds}`)),
          d.at_risk ? h("div.risktext", `⚠ ${d.at_risk} will hit production`) : null,
        ),
      ),
    ),
    h("h2", `Overdue (${b.overdue.length})`),
    table(b.overdue, "Nothing overdue."),
    h("h2", "Expected this week"),
    table(b.lines, "No deliveries expected in this window."),
  );
}

export async function renderPlantPicker() {
  const d = await get<Answer<"/api/plants">>("/api/plants");
  if (d.plants.length === 1) return go("/plants/" + encodeURIComponent(d.plants[0].plant), true);
  page(
    "/plants",
    h("h1", "Plant boards"),
    d.plants.length
      ? h("ul.plain.pick", d.plants.map((p) => h("li", h("a.button", { href: "/plants/" + encodeURIComponent(p.plant) }, p.plant), p.time_zone ? h("span.muted.small", " " + p.time_zone) : null)))
      : h("p.empty", "No plant has events yet."),
  );
}

