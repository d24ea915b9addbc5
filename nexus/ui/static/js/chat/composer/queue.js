// Messages queued while the agent works (nexus/chat/queue.py), listed under the transcript
// with "Edit" and "Cancel"; the server sends them, oldest first, when the session is idle.
import { api } from "../../api.js";
import { el, promptDialog, toast } from "../ui.js";

export class QueueList {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.list = el("ol", { class: "queued-list" });
    this.el = el("section", { class: "queued", hidden: true, "aria-label": "Queued messages" },
      el("p", { class: "queued-title", text: "Queued: sent when the agent is free" }), this.list);
  }

  url(id) {
    return `/api/sessions/${encodeURIComponent(this.sessionId)}/queue/${encodeURIComponent(id)}`;
  }

  render(queue) {
    this.list.replaceChildren(...(queue || []).map((item) => {
      const files = (item.files || []).map((f) => f.name).join(", ");
      return el("li", { class: "queued-item", dataset: { queued: item.id } },
        el("span", { class: "queued-text", text: item.text || files }),
        files && item.text ? el("span", { class: "queued-files file-chip", text: files }) : null,
        el("span", { class: "queued-actions" },
          el("button", { type: "button", class: "btn", text: "Edit", "aria-label": `Edit queued message: ${item.text}`,
            onclick: () => this.edit(item) }),
          el("button", { type: "button", class: "btn", text: "Cancel", "aria-label": `Cancel queued message: ${item.text}`,
            onclick: () => this.cancel(item) })));
    }));
    this.el.hidden = !(queue || []).length;
  }

  async edit(item) {
    const text = await promptDialog({ title: "Edit queued message", label: "Message", value: item.text || "" });
    if (text === null) return;
    try {
      await api(this.url(item.id), { method: "PATCH", body: { text } });
    } catch (err) { toast(err.message); }
  }

  async cancel(item) {
    try {
      await api(this.url(item.id), { method: "DELETE" });
    } catch (err) { toast(err.message); }
  }
}
