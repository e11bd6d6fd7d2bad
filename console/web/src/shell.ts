// The page shell: navigation between pages (go, render), the header and
// its menu, the live-update stream, keyboard shortcuts and error pages.
// Views draw into main through page() and register their live-update and
// key handlers after it; the router (main.ts) is registered with setRouter.
import { ApiError, post } from "./api";
import { clear, h, toast } from "./dom";
import { can, home, me, route, setMe } from "./state";
import type { LiveEvent } from "./types";

const app = document.getElementById("app")!;
let live: EventSource | null = null;
let onLive: ((ev: LiveEvent) => void) | null = null;
let keyHandler: ((e: KeyboardEvent) => void) | null = null;
let router: (path: string, params: URLSearchParams) => Promise<void> = async () => undefined;

// setRouter sets what draws a path (main.ts).
export function setRouter(r: (path: string, params: URLSearchParams) => Promise<void>) {
  router = r;
}

// setLive sets the current page's handler of live updates (page() clears it).
export function setLive(fn: ((ev: LiveEvent) => void) | null) {
  onLive = fn;
}

// setKeys sets the current page's keyboard shortcuts (page() clears them).
export function setKeys(fn: ((e: KeyboardEvent) => void) | null) {
  keyHandler = fn;
}

// handleKey passes a key press outside a form field to the page.
export function handleKey(e: KeyboardEvent) {
  keyHandler?.(e);
}

// go shows the page at path (with its query), adding a history entry
// unless replace.
export function go(path: string, replace = false) {
  if (location.pathname + location.search !== path) {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
  }
  render();
}

// bare shows a page without the header (sign-in).
export function bare(...body: Node[]) {
  clear(app, ...body);
}

// startLive opens the live-update stream when the caller may read it.
export function startLive() {
  live?.close();
  live = null;
  if (!me || !can("GET", "/api/live")) return;
  live = new EventSource("/api/live");
  live.addEventListener("exception", (m) => onLive?.(JSON.parse((m as MessageEvent).data)));
  live.addEventListener("reload", () => onLive?.({ kind: "reload" }));
}

// stopLive closes the live-update stream.
export function stopLive() {
  live?.close();
  live = null;
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
  setMe(null);
  live?.close();
  go("/signin");
}

export function page(active: string, ...body: (Node | string | null)[]) {
  keyHandler = null;
  onLive = null;
  // data-path says which page main shows (tests wait for it).
  clear(app, nav(active), h("main", { id: "main", tabindex: "-1", "data-path": location.pathname + location.search }, ...body));
}

export function showError(e: unknown) {
  if (e instanceof ApiError && e.status === 401) {
    setMe(null);
    go("/signin?next=" + encodeURIComponent(location.pathname + location.search), true);
    return;
  }
  toast(e instanceof Error ? e.message : String(e), "error");
}

// rerender draws the page again (after a live update) keeping what the
// user is typing: values of text fields, the focused field and its
// selection.
export async function rerender() {
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

export function errorPage(path: string, e: unknown) {
  const msg = e instanceof Error ? e.message : String(e);
  page(path, h("h1", "This page could not be loaded"), h("p.error", { role: "alert" }, msg), h("p", h("button", { onclick: () => render() }, "Try again"), " ", h("a", { href: home() }, "Back to the start")));
}

export async function render() {
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
    return await router(path, params);
  } finally {
    window.clearTimeout(slow);
    document.getElementById("main")?.removeAttribute("aria-busy");
    document.querySelectorAll("div.loading").forEach((n) => n.remove());
  }
}
