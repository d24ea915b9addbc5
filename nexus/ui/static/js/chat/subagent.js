// A `task` tool call runs a sub-agent in a session of its own: its status while it runs, a
// link to its own view, and its transcript inline on demand.
import { api } from "../api.js";
import { el } from "./ui.js";
import { MessageView } from "./render/message.js";

const WORDS = { pending: "Starting", running: "Running", completed: "Finished", error: "Failed" };

export function subagentSection(part) {
  const child = part.child_session;
  const input = part.input || {};
  const status = part.status || "pending";
  const who = input.subagent_type ? `@${input.subagent_type}` : "Sub-agent";
  const head = el("p", { class: "subagent-head" },
    el("span", { class: "subagent-who", text: who }), " ",
    el("span", { class: "subagent-status", dataset: { status }, text: WORDS[status] || status }));
  if (!child) return el("div", { class: "subagent", dataset: { status } }, head);
  const transcript = el("div", { class: "subagent-transcript" });
  const inline = el("details", { class: "subagent-inline" }, el("summary", { text: "Show its transcript" }), transcript);
  const load = async () => {
    transcript.replaceChildren(el("p", { class: "muted small", text: "Loading…" }));
    try {
      const data = await api(`/api/sessions/${encodeURIComponent(child)}/messages?limit=100`);
      transcript.replaceChildren(...data.messages.map((m) => new MessageView(m).el));
      if (!data.messages.length) transcript.replaceChildren(el("p", { class: "muted small", text: "Nothing yet." }));
    } catch (err) {
      transcript.replaceChildren(el("p", { class: "tool-error", text: err.message }));
    }
  };
  inline.addEventListener("toggle", () => { if (inline.open) load(); });
  const link = el("a", { class: "subagent-open", href: `/s/${encodeURIComponent(child)}`, text: "Open its session" });
  return el("div", { class: "subagent", dataset: { status, session: child } }, head, link, inline);
}
