// Keyboard shortcuts on every page, and the help overlay that lists them (press ?).
// The chat page is reached only through its DOM (session cards are <article class="session">
// with a .composer-input and a .stop button), so the chat modules need no hooks for this.

const SHORTCUTS = [
  { keys: ["n"], what: "New session" },
  { keys: ["/"], what: "Focus the message box" },
  { keys: ["Alt+1 … Alt+9"], what: "Go to session card 1 to 9" },
  { keys: ["[", "]"], what: "Previous / next session card" },
  { keys: ["Esc Esc", "Ctrl+."], what: "Stop the running reply (also while typing)" },
  { keys: ["?"], what: "Show this help" },
];
const DOUBLE_ESC_MS = 800;

let lastEscape = 0;

function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]") !== null);
}

function cards() {
  return [...document.querySelectorAll("article.session")].filter((c) => c.offsetParent !== null);
}

function currentCard() {
  const all = cards();
  return document.activeElement?.closest?.("article.session") || (all.length === 1 ? all[0] : null);
}

function focusCard(card) {
  const input = card?.querySelector(".composer-input");
  if (!input) return false;
  card.scrollIntoView({ block: "nearest" });
  input.focus();
  return true;
}

function newSession() {
  const button = document.querySelector("[data-action=new-session]");
  if (button) button.click(); else location.assign("/#new-session");
}

function stopReply() {
  const card = currentCard() || cards().find((c) => !c.querySelector(".stop")?.hidden);
  const stop = card?.querySelector(".stop");
  if (stop && !stop.hidden && !stop.disabled) { stop.click(); return true; }
  return false;
}

function moveCard(step) {
  const all = cards();
  if (!all.length) return false;
  const at = all.indexOf(document.activeElement?.closest?.("article.session"));
  const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : (at + step + all.length) % all.length;
  return focusCard(all[next]);
}

function helpDialog() {
  let dialog = document.getElementById("shortcuts-help");
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.id = "shortcuts-help";
  dialog.className = "dialog shortcuts-help";
  dialog.setAttribute("aria-labelledby", "shortcuts-heading");
  const heading = Object.assign(document.createElement("h2"), { id: "shortcuts-heading", textContent: "Keyboard shortcuts" });
  const list = document.createElement("dl");
  list.className = "shortcut-list";
  for (const { keys, what } of SHORTCUTS) {
    const dt = document.createElement("dt");
    keys.forEach((k, i) => {
      if (i) dt.append(" or ");
      dt.append(Object.assign(document.createElement("kbd"), { textContent: k }));
    });
    list.append(dt, Object.assign(document.createElement("dd"), { textContent: what }));
  }
  const note = Object.assign(document.createElement("p"), { className: "muted",
    textContent: "Single keys do nothing while you type in a field." });
  const close = Object.assign(document.createElement("button"), { type: "button", className: "btn primary",
    textContent: "Close" });
  close.addEventListener("click", () => dialog.close());
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  actions.append(close);
  dialog.append(heading, list, note, actions);
  // A modal <dialog> makes the page inert and closes on Esc; Tab could still leave it for the
  // browser's own controls, so focus wraps around inside.
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
  dialog.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const focusable = [...dialog.querySelectorAll("button, [href], [tabindex]:not([tabindex='-1'])")];
    const first = focusable[0], last = focusable[focusable.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });
  document.body.append(dialog);
  return dialog;
}

function openHelp() {
  const dialog = helpDialog();
  if (!dialog.open) dialog.showModal();
  dialog.querySelector("button").focus();
}

function onKey(e) {
  if (e.defaultPrevented || e.isComposing || document.querySelector("dialog[open]:not(#shortcuts-help)")) return;
  // Meant for typing too: stop the reply.
  if (e.ctrlKey && e.key === ".") { if (stopReply()) e.preventDefault(); return; }
  if (e.key === "Escape" && !e.ctrlKey && !e.altKey && !e.metaKey) {
    const now = performance.now();
    if (now - lastEscape < DOUBLE_ESC_MS && stopReply()) { lastEscape = 0; return; }
    lastEscape = now;
    return;
  }
  if (e.altKey && !e.ctrlKey && !e.metaKey && /^Digit[1-9]$/.test(e.code)) {
    if (focusCard(cards()[Number(e.code.slice(5)) - 1])) e.preventDefault();
    return;
  }
  if (e.ctrlKey || e.altKey || e.metaKey || typing(e.target)) return;
  const handlers = {
    "?": () => { openHelp(); return true; },
    "n": () => { newSession(); return true; },
    "/": () => focusCard(currentCard() || cards()[0]),
    "[": () => moveCard(-1),
    "]": () => moveCard(1),
  };
  if (handlers[e.key]?.()) e.preventDefault();
}

document.addEventListener("keydown", onKey);

// "n" pressed on another page comes here: open the new-session dialog once the page is ready.
if (location.hash === "#new-session") {
  history.replaceState(null, "", location.pathname + location.search);
  const tryOpen = (left) => {
    const button = document.querySelector("[data-action=new-session]");
    if (button && !button.disabled) button.click();
    else if (left > 0) setTimeout(() => tryOpen(left - 1), 100);
  };
  tryOpen(20);
}
