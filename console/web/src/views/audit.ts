// The audit log (admin).
import { get } from "../api";
import { h, when } from "../dom";
import { go, page } from "../shell";
import type { Answer } from "../types";

export async function renderAudit(params: URLSearchParams) {
  const d = await get<Answer<"/api/audit">>("/api/audit");
  const f = (params.get("q") ?? "").toLowerCase();
  const es = f ? d.entries.filter((e) => [e.actor, e.action, e.target, e.remote_addr].some((x) => String(x ?? "").toLowerCase().includes(f))) : d.entries;
  const search = h("input", { type: "search", id: "audit-q", value: params.get("q") ?? "", placeholder: "actor, action, target or address", "aria-label": "Filter the audit log", size: 30 }) as HTMLInputElement;
  page(
    "/audit",
    h("div.pagehead", h("h1", "Audit log"), h("span.muted", `the latest ${d.entries.length} changes`)),
    h("form.inline", { onsubmit: (e: Event) => { e.preventDefault(); go("/audit" + (search.value.trim() ? "?q=" + encodeURIComponent(search.value.trim()) : "")); } }, search, h("button", { type: "submit" }, "Filter")),
    es.length
      ? h("div.tablewrap", h("table.small", h("thead", h("tr", h("th", "When"), h("th", "Who"), h("th", "Action"), h("th", "Target"), h("th", "Detail"), h("th", "From"))),
          h("tbody", es.map((e) => h("tr",
            h("td.nowrap", { title: e.at }, when(e.at)),
            h("td", h("strong", e.actor), h("div.muted.small", e.actor_kind)),
            h("td", h("code", e.action)),
            h("td", e.target ? (e.target.startsWith("exception/") ? h("a", { href: "/exceptions/" + e.target.slice(10) }, e.target) : e.target) : "—"),
            h("td.detail", auditDetail(e.detail)),
            h("td.small", e.remote_addr, h("div.muted", (e.user_agent ?? "").slice(0, 40))))))))
      : h("p.empty", f ? "No entry matches." : "Nothing audited yet."),
  );
}

// auditDetail shows an audit entry's detail as "key value" pairs (nested
// values as JSON), leaving out empty ones; the full JSON is the title.
export function auditDetail(d: unknown) {
  if (d === null || d === undefined) return "—";
  if (typeof d !== "object" || Array.isArray(d)) return h("code.small", JSON.stringify(d).slice(0, 200));
  const pairs = Object.entries(d as Record<string, unknown>).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  if (!pairs.length) return "—";
  return h("span.small", { title: JSON.stringify(d) }, pairs.map(([k, v], i) => [i ? " · " : "", h("span.muted", k.replace(/_/g, " ") + " "), typeof v === "object" ? JSON.stringify(v).slice(0, 120) : String(v)]));
}

