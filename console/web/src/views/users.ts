// Users (admin): roles, plants, disabling.
import { api, get } from "../api";
import { h, toast } from "../dom";
import { confirmed } from "../ui";
import { me } from "../state";
import { page, render, showError } from "../shell";
import { badge } from "../widgets";
import type { Answer, RequestOf, User } from "../types";

export const userRoles = ["procurement", "plant", "executive", "oncall", "admin"];

export async function renderUsers() {
  const d = await get<Answer<"/api/users">>("/api/users");
  const patch = (u: User, body: RequestOf<"/api/users/{id}", "patch">, done: string) =>
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
          await patch(u, { role: role.value as User["role"], plants: role.value === "plant" ? ps : [] }, `${u.login} changed`);
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

