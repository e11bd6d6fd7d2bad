// Failed deliveries and their retries (with the preview of what is
// re-sent), the automatic retry policies, and the dead letter.
import { get, post } from "../api";
import { ago, clear, h, toast, when } from "../dom";
import { confirmed } from "../ui";
import { page, render, showError } from "../shell";
import { badge, subjectLabel } from "../widgets";
import type { Answer, RequestOf, RetryPolicies, Retry } from "../types";

// retryTable lists retries and their outcomes (also on the exception detail).
export function retryTable(rs: Retry[]) {
  return h(
    "table.small",
    h("thead", h("tr", h("th", "When"), h("th", "By"), h("th", "Topic"), h("th", "Key"), h("th", "Outcome"))),
    h("tbody", rs.map((r) => h("tr", h("td", when(r.requested_at)), h("td", r.requested_by), h("td", h("code", r.topic)), h("td", h("code", r.idempotency_key)), h("td", badge(r.status, r.status.replace("_", " ")), r.error ? h("div.muted", r.error) : null)))),
  );
}

// retryFlow previews what re-sending the failed deliveries of ids would
// publish, with the duplicate-posting risk, and re-sends on confirmation
// (also from the exception detail).
export async function retryFlow(ids: number[]) {
  try {
    const pv = await post<Answer<"/api/retries/preview", "post">>("/api/retries/preview", { exception_ids: ids } satisfies RequestOf<"/api/retries/preview">);
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
            const r = await post<Answer<"/api/retries", "post">>("/api/retries", { exception_ids: ids, confirm: pv.confirm } satisfies RequestOf<"/api/retries">);
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

export async function renderRetries() {
  const [d, policies] = await Promise.all([
    get<Answer<"/api/retries">>("/api/retries"),
    get<Answer<"/api/retry-policies">>("/api/retry-policies").catch(() => null),
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

export function retryPolicies(p: RetryPolicies): HTMLElement {
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

export async function renderDeadLetter() {
  const d = await get<Answer<"/api/deadletter">>("/api/deadletter");
  const checked = new Set<string>();
  page(
    "/deadletter",
    h("div.pagehead", h("h1", "Dead letter"), h("button", { onclick: async () => {
      if (!checked.size) return toast("Select inputs to redrive", "error");
      if (!(await confirmed("Redrive rejected inputs", `Re-publish ${checked.size} rejected input(s) to ${d.redrive_topic}? They are accepted only if the cause was fixed; duplicates of stored events are dropped.`, `Redrive ${checked.size}`))) return;
      await post<Answer<"/api/deadletter/redrive", "post">>("/api/deadletter/redrive", { input_ids: [...checked] } satisfies RequestOf<"/api/deadletter/redrive">).then((r) => toast(`${(r.redriven ?? []).length} redriven`)).catch(showError);
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

