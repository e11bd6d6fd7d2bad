// An exception's detail: what and why, the actions, the document chain, the
// timeline of events and spans, activity, retries and SLA timers.
import { ApiError, get, post } from "../api";
import { ago, clear, day, h, isZero, money, setZone, toast, when } from "../dom";
import { can, zonesOfPlants } from "../state";
import { go, page, render, rerender, setKeys, setLive, showError } from "../shell";
import { badge, segmentLabel, subjectLabel } from "../widgets";
import { retryFlow, retryTable } from "./retries";
import type { Answer, Schemas, Action, RequestOf, Exc, TimelineEntry } from "../types";

export async function renderDetail(id: number) {
  const [d, zones] = await Promise.all([get<Answer<"/api/exceptions/{id}">>("/api/exceptions/" + id), zonesOfPlants()]);
  const x: Exc = d.exception;
  // The exception's times (SLA due, chain, timeline) in its plant's zone.
  const zone = x.plant ? zones.get(x.plant) : undefined;
  setZone(zone);
  const tl = h("section.timeline", { "aria-label": "Timeline" }, h("h2", "Timeline"), h("p.muted", "Loading events and spans…"));
  const canAct = can("POST", "/api/exceptions/:id/actions");
  const actions = h("div.actions", { role: "group", "aria-label": "Actions" });
  const act = async (action: Action["action"], extra: Omit<Action, "action"> = {}) => {
    try {
      await post("/api/exceptions/" + id + "/actions", { action, ...extra } satisfies RequestOf<"/api/exceptions/{id}/actions">, { "If-Match": `"${x.version}"` });
      const past: Record<string, string> = { acknowledge: "acknowledged", assign: "assigned", snooze: "snoozed for 4 hours", resolve: "resolved", ignore: "ignored", reopen: "reopened" };
      toast(`Exception ${id} ${past[action] ?? action}`);
      render();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        const cur = e.current as Exc;
        toast(`Someone changed this exception (now ${cur?.state}, assigned to ${cur?.assignee || "nobody"}). Showing the current state; try again.`, "error");
        render();
        return;
      }
      showError(e);
    }
  };
  const assignInput = h("input", { id: "assignee", placeholder: "login or me", size: 12, value: "" }) as HTMLInputElement;
  const reason = h("input", { id: "reason", placeholder: "reason (required to resolve)", size: 28 }) as HTMLInputElement;
  if (canAct) {
    const active = x.state === "open" || x.state === "acknowledged";
    clear(
      actions,
      x.state === "open" ? h("button.primary", { onclick: () => act("acknowledge") }, "Acknowledge") : null,
      h("span.inline", h("label.sr", { for: "assignee" }, "Assignee"), assignInput, h("button", { onclick: () => act("assign", { assignee: assignInput.value.trim() || "me" }) }, "Assign")),
      active ? h("button", { onclick: () => act("snooze", { for: "4h" }) }, "Snooze 4h") : null,
      active ? h("span.inline", h("label.sr", { for: "reason" }, "Reason"), reason, h("button.primary", { onclick: () => {
        if (!reason.value.trim()) {
          reason.focus();
          toast("Give a reason to resolve", "error");
          return;
        }
        act("resolve", { reason: reason.value.trim() });
      } }, "Resolve"), h("button", { onclick: () => act("ignore", { reason: reason.value.trim() }) }, "Ignore")) : h("button", { onclick: () => act("reopen") }, "Reopen"),
      x.subject.startsWith("message/") && can("POST", "/api/retries") ? h("button", { onclick: () => retryFlow([id]) }, "Retry delivery…") : null,
    );
  }
  const comment = h("textarea", { id: "comment", rows: 2, placeholder: "Add a comment", "aria-label": "Comment" }) as HTMLTextAreaElement;
  const rule = d.rule ?? {};
  page(
    "/queue",
    h("p.crumbs", h("a", { href: "/queue" }, "← Queue")),
    h(
      "div.pagehead",
      h("h1", h("span.prio.p" + x.priority, "P" + x.priority), " ", x.title),
      badge(x.severity, x.severity),
      badge(x.state, x.state),
      isZero(x.snoozed_until) ? null : badge("snoozed", "snoozed until " + when(x.snoozed_until)),
      zone ? h("span.muted.small", `times in ${zone} (plant ${x.plant})`) : null,
    ),
    h("p.lead", x.message),
    actions,
    h(
      "div.grid",
      h(
        "section",
        { "aria-label": "What and why" },
        h("h2", "What and why"),
        h(
          "dl.facts",
          h("dt", "Subject"), h("dd", subjectLabel(x)),
          h("dt", "Plant"), h("dd", x.plant ? h("a", { href: "/plants/" + x.plant }, x.plant) : "—"),
          h("dt", "Supplier"), h("dd", x.supplier ? h("a", { href: "/suppliers/" + x.supplier }, x.supplier) : "—"),
          h("dt", "Need by"), h("dd", isZero(x.need_by) ? "—" : day(x.need_by)),
          h("dt", "Value at risk"), h("dd", money(x.value_at_risk, x.currency)),
          h("dt", "Team"), h("dd", x.team || "—"),
          h("dt", "Assignee"), h("dd", x.assignee || "nobody"),
          h("dt", "Seen"), h("dd", `${x.occurrences}× · first ${when(x.first_seen)} · last ${ago(x.last_seen)}`),
          isZero(x.sla_due_at) ? null : [h("dt", "SLA due"), h("dd", when(x.sla_due_at) + " (" + ago(x.sla_due_at) + ")")],
          x.resolution ? [h("dt", "Resolution"), h("dd", x.resolution)] : null,
          h("dt", "Rule"), h("dd", h("code", rule.id ?? x.rule), rule.kind ? " · " + rule.kind : "", rule.segment ? [" · ", segmentLabel(rule.segment)] : "", rule.description ? h("div.muted", rule.description) : null),
        ),
        rule.conditions && Object.keys(rule.conditions).length
          ? h("details", h("summary", "Rule conditions (thresholds)"), h("dl.code", Object.entries(rule.conditions).map(([k, v]) => [h("dt", k), h("dd", h("code", String(v)))])))
          : null,
        d.delivery ? deliveryBox(d.delivery) : null,
      ),
      h("section", { "aria-label": "Document chain" }, h("h2", "Document chain", d.chain?.po ? " · PO " + d.chain.po : ""), chainView(d.chain)),
    ),
    tl,
    h(
      "div.grid",
      h(
        "section",
        { "aria-label": "Activity" },
        h("h2", "Activity"),
        h(
          "ol.activity",
          d.activity.map((a) =>
            h("li", h("time", { datetime: a.at, title: when(a.at) }, ago(a.at)), " ", h("strong", a.actor.name), h("span.muted", ` (${a.actor.kind}) `), a.action, a.from_state || a.to_state ? ` ${a.from_state || "∅"} → ${a.to_state}` : "", a.note ? h("div.note", a.note) : null),
          ),
        ),
        can("POST", "/api/exceptions/:id/comments")
          ? h(
              "form.comment",
              { onsubmit: async (e: Event) => {
                e.preventDefault();
                if (!comment.value.trim()) return;
                await post("/api/exceptions/" + id + "/comments", { note: comment.value } satisfies RequestOf<"/api/exceptions/{id}/comments">).then(() => render()).catch(showError);
              } },
              comment,
              h("button", { type: "submit" }, "Comment"),
            )
          : null,
      ),
      h(
        "section",
        { "aria-label": "Retries and timers" },
        h("h2", "Retries"),
        d.retries.length ? retryTable(d.retries) : h("p.muted", "No retries."),
        h("h2", "SLA timers"),
        d.timers.length
          ? h("ul.plain", d.timers.map((t) => h("li", h("code", t.sla), ` ${t.subject} · ${t.state} · due ${when(t.due_at)}`)))
          : h("p.muted", "No SLA timers on this document."),
      ),
    ),
  );
  setLive((ev) => {
    if (ev.exception_id === id && ev.exception?.version !== x.version) {
      toast("This exception changed — showing the latest.");
      rerender();
    }
  });
  setKeys((e) => {
    if (e.key === "Escape" || e.key === "u") go("/queue");
  });
  try {
    const t = await get<Answer<"/api/exceptions/{id}/timeline">>("/api/exceptions/" + id + "/timeline");
    clear(tl, h("h2", "Timeline", h("span.muted", ` · documents ${(t.documents ?? []).join(", ")} and their correlation ids`)), timelineView(t.entries ?? []));
  } catch (e) {
    clear(tl, h("h2", "Timeline"), h("p.error", e instanceof Error ? e.message : String(e)));
  }
}

export function deliveryBox(fd: Schemas["FailedDelivery"]) {
  const d = fd.delivery;
  return h(
    "div.delivery",
    h("h3", "Failed delivery"),
    h("dl.facts", h("dt", "Target"), h("dd", d.target), h("dt", "Document"), h("dd", d.document_type || "—"), h("dt", "Error"), h("dd", `${d.error_class || "?"}: ${d.error || ""}${d.http_status ? " (HTTP " + d.http_status + ")" : ""}`), h("dt", "Attempt"), h("dd", String(d.attempt || "—")), h("dt", "Idempotency key"), h("dd", h("code", d.idempotency_key || d.message_id))),
  );
}

export function chainView(ch: Answer<"/api/exceptions/{id}">["chain"]) {
  if (!ch) return h("p.muted", "No order is linked to this exception.");
  const names: Record<string, string> = { po: "Purchase order", acknowledgement: "Acknowledgement", changes: "Changes", asn: "Ship notice (ASN)", receipt: "Goods receipt", quality: "Quality", invoice: "Invoice" };
  return h(
    "ol.chain",
    ch.steps.map((s) =>
      h(
        "li.step." + s.status,
        h("span.dot", { "aria-hidden": "true" }),
        h("div", h("strong", names[s.step] ?? s.step), " ", badge(s.status, s.status === "due" && !isZero(s.due) ? "due " + day(s.due) : s.status), ch.next === s.step ? h("span.next", "next") : null, h("div.muted", s.detail), !isZero(s.at) ? h("div.muted.small", when(s.at)) : null),
      ),
    ),
  );
}

export function timelineView(entries: TimelineEntry[]) {
  if (!entries.length) return h("p.muted", "No events or spans recorded for these documents.");
  return h(
    "div.tablewrap",
    h(
      "table.tl",
      h("thead", h("tr", h("th", "When"), h("th", "What"), h("th", "System"), h("th", "Document"), h("th", "Correlation"), h("th", "Detail"))),
      h(
        "tbody",
        entries.map((e) =>
          h(
            "tr." + e.kind + (e.status === "error" || e.type === "message.failed" ? ".bad" : ""),
            h("td.nowrap", { title: e.at }, when(e.at)),
            h("td", e.kind === "span" ? h("span.badge.span", "span") : null, " ", h("code", e.type)),
            h("td", e.source),
            h("td.nowrap", e.document_id || "—"),
            h("td.nowrap", h("code.small", e.correlation_id || "—")),
            h("td.detail", e.kind === "span" ? `${(e.duration_ms ?? 0).toFixed(0)} ms · ${e.status}${e.message ? ": " + e.message : ""}` : h("code.small", (e.data || "").slice(0, 160))),
          ),
        ),
      ),
    ),
  );
}

