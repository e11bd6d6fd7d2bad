// The app's state: the session (who is signed in, their role, scope and
// what they may call), the plants' time zones, and the current route (the
// page and its filters, which live in the URL so that a view can be
// bookmarked and shared). Views read it; only sign-in and sign-out change
// the session.
import { get, setCSRF } from "./api";
import type { Answer, Me } from "./types";

export let me: Me | null = null;

// setMe records the signed-in user (null: signed out) and their CSRF token.
export function setMe(m: Me | null) {
  me = m;
  plantZones = null;
  if (m) setCSRF(m.csrf_token ?? "");
}

export const can = (method: string, path: string) => !!me?.can.includes(method + " " + path);

// home is the first page of the caller's role.
export function home(): string {
  if (!me) return "/signin";
  if (me.role === "executive") return "/dashboard";
  if (!can("GET", "/api/exceptions") && can("GET", "/api/kpi/values")) return "/dashboard";
  return "/queue";
}

// route is the current page: its path and its filters.
export function route(): { path: string; params: URLSearchParams } {
  return { path: location.pathname.replace(/\/+$/, "") || "/", params: new URLSearchParams(location.search) };
}

// plantZones maps plants to their IANA time zones (GET /api/plants), loaded
// once per sign-in: a page about one plant shows its times in that zone.
let plantZones: Promise<Map<string, string>> | null = null;
export function zonesOfPlants(): Promise<Map<string, string>> {
  plantZones ??= get<Answer<"/api/plants">>("/api/plants")
    .then((d) => new Map(d.plants.filter((p) => p.time_zone).map((p) => [p.plant, p.time_zone!] as [string, string])))
    .catch(() => {
      plantZones = null;
      return new Map<string, string>();
    });
  return plantZones;
}
