// The agent's to-do list (OpenCode's todowrite tool) as a compact checklist, on the card and
// in the full view. The list comes whole with each `todo.updated` event (session.todos).
import { el } from "./ui.js";

const STATE = {
  completed: { mark: "✓", words: "done" },
  in_progress: { mark: "◐", words: "in progress" },
  cancelled: { mark: "✕", words: "cancelled" },
  pending: { mark: "○", words: "to do" },
};

export function renderTodos(section, todos) {
  const items = Array.isArray(todos) ? todos : [];
  section.hidden = !items.length;
  if (!items.length) { section.replaceChildren(); return; }
  const done = items.filter((t) => t.status === "completed").length;
  const list = el("ul", { class: "todo-list" }, ...items.map((t) => {
    const state = STATE[t.status] || STATE.pending;
    return el("li", { class: "todo", dataset: { status: t.status || "pending" } },
      el("span", { class: "todo-mark", "aria-hidden": "true", text: state.mark }),
      el("span", { class: "todo-text", text: t.content || "" }),
      el("span", { class: "visually-hidden", text: ` (${state.words})` }));
  }));
  const summary = el("summary", { class: "todo-summary" },
    el("span", { class: "todo-title", text: "To-dos" }),
    el("span", { class: "todo-count", text: `${done} of ${items.length} done` }));
  const wasOpen = section.querySelector("details")?.open;
  const details = el("details", { class: "todos-box", open: wasOpen ?? true }, summary, list);
  section.replaceChildren(details);
}

export function todosSection() {
  return el("section", { class: "todos", "aria-label": "The agent's to-do list", hidden: true });
}
