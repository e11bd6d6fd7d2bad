// Dialogs that replace prompt() and confirm(): accessible <dialog>s with
// labelled fields, Escape to cancel, and a promise of the answer.
import { h } from "./dom";

export interface Field {
  name: string;
  label: string;
  value?: string;
  placeholder?: string;
  required?: boolean;
  options?: string[];
  type?: string;
}

export interface AskOptions {
  title: string;
  text?: string;
  fields?: Field[];
  ok: string;
  danger?: boolean;
}

let seq = 0;

// ask shows a modal dialog and resolves to the field values when confirmed,
// or null when cancelled.
export function ask(o: AskOptions): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const id = "dlg-" + ++seq;
    const inputs = (o.fields ?? []).map((f) => {
      const fid = id + "-" + f.name;
      const input = f.options
        ? h("select", { id: fid, name: f.name }, f.options.map((x) => h("option", { value: x, selected: x === f.value ? true : undefined }, x)))
        : h("input", { id: fid, name: f.name, value: f.value ?? "", placeholder: f.placeholder, required: f.required, type: f.type ?? "text", autocomplete: "off" });
      return { f, input: input as HTMLInputElement, row: h("div.field", h("label", { for: fid }, f.label), input) };
    });
    let answered = false;
    const form = h(
      "form",
      {
        method: "dialog",
        onsubmit: (e: Event) => {
          e.preventDefault();
          const out: Record<string, string> = {};
          for (const { f, input } of inputs) {
            const v = input.value.trim();
            if (f.required && !v) {
              input.focus();
              return;
            }
            out[f.name] = v;
          }
          answered = true;
          dlg.close();
          resolve(out);
        },
      },
      h("h2", { id: id + "-title" }, o.title),
      o.text ? h("p", o.text) : null,
      inputs.map((i) => i.row),
      h("div.dialog-actions", h("button" + (o.danger ? ".danger" : ".primary"), { type: "submit" }, o.ok), h("button", { type: "button", onclick: () => dlg.close() }, "Cancel")),
    );
    const dlg = h("dialog.ask", { "aria-labelledby": id + "-title" }, form) as HTMLDialogElement;
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (!answered) resolve(null);
    });
    document.body.append(dlg);
    dlg.showModal();
    (inputs[0]?.input ?? (form.querySelector("button[type=submit]") as HTMLElement)).focus();
  });
}

// confirmed asks a yes/no question.
export async function confirmed(title: string, text: string, ok: string, danger = false): Promise<boolean> {
  return (await ask({ title, text, ok, danger })) !== null;
}
