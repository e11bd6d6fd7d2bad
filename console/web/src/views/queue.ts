// The exception queue: filters and search (in the URL), saved views, keyboard
// navigation, bulk actions, live updates and KPI drill-downs.
import { del, get, post } from "../api";
import { ago, clear, day, h, isZero, money, toast, when } from "../dom";
import { ask } from "../ui";
import { can } from "../state";
import { go, page, render, rerender, setKeys, setLive, showError } from "../shell";
import { badge, sevOrder, subjectLabel } from "../widgets";
import type { Answer, Action, RequestOf, Exc, Drill } from "../types";

// drillNote says which documents the queue holds and leads back to the
// figure or to the whole queue.
export function drillNote(d: Drill, params: URLSearchParams) {
  const back = new URLSearchParams({ kpi: d.kpi, from: d.from, to: d.to });
  if (d.plant) back.set("plant", d.plant);
  if (d.supplier) back.set("supplier", d.supplier);
  const rest = new URLSearchParams(params);
  for (const k of ["kpi", "from", "to", "docs"]) rest.delete(k);
  const last = new Date(Date.parse(d.to) - 86400000).toISOString().slice(0, 10);
  return h(
    "p.drill",
    { role: "status" },
    `Exceptions about the ${d.documents.toLocaleString("en")} document${d.documents === 1 ? "" : "s"} ${d.docs === "missed" ? "that missed" : "behind"} ${d.kpi.replace(/_/g, " ")}, ${d.from} to ${last}${d.plant ? ", plant " + d.plant : ""}${d.supplier ? ", supplier " + d.supplier : ""}. `,
    h("a", { href: "/dashboard?" + back.toString() }, "Back to the figure"),
    " · ",
    h("a", { href: "/queue?" + rest.toString() }, "Whole queue"),
  );
}

export async function renderQueue(params: URLSearchParams) {
  const filters: [string, string, string[] | null][] = [
    ["state", "State", ["", "open", "acknowledged", "resolved", "ignored", "open,acknowledged"]],
    ["severity", "Severity", ["", ...sevOrder]],
    ["plant", "Plant", null],
    ["supplier", "Supplier", null],
    ["rule", "Rule", null],
    ["team", "Team", null],
    ["assignee", "Assignee", null],
    ["age", "Older than", ["", "1h", "4h", "1d", "3d", "7d"]],
    ["sla_due", "SLA due within", ["", "4h", "1d", "3d"]],
  ];
  const qs = new URLSearchParams(params);
  qs.set("limit", "50");
  const [data, views] = await Promise.all([
    get<Answer<"/api/exceptions">>("/api/exceptions?" + qs.toString()),
    get<Answer<"/api/views">>("/api/views"),
  ]);
  let items = data.items;
  let next = data.next_cursor;
  let sel = 0;
  const checked = new Set<number>();
  const setParam = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v);
    else p.delete(k);
    go("/queue?" + p.toString());
  };
  const search = h("input", { type: "search", id: "q", placeholder: "PO, ASN, invoice, message no. or correlation id", value: params.get("q") ?? "", "aria-label": "Search" }) as HTMLInputElement;
  const filterBar = h(
    "form.filters",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        setParam("q", search.value.trim());
      },
      "aria-label": "Filters",
    },
    h("div.search", search, h("button", { type: "submit" }, "Search")),
    filters.map(([k, label, options]) => {
      const id = "f-" + k;
      const cur = params.get(k) ?? "";
      const input = options
        ? h(
            "select",
            { id, onchange: (e: Event) => setParam(k, (e.target as HTMLSelectElement).value) },
            options.map((o) => h("option", { value: o, selected: o === cur ? true : undefined }, o || "any")),
          )
        : h("input", {
            id,
            value: cur,
            size: 8,
            placeholder: k === "assignee" ? "me" : "any",
            onchange: (e: Event) => setParam(k, (e.target as HTMLInputElement).value.trim()),
          });
      return h("div.field", h("label", { for: id }, label), input);
    }),
  );
  const viewBar = h(
    "div.views",
    h("span.muted", "Views:"),
    h("a", { href: "/queue", "aria-current": params.toString() === "" ? "true" : undefined }, "All active"),
    h("a", { href: "/queue?assignee=me" }, "Mine"),
    views.views.map((v) =>
      h(
        "span.view",
        h("a", { href: "/queue?" + v.query, "aria-current": v.query === params.toString() ? "true" : undefined }, v.name),
        h(
          "button.link.small",
          {
            "aria-label": "Delete view " + v.name,
            onclick: async () => {
              await del("/api/views/" + v.id).catch(showError);
              render();
            },
          },
          "×",
        ),
      ),
    ),
    h(
      "button.link",
      {
        onclick: async () => {
          const a = await ask({ title: "Save this view", text: "The filters and search of this page, under a name of your own.", fields: [{ name: "name", label: "Name", required: true }], ok: "Save view" });
          if (!a) return;
          const name = a.name;
          await post("/api/views", { name, query: params.toString() } satisfies RequestOf<"/api/views">).then(() => toast("View saved")).catch(showError);
          render();
        },
      },
      "Save this view",
    ),
  );
  const tbody = h("tbody");
  const bulk = h("div.bulk", { "aria-live": "polite" });
  const liveNote = h("button.link.livenote", { hidden: true, onclick: () => render() });
  const table = h(
    "table.queue",
    { "aria-label": "Exceptions", "aria-rowcount": String(items.length) },
    h(
      "thead",
      h(
        "tr",
        h("th", h("input", { type: "checkbox", "aria-label": "Select all", onchange: (e: Event) => toggleAll((e.target as HTMLInputElement).checked) })),
        h("th", "P"),
        h("th", "Severity"),
        h("th", "Exception"),
        h("th", "Document"),
        h("th", "Plant"),
        h("th", "Supplier"),
        h("th", "Need by"),
        h("th", "At risk"),
        h("th", "State"),
        h("th", "Assignee"),
        h("th", "Last seen"),
      ),
    ),
    tbody,
  );
  const more = h("button", { hidden: !next, onclick: () => loadMore() }, "Load more");
  function row(x: Exc, i: number) {
    const cb = h("input", { type: "checkbox", "aria-label": "Select exception " + x.id, checked: checked.has(x.id) ? true : undefined, onchange: (e: Event) => {
      if ((e.target as HTMLInputElement).checked) checked.add(x.id);
      else checked.delete(x.id);
      renderBulk();
    } });
    const tr = h(
      "tr",
      { "data-id": String(x.id), class: (i === sel ? "sel " : "") + (x.state === "open" ? "" : "dim"), onclick: (e: Event) => {
        if ((e.target as HTMLElement).tagName === "INPUT") return;
        go("/exceptions/" + x.id);
      } },
      h("td", cb),
      h("td", h("span.prio.p" + x.priority, { title: "priority " + x.priority }, "P" + x.priority)),
      h("td", badge(x.severity, x.severity)),
      h("td.title", h("a", { href: "/exceptions/" + x.id }, x.title), h("div.muted.msg", x.message)),
      h("td.nowrap", subjectLabel(x)),
      h("td", x.plant || "—"),
      h("td", x.supplier ? h("a", { href: "/suppliers/" + encodeURIComponent(x.supplier), onclick: (e: Event) => e.stopPropagation() }, x.supplier) : "—"),
      h("td.nowrap", isZero(x.need_by) ? "—" : day(x.need_by)),
      h("td.num", money(x.value_at_risk, x.currency)),
      h("td", badge(x.state, x.state), isZero(x.snoozed_until) ? null : h("div.muted.small", "snoozed " + ago(x.snoozed_until))),
      h("td", x.assignee || h("span.muted", "—")),
      h("td.nowrap", { title: when(x.last_seen) }, ago(x.last_seen)),
    );
    return tr;
  }
  function draw() {
    clear(tbody, items.length ? items.map(row) : h("tr", h("td.empty", { colspan: "12" }, "Nothing matches. Clear a filter or search for something else.")));
    more.hidden = !next;
  }
  function moveSel(d: number) {
    if (!items.length) return;
    sel = Math.max(0, Math.min(items.length - 1, sel + d));
    tbody.querySelectorAll("tr").forEach((tr, i) => tr.classList.toggle("sel", i === sel));
    (tbody.children[sel] as HTMLElement)?.scrollIntoView({ block: "nearest" });
  }
  function toggleAll(on: boolean) {
    checked.clear();
    if (on) items.forEach((x) => checked.add(x.id));
    draw();
    renderBulk();
  }
  async function loadMore() {
    const p = new URLSearchParams(qs);
    p.set("cursor", next);
    const d = await get<Answer<"/api/exceptions">>("/api/exceptions?" + p.toString());
    items = items.concat(d.items);
    next = d.next_cursor;
    draw();
  }
  async function bulkAct(action: Action["action"], extra: Omit<Action, "action"> = {}) {
    const chosen = items.filter((x) => checked.has(x.id)).map((x) => ({ id: x.id, version: x.version }));
    try {
      const r = await post<Answer<"/api/exceptions/bulk", "post">>("/api/exceptions/bulk", { action, items: chosen, ...extra } satisfies RequestOf<"/api/exceptions/bulk">);
      const bad = r.results.filter((x) => !x.ok);
      toast(`${r.results.length - bad.length} of ${r.results.length} ${action}d` + (bad.length ? `; ${bad.length} refused: ${bad[0].error?.error.message}` : ""), bad.length ? "error" : "ok");
      render();
    } catch (e) {
      showError(e);
    }
  }
  function renderBulk() {
    if (!checked.size || !can("POST", "/api/exceptions/bulk")) {
      clear(bulk);
      return;
    }
    clear(
      bulk,
      h("strong", `${checked.size} selected`),
      h("button", { onclick: () => bulkAct("acknowledge") }, "Acknowledge"),
      h("button", { onclick: async () => { const a = await ask({ title: `Assign ${checked.size} exceptions`, fields: [{ name: "assignee", label: "Assignee (a login, or me; empty to unassign)", value: "me" }], ok: "Assign" }); if (a) await bulkAct("assign", { assignee: a.assignee }); } }, "Assign…"),
      h("button", { onclick: () => bulkAct("snooze", { for: "4h" }) }, "Snooze 4h"),
      h("button", { onclick: async () => { const a = await ask({ title: `Resolve ${checked.size} exceptions`, fields: [{ name: "reason", label: "Reason", required: true }], ok: "Resolve" }); if (a) await bulkAct("resolve", { reason: a.reason }); } }, "Resolve…"),
    );
  }
  page(
    "/queue",
    h("div.pagehead", h("h1", "Exception queue"), h("span.muted", `${items.length}${next ? "+" : ""} shown · sorted by priority`), liveNote),
    data.drill ? drillNote(data.drill, params) : null,
    filterBar,
    viewBar,
    bulk,
    h("div.tablewrap", table),
    more,
    h("p.muted.small.keys", "Keys: j / k move, Enter opens, x selects, / searches."),
  );
  draw();
  let pending = 0;
  setLive((ev) => {
    if (ev.kind === "reload") {
      rerender();
      return;
    }
    pending++;
    const idx = items.findIndex((x) => x.id === ev.exception_id);
    if (idx >= 0 && ev.exception) {
      items[idx] = { ...items[idx], ...ev.exception };
      draw();
    }
    liveNote.hidden = false;
    liveNote.textContent = `${pending} live update${pending > 1 ? "s" : ""} — refresh`;
  });
  setKeys((e) => {
    if (e.key === "j") moveSel(1);
    else if (e.key === "k") moveSel(-1);
    else if (e.key === "Enter" && items[sel]) go("/exceptions/" + items[sel].id);
    else if (e.key === "x" && items[sel]) {
      const id = items[sel].id;
      if (checked.has(id)) checked.delete(id);
      else checked.add(id);
      draw();
      renderBulk();
    } else if (e.key === "/") {
      e.preventDefault();
      search.focus();
    } else return;
    e.preventDefault();
  });
}

