// The Changes tab: the working tree's diff, one coloured unified diff per file. The page
// refreshes it when the agent finishes a step (see workspace/pane.js).
import { api } from "../api.js";
import { el } from "../chat/ui.js";
import { diffBlock } from "../chat/render/diff.js";

const STATUS = { added: "A", modified: "M", deleted: "D", renamed: "R" };

export class ChangesPanel {
  constructor(panel, sessionId) {
    this.url = `/api/sessions/${encodeURIComponent(sessionId)}/changes`;
    this.note = el("p", { class: "muted pane-note", role: "status" });
    this.list = el("div", { class: "changes-list" });
    panel.append(el("div", { class: "files-bar" },
      el("span", { class: "changes-title", text: "Working tree" }),
      el("button", { type: "button", class: "btn tiny", text: "Refresh", onclick: () => this.refresh() })),
    this.note, this.list);
    this.loaded = false;
  }

  show() {
    if (!this.loaded) { this.loaded = true; this.refresh(); }
  }

  async refresh() {
    if (!this.loaded) return;
    try {
      const data = await api(this.url);
      const open = new Set([...this.list.querySelectorAll("details[open]")].map((d) => d.dataset.path));
      this.note.textContent = data.message || `${data.files.length} changed file${data.files.length === 1 ? "" : "s"}`
        + (data.truncated ? " (not all shown)" : "");
      this.list.replaceChildren(...data.files.map((f) => el("details", { class: "change", dataset: { path: f.path },
        open: open.has(f.path) || data.files.length <= 3 },
      el("summary", {},
        el("span", { class: `change-status s-${f.status}`, title: f.status, text: STATUS[f.status] || "M" }),
        el("span", { class: "change-path", text: f.path }),
        el("span", { class: "change-counts" }, el("span", { class: "d-added", text: `+${f.additions}` }), " ",
          el("span", { class: "d-removed", text: `−${f.deletions}` }))),
      f.binary ? el("p", { class: "muted", text: "Binary file changed." }) : diffBlock(f.diff, `Changes in ${f.path}`))));
    } catch (err) {
      this.note.textContent = err.message;
    }
  }
}
