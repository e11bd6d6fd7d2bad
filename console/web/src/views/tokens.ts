// API tokens (admin): user and supplier tokens.
import { del, get, post } from "../api";
import { ago, clear, h, isZero, toast, when } from "../dom";
import { confirmed } from "../ui";
import { me } from "../state";
import { page, render, showError } from "../shell";
import { badge } from "../widgets";
import type { Answer, RequestOf, Token } from "../types";

export async function renderTokens() {
  const [d, us] = await Promise.all([
    get<Answer<"/api/tokens">>("/api/tokens"),
    get<Answer<"/api/users">>("/api/users").catch((): Answer<"/api/users"> => ({ users: [] })),
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
        const body: RequestOf<"/api/tokens"> = { name: v(kind + "-name"), ttl_hours: Number(v(kind + "-ttl") || 0) };
        // A user token acts as its user: one mints it for oneself only.
        if (kind === "user") body.login = me!.user.login;
        else body.supplier = v(kind + "-who");
        try {
          const r = await post<Answer<"/api/tokens", "post">>("/api/tokens", body);
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
  const rows = (ts: Token[]) =>
    ts.length
      ? h("table", h("thead", h("tr", h("th", "Name"), h("th", "For"), h("th", "Created"), h("th", "Expires"), h("th", "Last used"), h("th", "Status"), h("th", h("span.sr", "Revoke")))),
          h("tbody", ts.map((t) => h("tr", { class: t.revoked ? "dim" : undefined },
            h("td", h("strong", t.name), h("div.muted.small", "by " + t.created_by)),
            h("td", t.supplier ? "supplier " + t.supplier : loginOf.get(t.user_id ?? 0) ?? "user #" + t.user_id),
            h("td.nowrap", when(t.created_at)),
            h("td.nowrap", isZero(t.expires_at) ? "never" : when(t.expires_at)),
            h("td.nowrap", isZero(t.last_used_at) ? "never" : ago(t.last_used_at)),
            h("td", t.revoked ? badge("ignored", "revoked") : t.expires_at && !isZero(t.expires_at) && Date.parse(t.expires_at) < Date.now() ? badge("ignored", "expired") : badge("done", "active")),
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

