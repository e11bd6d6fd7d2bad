// The rules and SLAs in force and the supplier segments they cover.
// segmentLabel shows "pilot" or "!pilot" (every supplier outside pilot).
import { get } from "../api";
import { h } from "../dom";
import { page } from "../shell";
import type { Answer } from "../types";

export function segmentLabel(seg: string): string {
  return seg.startsWith("!") ? `all but segment ${seg.slice(1)}` : `segment ${seg}`;
}

export async function renderRules() {
  const r = await get<Answer<"/api/rules">>("/api/rules");
  page(
    "/rules",
    h("h1", "Rules"),
    h("p.muted", "The rules and SLAs in force and the suppliers each covers. A rule with a segment raises (an SLA starts timers) only for the suppliers of that segment, or of all others; evidence still resolves for everyone. See docs/rules.md for the rollout from a pilot segment to everyone."),
    h(
      "table",
      h("thead", h("tr", h("th", "Rule"), h("th", "Kind"), h("th", "Title"), h("th", "Severity"), h("th", "Team"), h("th", "Suppliers covered"))),
      h(
        "tbody",
        r.rules.length
          ? r.rules.map((x) => h("tr", { "data-rule": x.id }, h("td", h("code", x.id)), h("td", x.kind), h("td", x.title), h("td", x.severity || "—"), h("td", x.team || "—"), h("td.segment", x.segment ? segmentLabel(x.segment) : "all suppliers")))
          : h("tr", h("td.empty", { colspan: "6" }, "No rules loaded.")),
      ),
    ),
    h("h2", "Segments"),
    h(
      "table",
      h("thead", h("tr", h("th", "Segment"), h("th", "Members"), h("th", "Description"))),
      h(
        "tbody",
        r.segments.length
          ? r.segments.map((s) => h("tr", { "data-segment": s.name }, h("td", h("strong", s.name)), h("td", s.where ? h("code", s.where) : (s.suppliers ?? []).join(", ")), h("td", s.description || "—")))
          : h("tr", h("td.empty", { colspan: "3" }, "No segments defined: every rule covers every supplier.")),
      ),
    ),
  );
}

