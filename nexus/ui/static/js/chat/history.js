// Going back in a session: undo to before a message and redo (OpenCode's revert, which also
// restores the files), fork from a message into a new session, edit and resend the last
// message. Undone messages stay in the transcript, greyed, with a "Redo" bar, as in
// OpenCode's own client, until the next message drops them for good.
import { api } from "../api.js";
import { el, promptDialog, toast } from "./ui.js";

const path = (id, tail) => `/api/sessions/${encodeURIComponent(id)}/${tail}`;

async function call(view, tail, body, busyText) {
  if (view.busy) { toast(busyText); return null; }
  try {
    return await api(path(view.id, tail), { method: "POST", body });
  } catch (err) {
    toast(err.message);
    return null;
  }
}

// The small row of actions under a message of the user's.
export function messageActions(view, message) {
  if (message.role !== "user") return null;
  const undo = el("button", { type: "button", class: "btn link tiny msg-undo", text: "Undo from here",
    title: "Undo this message and everything after it (files too)",
    onclick: async () => {
      const session = await call(view, "revert", { message_id: message.id }, "Stop the agent before undoing.");
      if (session) view.store.notify(view.id, { kind: "session", revert: true });
    } });
  const fork = el("button", { type: "button", class: "btn link tiny msg-fork", text: "Fork from here",
    title: "A new session with the conversation before this message",
    onclick: async () => {
      const session = await call(view, "fork", { message_id: message.id }, "Wait for the agent before forking.");
      if (!session) return;
      toast(`Forked into “${session.title}”.`, { action: "Open", onAction: () => location.assign(`/s/${encodeURIComponent(session.id)}`) });
    } });
  const edit = el("button", { type: "button", class: "btn link tiny msg-edit", text: "Edit",
    title: "Change this message and send it again",
    onclick: async () => {
      const text = message.parts.filter((p) => p.kind === "text" && !p.synthetic).map((p) => p.text).join("\n");
      const changed = await promptDialog({ title: "Edit and resend", label: "Message", value: text, ok: "Send" });
      if (changed === null || !changed.trim()) return;
      await call(view, "edit", { text: changed }, "Stop the agent before editing.");
    } });
  // Only OpenCode keeps snapshots to undo to and sessions to fork; any engine can resend.
  const rewinds = (view.state.session.engine || "opencode") === "opencode";
  return el("div", { class: "msg-actions", role: "group", "aria-label": "Message actions" },
    rewinds ? undo : null, rewinds ? fork : null, edit);
}

// Mark undone messages and show the redo bar; only the last message of the user's is editable.
export function applyHistory(view) {
  const state = view.state;
  const revert = state.session.revert;
  const at = revert ? state.messages.findIndex((m) => m.id === revert.message_id) : -1;
  const lastUser = [...state.messages].reverse().find((m) => m.role === "user");
  state.messages.forEach((m, i) => {
    const v = view.views.get(m.id);
    if (!v) return;
    const undone = at >= 0 && i >= at;
    v.el.dataset.reverted = undone ? "1" : "0";
    v.el.classList.toggle("reverted", undone);
    const edit = v.el.querySelector(".msg-edit");
    if (edit) edit.hidden = !(lastUser && lastUser.id === m.id) || undone;
    const undo = v.el.querySelector(".msg-undo");
    if (undo) undo.hidden = undone;
  });
  const bar = view.revertBar;
  if (at < 0) { bar.hidden = true; bar.replaceChildren(); return; }
  const count = state.messages.length - at;
  bar.hidden = false;
  bar.replaceChildren(
    el("span", { text: `${count} message${count === 1 ? "" : "s"} undone. Your next message replaces them.` }),
    el("button", { type: "button", class: "btn tiny redo", text: "Redo",
      onclick: async () => {
        const session = await call(view, "unrevert", undefined, "Stop the agent before redoing.");
        if (session) view.store.notify(view.id, { kind: "session", revert: true });
      } }));
}

export function revertBar() {
  return el("div", { class: "revert-bar", role: "status", hidden: true });
}
