// A tiny DOM builder: h("tag.class", {attrs}, ...children).

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, any>;

export function h(sel: string, attrs?: Attrs | Child, ...children: Child[]): HTMLElement {
  const [tag, ...classes] = sel.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs as Child);
  } else if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), guarded(el, k, v));
      else if (k === "class") el.className += (el.className ? " " : "") + v;
      else if (k === "value") (el as HTMLInputElement).value = v;
      else if (k === "checked") (el as HTMLInputElement).checked = !!v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

// guarded makes a button's click or a form's submit busy while the promise
// its handler returns is pending: the button (or the form's buttons) is
// disabled and marked aria-busy, so nothing is submitted twice.
function guarded(el: HTMLElement, k: string, fn: (e: Event) => any) {
  if (!((k === "onclick" && el.tagName === "BUTTON") || (k === "onsubmit" && el.tagName === "FORM"))) return fn;
  return (e: Event) => {
    if (el.getAttribute("aria-busy") === "true") {
      e.preventDefault();
      return;
    }
    const r = fn(e);
    if (!(r instanceof Promise)) return;
    const buttons = el.tagName === "FORM" ? [...el.querySelectorAll("button")] : [el as HTMLButtonElement];
    const was = buttons.map((b) => (b as HTMLButtonElement).disabled);
    el.setAttribute("aria-busy", "true");
    buttons.forEach((b) => ((b as HTMLButtonElement).disabled = true));
    r.finally(() => {
      el.removeAttribute("aria-busy");
      buttons.forEach((b, i) => ((b as HTMLButtonElement).disabled = was[i]));
    });
  };
}

function append(el: HTMLElement, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: HTMLElement, ...children: Child[]) {
  el.replaceChildren();
  append(el, children);
}

export function toast(msg: string, kind: "ok" | "error" = "ok") {
  const t = document.getElementById("toast")!;
  t.className = "show " + kind;
  t.textContent = msg;
  window.clearTimeout((t as any)._timer);
  (t as any)._timer = window.setTimeout(() => (t.className = ""), kind === "error" ? 8000 : 3500);
}

const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
export function ago(iso: string | undefined | null): string {
  if (!iso || iso.startsWith("0001")) return "—";
  const s = (new Date(iso).getTime() - Date.now()) / 1000;
  const a = Math.abs(s);
  if (a < 60) return rtf.format(Math.round(s), "second");
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400 * 2) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

// zone is the time zone dates are shown in: the plant's, when the page is
// about one plant (setZone), else the browser's.
let zone: string | undefined;
export function setZone(z: string | undefined) {
  zone = z || undefined;
}

// when shows an instant in the page's zone or, given one, in z with the
// zone's short name (a table of several plants' times).
export function when(iso: string | undefined | null, z?: string): string {
  if (!iso || iso.startsWith("0001")) return "—";
  return new Date(iso).toLocaleString("en-GB", { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", timeZone: z ?? zone, timeZoneName: z ? "short" : undefined });
}

// day shows a calendar date. Dates without a time of day (need-by, the
// board's days: midnight UTC in the API) are shown as that date wherever
// the reader is, never a day early west of UTC.
export function day(iso: string | undefined | null): string {
  if (!iso || iso.startsWith("0001")) return "—";
  const dateOnly = /^\d{4}-\d{2}-\d{2}(T00:00:00(\.0+)?Z)?$/.test(iso);
  const d = new Date(dateOnly ? iso.slice(0, 10) + "T00:00:00Z" : iso);
  return d.toLocaleDateString("en-GB", { weekday: "short", day: "2-digit", month: "short", timeZone: dateOnly ? "UTC" : zone });
}

// money formats an amount of one currency (a number or a decimal string
// from the API) with the currency's minor units.
export function money(v: number | string | null | undefined, cur?: string): string {
  if (v === null || v === undefined || v === "" || Number(v) === 0) return "—";
  const n = Number(v);
  try {
    return new Intl.NumberFormat("en", { style: cur ? "currency" : "decimal", currency: cur || undefined, maximumFractionDigits: cur ? undefined : 2 }).format(n);
  } catch {
    return n.toFixed(2) + (cur ? " " + cur : "");
  }
}

export function isZero(iso?: string | null) {
  return !iso || iso.startsWith("0001");
}
