// Systemic incidents: one rule, one supplier, many documents.
import { get, post } from "../api";
import { ago, h, money, toast } from "../dom";
import { ask, confirmed } from "../ui";
import { can } from "../state";
import { page, render, showError } from "../shell";
import type { Answer, Schemas, Action, RequestOf, VaR } from "../types";

export async function renderGroups() {
  const [d, risk] = await Promise.all([get<Answer<"/api/groups">>("/api/groups"), get<VaR>("/api/value-at-risk?by=group")]);
  const byGroup = new Map<string, VaR["currencies"]>();
  for (const c of risk.currencies) byGroup.set(c.group ?? "", [...(byGroup.get(c.group ?? "") ?? []), c]);
  page(
    "/groups",
    h("div.pagehead", h("h1", "Systemic incidents"), h("span.muted", "one rule, one supplier, many documents · most open exceptions first")),
    d.groups.length
      ? h(
          "div.tablewrap",
          h(
            "table",
            h("thead", h("tr", h("th", "Top P"), h("th", "Incident"), h("th", "Supplier"), h("th", "Open"), h("th", "Plants"), h("th", "Value at risk"), h("th", "Last seen"), h("th", h("span.sr", "Actions")))),
            h(
              "tbody",
              d.groups.map((g) =>
                h(
                  "tr",
                  h("td", g.top_priority ? h("span.prio.p" + g.top_priority, "P" + g.top_priority) : "—"),
                  h("td.title", h("a", { href: "/queue?group=" + encodeURIComponent(g.group_key) }, g.title || g.rule), h("div.muted.small", h("code", g.rule))),
                  h("td", g.supplier ? h("a", { href: "/suppliers/" + g.supplier }, g.supplier) : "—"),
                  h("td.num", String(g.open_count)),
                  h("td", (g.plants ?? []).join(", ") || "—"),
                  h("td.num", (byGroup.get(g.group_key) ?? []).map((c) => h("div", money(c.amount, c.currency))), byGroup.has(g.group_key) ? null : "—"),
                  h("td", ago(g.last_seen)),
                  h(
                    "td.nowrap",
                    can("POST", "/api/groups/actions") ? [
                      h("button.small", { onclick: () => groupAct(g, "acknowledge") }, "Acknowledge all"),
                      h("button.small", { onclick: async () => { const a = await ask({ title: `Assign all ${g.open_count} of "${g.title || g.rule}" (${g.supplier})`, fields: [{ name: "assignee", label: "Assignee (a login, or me)", value: "me", required: true }], ok: "Assign all" }); if (a) await groupAct(g, "assign", { assignee: a.assignee }, true); } }, "Assign all…"),
                    ] : null,
                  ),
                ),
              ),
            ),
          ),
        )
      : h("p.empty", "No systemic incidents."),
  );
}

export async function groupAct(g: Schemas["Group"], action: Action["action"], extra: Omit<Action, "action"> = {}, asked = false) {
  if (!asked && !(await confirmed(`${action[0].toUpperCase() + action.slice(1)} all ${g.open_count}?`, `${action} all ${g.open_count} active exceptions of "${g.title || g.rule}" (${g.supplier}).`, `${action[0].toUpperCase() + action.slice(1)} all`))) return;
  try {
    const r = await post<Answer<"/api/groups/actions", "post">>("/api/groups/actions", { group: g.group_key, action, ...extra } satisfies RequestOf<"/api/groups/actions">);
    const ok = r.results.filter((x) => x.ok).length;
    toast(`${ok} of ${r.results.length} done` + (ok < r.results.length ? " (the others were in a state that does not allow it)" : ""));
    render();
  } catch (e) {
    showError(e);
  }
}

