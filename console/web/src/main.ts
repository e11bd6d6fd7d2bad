// The supplywatch console: a single-page app over /api/ with real paths
// (the server answers index.html for every non-API GET, so links from
// Slack, mail and bookmarks open the right page, also after sign-in):
// /queue?filters, /exceptions/<id>, /groups, /routing, /rules, /retries,
// /deadletter, /plants[/<plant>], /suppliers/<id>, /dashboard, /ops,
// /kpis, /users, /tokens, /audit, /signin?next=<path>. Old #/ links are
// rewritten to these.
import "./style.css";
import { ApiError, api, del, get, post, setCSRF } from "./api";
import { ago, clear, day, h, isZero, money, setZone, toast, when } from "./dom";
import { ask, confirmed } from "./ui";
import { renderDashboard } from "./dashboard";

interface Me {
  user: { login: string; name: string; role: string };
  role: string;
  tenant: string;
  plants: string[] | null;
  all_plants: boolean;
  csrf_token: string;
  can: string[];
}

interface Exc {
  id: number;
  rule: string;
  kind: string;
  subject: string;
  title: string;
  message: string;
  severity: string;
  team: string;
  supplier: string;
  plant: string;
  po: string;
  line: number;
  need_by: string | null;
  value_at_risk?: string | null; // a decimal string

  currency: string;
  priority: number;
  state: string;
  assignee: string;
  occurrences: number;
  first_seen: string;
  last_seen: string;
  resolution: string;
  version: number;
  snoozed_until: string | null;
  sla_due_at: string | null;
  group_key: string;
}

let me: Me | null = null;
const app = document.getElementById("app")!;
let live: EventSource | null = null;
let onLive: ((ev: any) => void) | null = null;
let keyHandler: ((e: KeyboardEvent) => void) | null = null;

const can = (method: string, path: string) => !!me?.can.includes(method + " " + path);

function route(): { path: string; params: URLSearchParams } {
  return { path: location.pathname.replace(/\/+$/, "") || "/", params: new URLSearchParams(location.search) };
}

// go shows the page at path (with its query), adding a history entry
// unless replace.
function go(path: string, replace = false) {
  if (location.pathname + location.search !== path) {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
  }
  render();
}

// Old hash links (#/x/42, #/queue?…) become paths.
function fromHash() {
  if (!location.hash.startsWith("#/")) return;
  let p = location.hash.slice(1);
  if (p.startsWith("/x/")) p = "/exceptions/" + p.slice(3);
  history.replaceState(null, "", p);
}

// safeNext accepts a same-origin path to return to after sign-in.
function safeNext(p: string | null): string | null {
  if (!p || !p.startsWith("/") || p.startsWith("//") || p.startsWith("/\\") || p.startsWith("/signin") || p.startsWith("/api/")) return null;
  return p;
}

window.addEventListener("popstate", () => render());
// Close the live-update stream when the page goes away: browsers allow six
// HTTP/1.1 connections per host, and streams of pages kept in the
// back/forward cache would otherwise hold them and stall every request.
window.addEventListener("pagehide", () => {
  live?.close();
  live = null;
});
window.addEventListener("pageshow", (e) => {
  if ((e as PageTransitionEvent).persisted) startLive();
});
document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
  const a = (e.target as HTMLElement).closest?.("a") as HTMLAnchorElement | null;
  if (!a || a.target || a.hasAttribute("download")) return;
  const href = a.getAttribute("href") ?? "";
  if (!href.startsWith("/") || href.startsWith("//") || href.startsWith("/api/")) return;
  e.preventDefault();
  go(href);
});
document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  keyHandler?.(e);
});

async function boot() {
  fromHash();
  try {
    me = await get<Me>("/api/me");
    setCSRF(me.csrf_token);
  } catch (e) {
    me = null;
  }
  startLive();
  render();
}

function startLive() {
  live?.close();
  live = null;
  if (!me || !can("GET", "/api/live")) return;
  live = new EventSource("/api/live");
  live.addEventListener("exception", (m) => onLive?.(JSON.parse((m as MessageEvent).data)));
  live.addEventListener("reload", () => onLive?.({ kind: "reload" }));
}

function home(): string {
  if (!me) return "/signin";
  if (me.role === "executive") return "/dashboard";
  if (!can("GET", "/api/exceptions") && can("GET", "/api/kpi/values")) return "/dashboard";
  return "/queue";
}

function nav(active: string): HTMLElement {
  const items: [string, string, boolean][] = [
    ["/dashboard", "Dashboard", can("GET", "/api/dashboard")],
    ["/queue", "Queue", can("GET", "/api/exceptions")],
    ["/groups", "Groups", can("GET", "/api/groups")],
    [me?.plants?.length === 1 ? "/plants/" + me.plants[0] : "/plants", "Plant board", can("GET", "/api/plants/:plant/inbound")],
    ["/retries", "Retries", can("GET", "/api/retries")],
    ["/deadletter", "Dead letter", can("GET", "/api/deadletter")],
    ["/ops", "Operations", can("GET", "/api/operations")],
    ["/routing", "Routing", can("GET", "/api/teams")],
    ["/rules", "Rules", can("GET", "/api/rules")],
    ["/kpis", "Exceptions", can("GET", "/api/kpis")],
    ["/users", "Users", can("PATCH", "/api/users/:id")],
    ["/tokens", "Tokens", can("GET", "/api/tokens")],
    ["/audit", "Audit", can("GET", "/api/audit")],
  ];
  return h(
    "header.top",
    h("a.brand", { href: home() }, "supplywatch"),
    h(
      "nav",
      { "aria-label": "Main" },
      items.filter((i) => i[2]).map(([href, label]) => h("a", { href, "aria-current": active.startsWith(href.split("/").slice(0, 2).join("/")) ? "page" : undefined }, label)),
    ),
    h(
      "div.who",
      h("span", { title: me!.all_plants ? "all plants" : "plants " + (me!.plants ?? []).join(", ") }, `${me!.user.name || me!.user.login} · ${me!.role}${me!.all_plants ? "" : " · " + (me!.plants ?? []).join(", ")}`),
      h("button.link", { onclick: signOut }, "Sign out"),
    ),
  );
}

async function signOut() {
  await post("/api/auth/logout", {}).catch(() => undefined);
  me = null;
  plantZones = null;
  live?.close();
  go("/signin");
}

function page(active: string, ...body: (Node | string | null)[]) {
  keyHandler = null;
  onLive = null;
  // data-path says which page main shows (tests wait for it).
  clear(app, nav(active), h("main", { id: "main", tabindex: "-1", "data-path": location.pathname + location.search }, ...body));
}

function showError(e: unknown) {
  if (e instanceof ApiError && e.status === 401) {
    me = null;
    go("/signin?next=" + encodeURIComponent(location.pathname + location.search), true);
    return;
  }
  toast(e instanceof Error ? e.message : String(e), "error");
}

// rerender draws the page again (after a live update) keeping what the
// user is typing: values of text fields, the focused field and its
// selection.
async function rerender() {
  const saved = new Map<string, string>();
  app.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("main input[id], main textarea[id]").forEach((el) => {
    if (el.type !== "checkbox" && el.type !== "radio" && el.value) saved.set(el.id, el.value);
  });
  const f = document.activeElement as HTMLInputElement | null;
  const focused = f?.id && (f.tagName === "INPUT" || f.tagName === "TEXTAREA") ? { id: f.id, start: f.selectionStart, end: f.selectionEnd } : null;
  await render();
  saved.forEach((v, id) => {
    const el = document.getElementById(id) as HTMLInputElement | null;
    if (el && !el.value) el.value = v;
  });
  if (focused) {
    const el = document.getElementById(focused.id) as HTMLInputElement | null;
    el?.focus();
    if (el && focused.start !== null) el.setSelectionRange(focused.start, focused.end);
  }
}

function errorPage(path: string, e: unknown) {
  const msg = e instanceof Error ? e.message : String(e);
  page(path, h("h1", "This page could not be loaded"), h("p.error", { role: "alert" }, msg), h("p", h("button", { onclick: () => render() }, "Try again"), " ", h("a", { href: home() }, "Back to the start")));
}

async function render() {
  const { path, params } = route();
  if (!me && path !== "/signin") return go("/signin?next=" + encodeURIComponent(location.pathname + location.search), true);
  // A page that takes a moment says so (and keeps its old content until then).
  const slow = window.setTimeout(() => {
    const m = document.getElementById("main");
    if (m) {
      m.setAttribute("aria-busy", "true");
      m.prepend(h("div.loading", { role: "status" }, "Loading…"));
    }
  }, 150);
  try {
    return await renderPath(path, params);
  } finally {
    window.clearTimeout(slow);
    document.getElementById("main")?.removeAttribute("aria-busy");
    document.querySelectorAll("div.loading").forEach((n) => n.remove());
  }
}

// plantZones maps plants to their IANA time zones (GET /api/plants), loaded
// once per sign-in: a page about one plant shows its times in that zone.
let plantZones: Promise<Map<string, string>> | null = null;
function zonesOfPlants(): Promise<Map<string, string>> {
  plantZones ??= get<{ plants: { plant: string; time_zone?: string }[] }>("/api/plants")
    .then((d) => new Map(d.plants.filter((p) => p.time_zone).map((p) => [p.plant, p.time_zone!] as [string, string])))
    .catch(() => {
      plantZones = null;
      return new Map<string, string>();
    });
  return plantZones;
}

async function renderPath(path: string, params: URLSearchParams) {
  // Times are in the browser's zone unless the page is about one plant.
  setZone(undefined);
  try {
    if (path === "/signin") return renderSignIn();
    if (path === "/" || path === "") return go(home());
    if (path === "/queue") return await renderQueue(params);
    if (path.startsWith("/exceptions/")) return await renderDetail(Number(path.slice(12)));
    if (path === "/groups") return await renderGroups();
    if (path === "/routing") return await renderRouting();
    if (path === "/rules") return await renderRules();
    if (path === "/retries") return await renderRetries();
    if (path === "/deadletter") return await renderDeadLetter();
    if (path === "/plants") return await renderPlantPicker();
    if (path.startsWith("/plants/")) return await renderBoard(decodeURIComponent(path.slice(8)), params);
    if (path === "/dashboard") return await renderDashboard({ page, go, can }, params);
    if (path === "/ops") return await renderOps(params);
    if (path === "/tokens") return await renderTokens();
    if (path === "/audit") return await renderAudit(params);
    if (path.startsWith("/suppliers/")) return await renderSupplier(decodeURIComponent(path.slice(11)));
    if (path === "/kpis") return await renderKPIs();
    if (path === "/users") return await renderUsers();
    page("", h("h1", "Not found"), h("p", h("a", { href: home() }, "Back to the start")));
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      page(path, h("h1", "Not for your role"), h("p", e.message), h("p", h("a", { href: home() }, "Back to the start")));
      return;
    }
    if (e instanceof ApiError && e.status === 404) {
      page(path, h("h1", "Not found"), h("p", e.message), h("p", h("a", { href: home() }, "Back to the start")));
      return;
    }
    if (e instanceof ApiError && e.status === 401) return showError(e);
    errorPage(path, e);
  }
}

// ---------- sign in ----------

async function renderSignIn() {
  keyHandler = null;
  const cfg = await get<{ oidc: boolean; oidc_name?: string }>("/api/auth/config").catch(() => ({ oidc: false, oidc_name: "" }));
  const err = h("p.error", { role: "alert" });
  const login = h("input", { id: "login", name: "login", autocomplete: "username", required: true, autofocus: true }) as HTMLInputElement;
  const pw = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }) as HTMLInputElement;
  const form = h(
    "form.signin",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        err.textContent = "";
        try {
          me = await post<Me>("/api/auth/login", { login: login.value, password: pw.value });
          plantZones = null;
          setCSRF(me.csrf_token);
          startLive();
          go(safeNext(new URLSearchParams(location.search).get("next")) ?? home(), true);
        } catch (x) {
          err.textContent = x instanceof Error ? x.message : String(x);
          pw.select();
        }
      },
    },
    h("h1", "Sign in to supplywatch"),
    h("label", { for: "login" }, "Login"),
    login,
    h("label", { for: "password" }, "Password"),
    pw,
    err,
    h("button.primary", { type: "submit" }, "Sign in"),
    cfg.oidc ? h("a.button", { href: "/api/auth/oidc/login" }, "Sign in with " + (cfg.oidc_name || "single sign-on")) : null,
  );
  clear(app, h("main.center", { id: "main" }, form));
  login.focus();
}

// ---------- queue ----------

const sevOrder = ["critical", "high", "medium", "low"];

function badge(kind: string, text: string) {
  return h("span.badge." + kind.replace(/[^a-z_-]/g, ""), text);
}

function subjectLabel(x: Exc) {
  const [kind, id, line] = x.subject.split("/");
  const names: Record<string, string> = { po: "PO", invoice: "Invoice", asn: "ASN", message: "Message", supplier: "Supplier" };
  return `${names[kind] ?? kind} ${id}${line ? " / " + line : ""}`;
}

// Drill is the KPI figure a queue is filtered to (GET /api/exceptions?kpi=…).
interface Drill {
  kpi: string;
  from: string;
  to: string;
  plant?: string;
  supplier?: string;
  docs: "missed" | "all";
  documents: number;
  entities: number;
}

// drillNote says which documents the queue holds and leads back to the
// figure or to the whole queue.
function drillNote(d: Drill, params: URLSearchParams) {
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

async function renderQueue(params: URLSearchParams) {
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
    get<{ items: Exc[]; next_cursor: string; drill?: Drill }>("/api/exceptions?" + qs.toString()),
    get<{ views: { id: number; name: string; query: string }[] }>("/api/views"),
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
          await post("/api/views", { name, query: params.toString() }).then(() => toast("View saved")).catch(showError);
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
    const d = await get<{ items: Exc[]; next_cursor: string }>("/api/exceptions?" + p.toString());
    items = items.concat(d.items);
    next = d.next_cursor;
    draw();
  }
  async function bulkAct(action: string, extra: Record<string, unknown> = {}) {
    const chosen = items.filter((x) => checked.has(x.id)).map((x) => ({ id: x.id, version: x.version }));
    try {
      const r = await post<{ results: { id: number; ok: boolean; error?: { error: { message: string } } }[] }>("/api/exceptions/bulk", { action, items: chosen, ...extra });
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
  onLive = (ev) => {
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
  };
  keyHandler = (e) => {
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
  };
}

// ---------- detail ----------

async function renderDetail(id: number) {
  const [d, zones] = await Promise.all([get<any>("/api/exceptions/" + id), zonesOfPlants()]);
  const x: Exc = d.exception;
  // The exception's times (SLA due, chain, timeline) in its plant's zone.
  const zone = x.plant ? zones.get(x.plant) : undefined;
  setZone(zone);
  const tl = h("section.timeline", { "aria-label": "Timeline" }, h("h2", "Timeline"), h("p.muted", "Loading events and spans…"));
  const canAct = can("POST", "/api/exceptions/:id/actions");
  const actions = h("div.actions", { role: "group", "aria-label": "Actions" });
  const act = async (action: string, extra: Record<string, unknown> = {}) => {
    try {
      await post("/api/exceptions/" + id + "/actions", { action, ...extra }, { "If-Match": `"${x.version}"` });
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
          d.activity.map((a: any) =>
            h("li", h("time", { datetime: a.at, title: when(a.at) }, ago(a.at)), " ", h("strong", a.actor.name), h("span.muted", ` (${a.actor.kind}) `), a.action, a.from_state || a.to_state ? ` ${a.from_state || "∅"} → ${a.to_state}` : "", a.note ? h("div.note", a.note) : null),
          ),
        ),
        can("POST", "/api/exceptions/:id/comments")
          ? h(
              "form.comment",
              { onsubmit: async (e: Event) => {
                e.preventDefault();
                if (!comment.value.trim()) return;
                await post("/api/exceptions/" + id + "/comments", { note: comment.value }).then(() => render()).catch(showError);
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
          ? h("ul.plain", d.timers.map((t: any) => h("li", h("code", t.sla), ` ${t.subject} · ${t.state} · due ${when(t.due_at)}`)))
          : h("p.muted", "No SLA timers on this document."),
      ),
    ),
  );
  onLive = (ev) => {
    if (ev.exception_id === id && ev.exception?.version !== x.version) {
      toast("This exception changed — showing the latest.");
      rerender();
    }
  };
  keyHandler = (e) => {
    if (e.key === "Escape" || e.key === "u") go("/queue");
  };
  try {
    const t = await get<{ entries: any[]; documents: string[] }>("/api/exceptions/" + id + "/timeline");
    clear(tl, h("h2", "Timeline", h("span.muted", ` · documents ${t.documents.join(", ")} and their correlation ids`)), timelineView(t.entries));
  } catch (e) {
    clear(tl, h("h2", "Timeline"), h("p.error", e instanceof Error ? e.message : String(e)));
  }
}

function deliveryBox(fd: any) {
  const d = fd.delivery;
  return h(
    "div.delivery",
    h("h3", "Failed delivery"),
    h("dl.facts", h("dt", "Target"), h("dd", d.target), h("dt", "Document"), h("dd", d.document_type || "—"), h("dt", "Error"), h("dd", `${d.error_class || "?"}: ${d.error || ""}${d.http_status ? " (HTTP " + d.http_status + ")" : ""}`), h("dt", "Attempt"), h("dd", String(d.attempt || "—")), h("dt", "Idempotency key"), h("dd", h("code", d.idempotency_key || d.message_id))),
  );
}

function chainView(ch: any) {
  if (!ch) return h("p.muted", "No order is linked to this exception.");
  const names: Record<string, string> = { po: "Purchase order", acknowledgement: "Acknowledgement", changes: "Changes", asn: "Ship notice (ASN)", receipt: "Goods receipt", quality: "Quality", invoice: "Invoice" };
  return h(
    "ol.chain",
    ch.steps.map((s: any) =>
      h(
        "li.step." + s.status,
        h("span.dot", { "aria-hidden": "true" }),
        h("div", h("strong", names[s.step] ?? s.step), " ", badge(s.status, s.status === "due" && !isZero(s.due) ? "due " + day(s.due) : s.status), ch.next === s.step ? h("span.next", "next") : null, h("div.muted", s.detail), !isZero(s.at) ? h("div.muted.small", when(s.at)) : null),
      ),
    ),
  );
}

function timelineView(entries: any[]) {
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
            h("td.detail", e.kind === "span" ? `${e.duration_ms.toFixed(0)} ms · ${e.status}${e.message ? ": " + e.message : ""}` : h("code.small", (e.data || "").slice(0, 160))),
          ),
        ),
      ),
    ),
  );
}

function retryTable(rs: any[]) {
  return h(
    "table.small",
    h("thead", h("tr", h("th", "When"), h("th", "By"), h("th", "Topic"), h("th", "Key"), h("th", "Outcome"))),
    h("tbody", rs.map((r) => h("tr", h("td", when(r.requested_at)), h("td", r.requested_by), h("td", h("code", r.topic)), h("td", h("code", r.idempotency_key)), h("td", badge(r.status, r.status.replace("_", " ")), r.error ? h("div.muted", r.error) : null)))),
  );
}

// ---------- retries ----------

async function retryFlow(ids: number[]) {
  try {
    const pv = await post<{ plans: any[]; confirm: string }>("/api/retries/preview", { exception_ids: ids });
    const ok = pv.plans.filter((p) => !p.blocked);
    const dlg = h("dialog.confirm", { "aria-labelledby": "retry-title" }) as HTMLDialogElement;
    const high = ok.filter((p) => p.duplicate_risk === "high").length;
    clear(
      dlg,
      h("h2", { id: "retry-title" }, `Re-send ${ok.length} failed deliver${ok.length === 1 ? "y" : "ies"}?`),
      high ? h("p.warn", `${high} with a HIGH duplicate-posting risk: the target may have posted them already.`) : null,
      h(
        "table.small",
        h("thead", h("tr", h("th", "Exception"), h("th", "Message"), h("th", "To topic"), h("th", "Idempotency key"), h("th", "Payload"), h("th", "Duplicate risk"))),
        h(
          "tbody",
          pv.plans.map((p) =>
            h(
              "tr",
              h("td", "#" + p.exception_id),
              h("td", p.message_id, h("div.muted.small", p.document_type)),
              h("td", p.blocked ? h("span.muted", "skipped") : h("code", p.topic)),
              h("td", h("code", p.idempotency_key || "—")),
              h("td", p.blocked ? p.blocked : h("details", h("summary", `${p.payload_bytes} bytes`), h("pre", p.payload_preview))),
              h("td", p.blocked ? "—" : [badge(p.duplicate_risk, p.duplicate_risk), h("div.muted.small", p.duplicate_risk_reason)]),
            ),
          ),
        ),
      ),
      h(
        "div.actions",
        h("button.primary", { disabled: ok.length ? undefined : true, onclick: async () => {
          try {
            const r = await post<{ retries: any[] }>("/api/retries", { exception_ids: ids, confirm: pv.confirm });
            dlg.close();
            toast(`${r.retries.length} re-sent with their original idempotency keys`);
            render();
          } catch (e) {
            dlg.close();
            showError(e);
          }
        } }, `Re-send ${ok.length}`),
        h("button", { onclick: () => dlg.close() }, "Cancel"),
      ),
    );
    document.body.append(dlg);
    dlg.addEventListener("close", () => dlg.remove());
    dlg.showModal();
  } catch (e) {
    showError(e);
  }
}

async function renderRetries() {
  const [d, policies] = await Promise.all([
    get<{ failed: Exc[]; retries: any[] }>("/api/retries"),
    get<RetryPolicies>("/api/retry-policies").catch(() => null),
  ]);
  const checked = new Set<number>();
  const btn = h("button.primary", { disabled: true, onclick: () => retryFlow([...checked]) }, "Retry selected…") as HTMLButtonElement;
  const upd = () => {
    btn.disabled = !checked.size;
    btn.textContent = checked.size ? `Retry ${checked.size} selected…` : "Retry selected…";
  };
  page(
    "/retries",
    h("div.pagehead", h("h1", "Failed deliveries"), btn),
    h("p.muted", "A retry re-publishes the original payload to supplywatch.retry.<target> with its original idempotency key. You see what will be re-sent before anything is."),
    d.failed.length
      ? h(
          "div.tablewrap",
          h(
            "table.queue",
            h("thead", h("tr", h("th", h("span.sr", "Select")), h("th", "P"), h("th", "Delivery"), h("th", "Plant"), h("th", "Supplier"), h("th", "State"), h("th", "Since"))),
            h(
              "tbody",
              d.failed.map((x) =>
                h(
                  "tr",
                  h("td", h("input", { type: "checkbox", "aria-label": "Select " + x.subject, onchange: (e: Event) => {
                    if ((e.target as HTMLInputElement).checked) checked.add(x.id);
                    else checked.delete(x.id);
                    upd();
                  } })),
                  h("td", h("span.prio.p" + x.priority, "P" + x.priority)),
                  h("td.title", h("a", { href: "/exceptions/" + x.id }, subjectLabel(x)), h("div.muted.msg", x.message)),
                  h("td", x.plant || "—"),
                  h("td", x.supplier || "—"),
                  h("td", badge(x.state, x.state)),
                  h("td", ago(x.first_seen)),
                ),
              ),
            ),
          ),
        )
      : h("p.empty", "No failed deliveries need attention."),
    h("h2", "Recent retries"),
    d.retries.length ? retryTable(d.retries) : h("p.muted", "None yet."),
    policies ? retryPolicies(policies) : null,
  );
}

interface RetryPolicies {
  enabled: boolean;
  outcome_timeout: string;
  policies: { name: string; classes: string[]; targets?: string[]; max_attempts: number; backoff: { initial: string; multiplier: number; max: string; jitter: number } }[];
}

function retryPolicies(p: RetryPolicies): HTMLElement {
  return h(
    "section",
    h("h2", "Automatic retry policies"),
    h("p.muted", p.enabled
      ? `Failures are retried automatically before an exception is raised; the first matching policy decides. A retry without an outcome within ${p.outcome_timeout} counts as failed.`
      : "Automatic retries are off: every failure raises its exception at once."),
    h(
      "table",
      h("thead", h("tr", h("th", "Policy"), h("th", "Error classes"), h("th", "Targets"), h("th", "Retries"), h("th", "Backoff"))),
      h("tbody", p.policies.map((x) => h("tr", h("td", h("strong", x.name)), h("td", x.classes.join(", ")), h("td", (x.targets ?? []).join(", ") || "any"),
        h("td", x.max_attempts ? String(x.max_attempts) : "none: raised at once"),
        h("td", x.max_attempts ? `${x.backoff.initial} × ${x.backoff.multiplier} up to ${x.backoff.max}, jitter ${x.backoff.jitter}` : "—")))),
    ),
  );
}

async function renderDeadLetter() {
  const d = await get<{ rejected: any[]; redrive_topic: string }>("/api/deadletter");
  const checked = new Set<string>();
  page(
    "/deadletter",
    h("div.pagehead", h("h1", "Dead letter"), h("button", { onclick: async () => {
      if (!checked.size) return toast("Select inputs to redrive", "error");
      if (!(await confirmed("Redrive rejected inputs", `Re-publish ${checked.size} rejected input(s) to ${d.redrive_topic}? They are accepted only if the cause was fixed; duplicates of stored events are dropped.`, `Redrive ${checked.size}`))) return;
      await post("/api/deadletter/redrive", { input_ids: [...checked] }).then((r: any) => toast(`${r.redriven.length} redriven`)).catch(showError);
    } }, "Redrive selected…")),
    d.rejected.length
      ? h(
          "div.tablewrap",
          h(
            "table",
            h("thead", h("tr", h("th", h("span.sr", "Select")), h("th", "Received"), h("th", "Channel"), h("th", "Event"), h("th", "Field"), h("th", "Reason"), h("th", "Input"))),
            h(
              "tbody",
              d.rejected.map((r) =>
                h(
                  "tr",
                  h("td", h("input", { type: "checkbox", "aria-label": "Select " + r.input_id, onchange: (e: Event) => ((e.target as HTMLInputElement).checked ? checked.add(r.input_id) : checked.delete(r.input_id)) })),
                  h("td.nowrap", when(r.received_at)),
                  h("td", r.channel),
                  h("td", r.event_type || "—", h("div.muted.small", r.event_id)),
                  h("td", h("code", r.field || "—")),
                  h("td", r.reason),
                  h("td", h("details", h("summary", h("code.small", r.input_id)), h("pre", r.raw))),
                ),
              ),
            ),
          ),
        )
      : h("p.empty", "The dead letter is empty."),
  );
}

// ---------- groups ----------

async function renderGroups() {
  const [d, risk] = await Promise.all([get<{ groups: any[] }>("/api/groups"), get<VaR>("/api/value-at-risk?by=group")]);
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

async function groupAct(g: any, action: string, extra: Record<string, unknown> = {}, asked = false) {
  if (!asked && !(await confirmed(`${action[0].toUpperCase() + action.slice(1)} all ${g.open_count}?`, `${action} all ${g.open_count} active exceptions of "${g.title || g.rule}" (${g.supplier}).`, `${action[0].toUpperCase() + action.slice(1)} all`))) return;
  try {
    const r = await post<{ results: { ok: boolean }[] }>("/api/groups/actions", { group: g.group_key, action, ...extra });
    const ok = r.results.filter((x) => x.ok).length;
    toast(`${ok} of ${r.results.length} done` + (ok < r.results.length ? " (the others were in a state that does not allow it)" : ""));
    render();
  } catch (e) {
    showError(e);
  }
}

// ---------- rules ----------

// segmentLabel shows "pilot" or "!pilot" (every supplier outside pilot).
function segmentLabel(seg: string): string {
  return seg.startsWith("!") ? `all but segment ${seg.slice(1)}` : `segment ${seg}`;
}

async function renderRules() {
  const r = await get<{ rules: any[]; segments: any[] }>("/api/rules");
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

// ---------- routing ----------

async function renderRouting() {
  const [teams, rules] = await Promise.all([get<{ teams: any[] }>("/api/teams"), get<{ rules: any[] }>("/api/routing/rules")]);
  const canEdit = can("POST", "/api/routing/rules");
  const f = (id: string, label: string, attrs: Record<string, any> = {}) => h("div.field", h("label", { for: id }, label), h("input", { id, name: id, size: 10, ...attrs }));
  const teamForm = h(
    "form.inline",
    { onsubmit: async (e: Event) => {
      e.preventDefault();
      const fd = new FormData(e.target as HTMLFormElement);
      const members = String(fd.get("t-members") || "").split(",").map((s) => s.trim()).filter(Boolean);
      await post("/api/teams", { name: fd.get("t-name"), queue: fd.get("t-queue"), default_assignee: fd.get("t-default"), members }).then(() => { toast("Team saved"); render(); }).catch(showError);
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
      await post("/api/routing/rules", { position: Number(v("r-pos") || 100), rule: v("r-rule"), plant: v("r-plant"), supplier: v("r-supplier"), segment: v("r-segment"), severity: v("r-sev"), team: v("r-team"), assignee: v("r-assignee") })
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

// ---------- plant board ----------

async function renderBoard(plant: string, params: URLSearchParams) {
  const qs = params.get("from") ? "?from=" + params.get("from") : "";
  const [b, pl] = await Promise.all([
    get<any>("/api/plants/" + encodeURIComponent(plant) + "/inbound" + qs),
    get<{ plants: { plant: string; time_zone?: string }[] }>("/api/plants").catch(() => ({ plants: [] as { plant: string; time_zone?: string }[] })),
  ]);
  const zone = pl.plants.find((p) => p.plant === plant)?.time_zone;
  setZone(zone);
  const plants = pl.plants.map((p) => p.plant);
  if (!plants.includes(plant)) plants.unshift(plant);
  const lineRow = (l: any) =>
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
  const table = (ls: any[], empty: string) =>
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
      b.days.map((d: any) =>
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

// ---------- supplier ----------

async function renderSupplier(id: string) {
  const [s, zones] = await Promise.all([get<any>("/api/suppliers/" + encodeURIComponent(id)), zonesOfPlants()]);
  page(
    "/suppliers",
    h("div.pagehead", h("h1", "Supplier ", id)),
    h(
      "div.kpis",
      kpi("Open orders", String(s.open_orders.length)),
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
        h("tbody", s.open_orders.map((o: any) => h("tr", h("td", h("a", { href: "/queue?q=" + o.po }, o.po)), h("td", o.plant), h("td", String(o.version)), h("td", when(o.released_at, zones.get(o.plant))), h("td", isZero(o.acked_at) ? h("span.bad", "not yet") : when(o.acked_at, zones.get(o.plant)) + (o.acked_version < o.version ? ` (v${o.acked_version})` : "")), h("td.num", `${o.received} / ${o.quantity}`), h("td.num", money(o.value, o.currency))))),
      ),
    ),
  );
}

function kpi(label: string, value: string) {
  return h("div.kpi", h("div.big", value), h("div.muted", label));
}

async function renderKPIs() {
  const [k, risk] = await Promise.all([get<any>("/api/kpis"), get<VaR>("/api/value-at-risk")]);
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

boot();

// ---------- users (admin) ----------

interface User {
  id: number;
  login: string;
  name: string;
  email?: string;
  role: string;
  plants: string[] | null;
  disabled: boolean;
}

const userRoles = ["procurement", "plant", "executive", "oncall", "admin"];

async function renderUsers() {
  const d = await get<{ users: User[] }>("/api/users");
  const patch = (u: User, body: Record<string, unknown>, done: string) =>
    api("PATCH", "/api/users/" + u.id, body).then(() => { toast(done); render(); }).catch(showError);
  const row = (u: User) => {
    const role = h("select", { "aria-label": "Role of " + u.login }, userRoles.map((r) => h("option", { value: r, selected: r === u.role ? true : undefined }, r))) as HTMLSelectElement;
    const plants = h("input", { "aria-label": "Plants of " + u.login, size: 10, value: (u.plants ?? []).join(", "), placeholder: "plant users only" }) as HTMLInputElement;
    const self = u.login === me?.user.login;
    return h(
      "tr",
      { class: u.disabled ? "muted" : undefined },
      h("td", h("strong", u.login), h("div.muted.small", u.name || "")),
      h("td", role),
      h("td", plants),
      h("td", u.disabled ? badge("ignored", "disabled") : badge("done", "active")),
      h(
        "td.nowrap",
        h("button", { disabled: self, onclick: async () => {
          const ps = plants.value.split(",").map((s) => s.trim()).filter(Boolean);
          await patch(u, { role: role.value, plants: role.value === "plant" ? ps : [] }, `${u.login} changed`);
        } }, "Save"),
        " ",
        h("button", { disabled: self, onclick: async () => {
          if (!u.disabled && !(await confirmed(`Disable ${u.login}?`, "Their sessions end and their tokens stop working at once.", "Disable", true))) return;
          await patch(u, { disabled: !u.disabled }, `${u.login} ${u.disabled ? "enabled" : "disabled"}`);
        } }, u.disabled ? "Enable" : "Disable"),
      ),
    );
  };
  page(
    "/users",
    h("h1", "Users"),
    h("p.muted", "Role and plant changes apply from the user's next request; disabling ends their sessions and stops their tokens at once. Every change is audited. You cannot disable or demote yourself."),
    h(
      "table",
      h("thead", h("tr", h("th", "User"), h("th", "Role"), h("th", "Plants"), h("th", "Status"), h("th", h("span.sr", "Actions")))),
      h("tbody", d.users.map(row)),
    ),
  );
}

// ---------- money ----------

interface VaR {
  currencies: { currency: string; amount: string; exceptions: number; group?: string }[];
  reporting: { currency: string; amount: string; rates_date: string; unconverted: string[] } | null;
}

// varList shows value at risk per currency, and the converted total with
// the rates' date: amounts of different currencies are never added up.
function varList(r: VaR) {
  if (!r.currencies.length) return h("p.muted", "No value at risk.");
  return h(
    "div",
    h("div.kpis", r.currencies.map((c) => kpi(`${c.currency} · ${c.exceptions} exception${c.exceptions === 1 ? "" : "s"}`, money(c.amount, c.currency)))),
    r.reporting
      ? h("p.muted", `≈ ${money(r.reporting.amount, r.reporting.currency)} in ${r.reporting.currency} at the rates of ${r.reporting.rates_date}` +
          (r.reporting.unconverted.length ? ` (not counting ${r.reporting.unconverted.join(", ")}: no rate configured)` : ""))
      : null,
  );
}

// ---------- plants ----------

async function renderPlantPicker() {
  const d = await get<{ plants: { plant: string; time_zone?: string }[] }>("/api/plants");
  if (d.plants.length === 1) return go("/plants/" + encodeURIComponent(d.plants[0].plant), true);
  page(
    "/plants",
    h("h1", "Plant boards"),
    d.plants.length
      ? h("ul.plain.pick", d.plants.map((p) => h("li", h("a.button", { href: "/plants/" + encodeURIComponent(p.plant) }, p.plant), p.time_zone ? h("span.muted.small", " " + p.time_zone) : null)))
      : h("p.empty", "No plant has events yet."),
  );
}

// ---------- operations ----------

async function renderOps(params: URLSearchParams) {
  const window = params.get("window") || "24h";
  const o = await get<any>("/api/operations?window=" + encodeURIComponent(window));
  const table = (head: string[], rows: (string | Node)[][], empty: string) =>
    rows.length
      ? h("div.tablewrap.short", h("table.small", h("thead", h("tr", head.map((x, i) => h(i === 0 ? "th" : "th.num", x)))), h("tbody", rows.map((r) => h("tr", r.map((c, i) => h(i === 0 || typeof c !== "string" ? "td" : "td.num", c)))))))
      : h("p.empty", empty);
  const n = (v: number) => Math.round(v).toLocaleString("en");
  const lat = o.ingest_latency;
  const lag = (o.metrics ?? []).filter((m: any) => m.name === "supplywatch_consumer_lag");
  const alerts = (o.metrics ?? []).filter((m: any) => m.name.startsWith("supplywatch_alerts_"));
  const ingest = (o.metrics ?? []).filter((m: any) => m.name.startsWith("supplywatch_ingest_") || m.name.startsWith("supplywatch_writer_"));
  const metricRows = (ms: any[]) => ms.map((m: any) => [h("span", h("code.small", m.name), m.labels ? h("span.muted.small", " " + Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(" ")) : null), n(m.value)]);
  const failedTotal = o.deliveries.reduce((a: number, t: any) => a + t.failed, 0);
  const deliveredTotal = o.deliveries.reduce((a: number, t: any) => a + t.delivered, 0);
  page(
    "/ops",
    h(
      "div.pagehead",
      h("h1", "Operations"),
      h("div.seg", { role: "group", "aria-label": "Window" }, ["1h", "24h", "168h"].map((w) => h("a.button.small", { href: "/ops?window=" + w, "aria-current": w === window ? "true" : undefined }, w === "168h" ? "7 days" : w))),
      h("span.muted", `${when(o.from)} – ${when(o.to)}`),
    ),
    h(
      "div.kpis",
      kpi("Events stored", n(o.throughput.reduce((a: number, t: any) => a + t.events, 0))),
      kpi("Rejected to dead letter", n(o.rejects.reduce((a: number, r: any) => a + r.count, 0))),
      kpi("Ingest → queryable p95", lat ? dur(lat.p95_ms) : "—"),
      kpi("Consumer lag", lag.length ? n(lag.reduce((a: number, m: any) => a + m.value, 0)) : "—"),
      kpi("SLA breaches", n(o.sla_breaches.reduce((a: number, r: any) => a + r.count, 0))),
      kpi("Delivery failures", deliveredTotal + failedTotal ? `${n(failedTotal)} (${((failedTotal / (deliveredTotal + failedTotal)) * 100).toFixed(1)}%)` : "—"),
    ),
    h("div.grid",
      h("section", h("h2", "Throughput by source and partner"), table(["Source", "Partner", "Events"], o.throughput.map((t: any) => [t.source || "—", t.supplier || "—", n(t.events)]), "No events in this window.")),
      h("section", h("h2", "Rejects and dead letters by reason"), table(["Reason", "Field", "Channel", "Count", "Last"], o.rejects.map((r: any) => [r.reason, r.field || "—", r.channel, n(r.count), ago(r.last)]), "Nothing rejected in this window."),
        can("GET", "/api/deadletter") ? h("p", h("a", { href: "/deadletter" }, "Open the dead letter")) : null),
    ),
    h("div.grid",
      h("section", h("h2", "Ingest → queryable latency"), lat
        ? h("dl.facts", h("dt", "Events"), h("dd", n(lat.events)), h("dt", "p50"), h("dd", dur(lat.p50_ms)), h("dt", "p95"), h("dd", dur(lat.p95_ms)), h("dt", "p99"), h("dd", dur(lat.p99_ms)), h("dt", "max"), h("dd", dur(lat.max_ms)))
        : h("p.empty", "No events in this window."),
        h("h2", "Consumer lag"), lag.length ? table(["Group and topic", "Messages behind"], metricRows(lag), "") : h("p.muted", "This process reads no Kafka topic (the lag is a metric of the collector processes).")),
      h("section", h("h2", "SLA breaches by rule"), table(["Rule", "Opened"], o.sla_breaches.map((r: any) => [h("code", r.rule), n(r.count)]), "No SLA breaches in this window."),
        h("h2", "Deliveries by target system"), table(["Target", "Delivered", "Failed"], o.deliveries.map((t: any) => [t.target, n(t.delivered), n(t.failed)]), "No deliveries in this window.")),
    ),
    h("section", h("h2", "Alert deliveries and ingest counters of this process"), alerts.length + ingest.length ? table(["Metric", "Value"], metricRows([...alerts, ...ingest]), "") : h("p.muted", "No such metrics in this process.")),
  );
}

// auditDetail shows an audit entry's detail as "key value" pairs (nested
// values as JSON), leaving out empty ones; the full JSON is the title.
function auditDetail(d: unknown) {
  if (d === null || d === undefined) return "—";
  if (typeof d !== "object" || Array.isArray(d)) return h("code.small", JSON.stringify(d).slice(0, 200));
  const pairs = Object.entries(d as Record<string, unknown>).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  if (!pairs.length) return "—";
  return h("span.small", { title: JSON.stringify(d) }, pairs.map(([k, v], i) => [i ? " · " : "", h("span.muted", k.replace(/_/g, " ") + " "), typeof v === "object" ? JSON.stringify(v).slice(0, 120) : String(v)]));
}

// dur shows milliseconds in the unit a reader takes in at a glance.
function dur(ms: number): string {
  if (ms < 1000) return ms.toFixed(0) + " ms";
  if (ms < 60_000) return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1) + " s";
  if (ms < 3_600_000) return (ms / 60_000).toFixed(1) + " min";
  return (ms / 3_600_000).toFixed(1) + " h";
}

// ---------- tokens (admin) ----------

async function renderTokens() {
  const [d, us] = await Promise.all([
    get<{ tokens: any[] }>("/api/tokens"),
    get<{ users: { id: number; login: string }[] }>("/api/users").catch(() => ({ users: [] as { id: number; login: string }[] })),
  ]);
  const loginOf = new Map(us.users.map((u) => [u.id, u.login]));
  const secretBox = h("div", { "aria-live": "polite" });
  const make = (kind: "user" | "supplier") =>
    h(
      "form.inline",
      { "aria-label": kind === "user" ? "New API token" : "New supplier token", onsubmit: async (e: Event) => {
        e.preventDefault();
        const fd = new FormData(e.target as HTMLFormElement);
        const v = (k: string) => String(fd.get(k) || "").trim();
        const body: Record<string, unknown> = { name: v(kind + "-name"), ttl_hours: Number(v(kind + "-ttl") || 0) };
        // A user token acts as its user: one mints it for oneself only.
        body[kind === "user" ? "login" : "supplier"] = kind === "user" ? me!.user.login : v(kind + "-who");
        try {
          const r = await post<{ token: any; secret: string }>("/api/tokens", body);
          await renderTokens();
          clear(document.getElementById("secret")!, h("div.warn", "Copy the secret of ", h("strong", r.token.name), " now: it is shown once. ", h("code", { id: "secret-value" }, r.secret)));
        } catch (x) {
          showError(x);
        }
      } },
      h("div.field", h("label", { for: kind + "-name" }, "Name"), h("input", { id: kind + "-name", name: kind + "-name", required: true, size: 14 })),
      kind === "user"
        ? h("div.field", h("span.label", "Acts as"), h("span.value", me!.user.login + " (you: a token is minted for oneself)"))
        : h("div.field", h("label", { for: kind + "-who" }, "Supplier id"), h("input", { id: kind + "-who", name: kind + "-who", required: true, size: 12 })),
      h("div.field", h("label", { for: kind + "-ttl" }, "Expires after (hours, 0 = never)"), h("input", { id: kind + "-ttl", name: kind + "-ttl", type: "number", min: "0", value: "720", size: 6 })),
      h("button.primary", { type: "submit" }, kind === "user" ? "Create API token" : "Create supplier token"),
    );
  const rows = (ts: any[]) =>
    ts.length
      ? h("table", h("thead", h("tr", h("th", "Name"), h("th", "For"), h("th", "Created"), h("th", "Expires"), h("th", "Last used"), h("th", "Status"), h("th", h("span.sr", "Revoke")))),
          h("tbody", ts.map((t) => h("tr", { class: t.revoked ? "dim" : undefined },
            h("td", h("strong", t.name), h("div.muted.small", "by " + t.created_by)),
            h("td", t.supplier ? "supplier " + t.supplier : loginOf.get(t.user_id) ?? "user #" + t.user_id),
            h("td.nowrap", when(t.created_at)),
            h("td.nowrap", isZero(t.expires_at) ? "never" : when(t.expires_at)),
            h("td.nowrap", isZero(t.last_used_at) ? "never" : ago(t.last_used_at)),
            h("td", t.revoked ? badge("ignored", "revoked") : !isZero(t.expires_at) && Date.parse(t.expires_at) < Date.now() ? badge("ignored", "expired") : badge("done", "active")),
            h("td", t.revoked ? null : h("button.small", { "aria-label": "Revoke token " + t.name, onclick: async () => {
              if (!(await confirmed(`Revoke ${t.name}?`, "Calls with this token fail from now on. This cannot be undone.", "Revoke", true))) return;
              await del("/api/tokens/" + t.id).then(() => { toast(`${t.name} revoked`); return render(); }).catch(showError);
            } }, "Revoke"))))))
      : h("p.empty", "None.");
  page(
    "/tokens",
    h("h1", "API tokens"),
    h("p.muted", "A user token acts with its user's role and scope; a supplier token reaches the supplier API for its own orders and invoices only. Secrets are stored hashed and shown once. Every change is audited."),
    h("div", { id: "secret" }, secretBox),
    h("h2", "User tokens"),
    rows(d.tokens.filter((t) => !t.supplier)),
    make("user"),
    h("h2", "Supplier tokens"),
    rows(d.tokens.filter((t) => t.supplier)),
    make("supplier"),
  );
}

// ---------- audit (admin) ----------

async function renderAudit(params: URLSearchParams) {
  const d = await get<{ entries: any[] }>("/api/audit");
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
