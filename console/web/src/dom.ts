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
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === "class") el.className += (el.className ? " " : "") + v;
      else if (k === "value") (el as HTMLInputElement).value = v;
      else if (k === "checked") (el as HTMLInputElement).checked = !!v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
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
export function ago(iso: string | undefined): string {
  if (!iso || iso.startsWith("0001")) return "—";
  const s = (new Date(iso).getTime() - Date.now()) / 1000;
  const a = Math.abs(s);
  if (a < 60) return rtf.format(Math.round(s), "second");
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400 * 2) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

export function when(iso: string | undefined): string {
  if (!iso || iso.startsWith("0001")) return "—";
  return new Date(iso).toLocaleString("en-GB", { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" });
}

export function day(iso: string | undefined): string {
  if (!iso || iso.startsWith("0001")) return "—";
  return new Date(iso).toLocaleDateString("en-GB", { weekday: "short", day: "2-digit", month: "short" });
}

export function money(v: number, cur?: string): string {
  if (!v) return "—";
  return new Intl.NumberFormat("en", { style: cur ? "currency" : "decimal", currency: cur || undefined, maximumFractionDigits: 0 }).format(v);
}

export function isZero(iso?: string) {
  return !iso || iso.startsWith("0001");
}
