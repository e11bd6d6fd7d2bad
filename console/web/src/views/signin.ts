// Sign in: login and password, or single sign-on when configured.
import { get, post } from "../api";
import { h } from "../dom";
import { home, setMe } from "../state";
import { bare, go, setKeys, startLive } from "../shell";
import type { Answer, RequestOf } from "../types";

// safeNext accepts a same-origin path to return to after sign-in.
function safeNext(p: string | null): string | null {
  if (!p || !p.startsWith("/") || p.startsWith("//") || p.startsWith("/\\") || p.startsWith("/signin") || p.startsWith("/api/")) return null;
  return p;
}

export async function renderSignIn() {
  setKeys(null);
  const cfg = await get<Answer<"/api/auth/config">>("/api/auth/config").catch((): Answer<"/api/auth/config"> => ({ password: true, oidc: false }));
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
          setMe(await post<Answer<"/api/auth/login", "post">>("/api/auth/login", { login: login.value, password: pw.value } satisfies RequestOf<"/api/auth/login">));
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
  bare(h("main.center", { id: "main" }, form));
  login.focus();
}
