// Small DOM helpers shared by the chat pages. Text always goes in through textContent.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let uid = 0;
export const nextId = (prefix = "id") => `${prefix}-${++uid}`;

// 1234567 -> "1,234,567". Not toLocaleString: its first call loads the locale data, ~30-100 ms
// on this machine's Chromium, in the middle of drawing a session (measured by bench/long_session.py).
export function grouped(n) {
  return String(Math.round(Number(n) || 0)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function compact(n) {
  n = Number(n) || 0;
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

export function money(cost) {
  cost = Number(cost) || 0;
  if (cost === 0) return "$0";
  if (cost < 0.01) return `$${cost.toFixed(4)}`;
  return `$${cost.toFixed(2)}`;
}

export function totalTokens(tokens) {
  if (!tokens) return 0;
  return Object.values(tokens).reduce((a, b) => a + (Number(b) || 0), 0);
}

export const STATUS_WORDS = {
  idle: "Idle", busy: "Working", retry: "Retrying", waiting: "Needs you", error: "Error", archived: "Archived",
};

// A live region for short announcements ("Reply finished", "Permission needed").
let announcer = null;
export function announce(text) {
  if (!announcer) {
    announcer = el("div", { class: "visually-hidden", role: "status", "aria-live": "polite" });
    document.body.append(announcer);
  }
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

// A toast with an optional action (e.g. "Undo"). Returns a function that removes it.
export function toast(text, { action, onAction, timeout = 6000 } = {}) {
  let host = document.getElementById("toasts");
  if (!host) {
    host = el("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(host);
  }
  const item = el("div", { class: "toast" }, el("span", { text }));
  const close = () => item.remove();
  if (action) {
    item.append(el("button", { type: "button", class: "btn link", text: action,
      onclick: () => { close(); onAction?.(); } }));
  }
  host.append(item);
  if (timeout) setTimeout(close, timeout);
  return close;
}

// Modal dialogs built on <dialog>: confirm and prompt, resolved with the answer.
// With `check` (a label), a checkbox is offered: the answer is "checked" when it was ticked.
export function confirmDialog({ title, body, ok = "OK", danger = false, check = null }) {
  return openDialog({ title, body, ok, danger, check }).then((r) => (r === null ? false : r));
}

export function promptDialog({ title, label, value = "", ok = "Save" }) {
  return openDialog({ title, ok, input: { label, value } });
}

function openDialog({ title, body, ok, danger, input, check }) {
  return new Promise((resolve) => {
    const titleId = nextId("dlg");
    const field = input ? el("input", { type: "text", id: nextId("dlg-input"), value: input.value,
      autocomplete: "off", maxlength: 200 }) : null;
    const box = check ? el("input", { type: "checkbox", id: nextId("dlg-check") }) : null;
    const form = el("form", { method: "dialog" },
      el("h2", { id: titleId, text: title }),
      body ? el("p", { text: body }) : null,
      field ? el("label", { for: field.id, text: input.label }) : null,
      field,
      box ? el("label", { class: "check", for: box.id }, box, ` ${check}`) : null,
      el("div", { class: "dialog-actions" },
        el("button", { type: "submit", value: "cancel", class: "btn", formnovalidate: true, text: "Cancel" }),
        el("button", { type: "submit", value: "ok", class: `btn ${danger ? "danger-solid" : "primary"}`, text: ok })));
    const dialog = el("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
    const opener = document.activeElement;  // where the focus goes back to when it closes (Escape too)
    dialog.addEventListener("close", () => {
      const answer = dialog.returnValue === "ok" ? (field ? field.value : box?.checked ? "checked" : true) : null;
      dialog.remove();
      if (opener?.isConnected && opener !== document.body && opener.checkVisibility?.()) opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    if (field) { field.focus(); field.select(); }
  });
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}
