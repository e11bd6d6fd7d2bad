// Routing and teams (admin of where new exceptions go).
import { del, get, post } from "../api";
import { h, toast } from "../dom";
import { confirmed } from "../ui";
import { can } from "../state";
import { page, render, showError } from "../shell";
import { segmentLabel, sevOrder } from "../widgets";
import type { Answer, RequestOf } from "../types";

export async function renderRouting() {
  const [teams, rules] = await Promise.all([get<Answer<"/api/teams">>("/api/teams"), get<Answer<"/api/routing/rules">>("/api/routing/rules")]);
  const canEdit = can("POST", "/api/routing/rules");
  const f = (id: string, label: string, attrs: Record<string, any> = {}) => h("div.field", h("label", { for: id }, label), h("input", { id, name: id, size: 10, ...attrs }));
  const teamForm = h(
    "form.inline",
    { onsubmit: async (e: Event) => {
      e.preventDefault();
      const fd = new FormData(e.target as HTMLFormElement);
      const members = String(fd.get("t-members") || "").split(",").map((s) => s.trim()).filter(Boolean);
      await post("/api/teams", { name: String(fd.get("t-name")), queue: String(fd.get("t-queue")), default_assignee: String(fd.get("t-default")), members } satisfies RequestOf<"/api/teams">).then(() => { toast("Team saved"); render(); }).catch(showError);
    } },
    f("t-name", "Team", { required: true }),
    f("t-queue", "Queue"),
    f("t-members", "Members (comma)", { size: 18 }),
    f("t-default", "Default assignee"),
    h("button", { type: "submit" }, "Add team"),
  );
  const ruleForm = h(
    "form.inline",
    { onsubmit: async (e: Event) => {
      e.preventDefault();
      const fd = new FormData(e.target as HTMLFormElement);
      const v = (k: string) => String(fd.get(k) || "").trim();
      await post("/api/routing/rules", { position: Number(v("r-pos") || 100), rule: v("r-rule"), plant: v("r-plant"), supplier: v("r-supplier"), segment: v("r-segment"), severity: v("r-sev"), team: v("r-team"), assignee: v("r-assignee") } satisfies RequestOf<"/api/routing/rules">)
        .then(() => { toast("Routing rule added"); render(); })
        .catch(showError);
    } },
    f("r-pos", "Position", { type: "number", value: "100", size: 4 }),
    f("r-rule", "Rule"),
    f("r-plant", "Plant", { size: 5 }),
    f("r-supplier", "Supplier", { size: 6 }),
    f("r-segment", "Segment (or !segment)", { size: 8 }),
    h("div.field", h("label", { for: "r-sev" }, "Severity"), h("select", { id: "r-sev", name: "r-sev" }, ["", ...sevOrder].map((s) => h("option", { value: s }, s || "any")))),
    f("r-team", "→ Team", { required: true }),
    f("r-assignee", "Assignee"),
    h("button", { type: "submit" }, "Add rule"),
  );
  page(
    "/routing",
    h("h1", "Routing"),
    h("p.muted", "New exceptions go to the team of the first matching rule (lowest position), and to its assignee or the team's default assignee. Empty fields match anything. Changes are audited."),
    h("h2", "Routing rules"),
    h(
      "table",
      h("thead", h("tr", h("th", "Pos"), h("th", "Rule"), h("th", "Plant"), h("th", "Supplier"), h("th", "Segment"), h("th", "Severity"), h("th", "Team"), h("th", "Assignee"), h("th", "By"), h("th", h("span.sr", "Delete")))),
      h(
        "tbody",
        rules.rules.length
          ? rules.rules.map((r) => h("tr", h("td", String(r.position)), h("td", r.rule || "any"), h("td", r.plant || "any"), h("td", r.supplier || "any"), h("td", r.segment ? segmentLabel(r.segment) : "any"), h("td", r.severity || "any"), h("td", h("strong", r.team)), h("td", r.assignee || "team default"), h("td.muted", r.created_by),
            h("td", canEdit ? h("button.link", { "aria-label": "Delete routing rule " + r.id, onclick: async () => { if (await confirmed("Delete this routing rule?", `Rule ${r.position}: ${r.rule || "any rule"} → ${r.team}. New exceptions stop being routed by it.`, "Delete", true)) { await del("/api/routing/rules/" + r.id).catch(showError); render(); } } }, "Delete") : null)))
          : h("tr", h("td.empty", { colspan: "10" }, "No routing rules: exceptions keep the team their rule names.")),
      ),
    ),
    canEdit ? ruleForm : null,
    h("h2", "Teams"),
    h(
      "table",
      h("thead", h("tr", h("th", "Team"), h("th", "Queue"), h("th", "Members"), h("th", "Default assignee"))),
      h("tbody", teams.teams.length ? teams.teams.map((t) => h("tr", h("td", h("strong", t.name)), h("td", t.queue || "—"), h("td", (t.members ?? []).join(", ") || "—"), h("td", t.default_assignee || "—"))) : h("tr", h("td.empty", { colspan: "4" }, "No teams yet."))),
    ),
    canEdit ? teamForm : null,
  );
}

