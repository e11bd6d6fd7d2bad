// The supplywatch console: a single-page app over /api/ with real paths
// (the server answers index.html for every non-API GET, so links from
// Slack, mail and bookmarks open the right page, also after sign-in):
// /queue?filters, /exceptions/<id>, /groups, /routing, /rules, /retries,
// /deadletter, /plants[/<plant>], /suppliers/<id>, /dashboard, /ops,
// /kpis, /users, /tokens, /audit, /signin?next=<path>. Old #/ links are
// rewritten to these.
import "./style.css";
import { get } from "./api";
import { h } from "./dom";
import { home, setMe } from "./state";
import { errorPage, go, handleKey, page, render, setRouter, showError, startLive, stopLive } from "./shell";
import { ApiError } from "./api";
import { setZone } from "./dom";
import { renderDashboard } from "./views/dashboard";
import { renderSignIn } from "./views/signin";
import { renderQueue } from "./views/queue";
import { renderDetail } from "./views/detail";
import { renderDeadLetter, renderRetries } from "./views/retries";
import { renderGroups } from "./views/groups";
import { renderRules } from "./views/rules";
import { renderRouting } from "./views/routing";
import { renderBoard, renderPlantPicker } from "./views/board";
import { renderSupplier } from "./views/supplier";
import { renderKPIs } from "./views/kpis";
import { renderOps } from "./views/ops";
import { renderUsers } from "./views/users";
import { renderTokens } from "./views/tokens";
import { renderAudit } from "./views/audit";
import type { Answer } from "./types";

// Old hash links (#/x/42, #/queue?…) become paths.
function fromHash() {
  if (!location.hash.startsWith("#/")) return;
  let p = location.hash.slice(1);
  if (p.startsWith("/x/")) p = "/exceptions/" + p.slice(3);
  history.replaceState(null, "", p);
}

window.addEventListener("popstate", () => render());
// Close the live-update stream when the page goes away: browsers allow six
// HTTP/1.1 connections per host, and streams of pages kept in the
// back/forward cache would otherwise hold them and stall every request.
window.addEventListener("pagehide", () => stopLive());
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
  handleKey(e);
});

async function boot() {
  fromHash();
  try {
    setMe(await get<Answer<"/api/me">>("/api/me"));
  } catch (e) {
    setMe(null);
  }
  startLive();
  render();
}

// renderPath draws the page of path.
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
    if (path === "/dashboard") return await renderDashboard(params);
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

setRouter(renderPath);
boot();
