// The Files tab: the workspace tree (folders open in place, ignored entries dimmed), a viewer
// with syntax highlighting, name and content search, and "Attach to chat".
import { api } from "../api.js";
import { el } from "../chat/ui.js";
import { highlight } from "../chat/render/highlight.js";

const MAX_ATTACH_BYTES = 10 * 1024 * 1024;

export class FilesPanel {
  constructor(panel, sessionId, { attach }) {
    this.panel = panel;
    this.base = `/api/sessions/${encodeURIComponent(sessionId)}`;
    this.attach = attach;
    this.search = el("input", { type: "search", class: "files-search", placeholder: "Search files",
      "aria-label": "Search file names or contents" });
    this.where = el("select", { "aria-label": "Search in" },
      el("option", { value: "names", text: "Names" }), el("option", { value: "content", text: "Contents" }));
    // role "tree" only while it holds tree items (an empty tree breaks ARIA's rules): see refresh().
    this.tree = el("ul", { class: "tree", "aria-label": "Workspace files" });
    this.results = el("ul", { class: "search-results", "aria-label": "Search results", hidden: true });
    this.viewer = el("div", { class: "file-viewer", hidden: true });
    this.status = el("p", { class: "muted pane-note", role: "status" });
    const form = el("form", { class: "files-bar", role: "search", onsubmit: (e) => { e.preventDefault(); this.runSearch(); } },
      this.search, this.where, el("button", { type: "submit", class: "btn tiny", text: "Search" }),
      el("button", { type: "button", class: "btn tiny", text: "Refresh", onclick: () => this.refresh() }));
    this.search.addEventListener("input", () => { if (!this.search.value.trim()) this.showTree(); });
    panel.append(form, this.status, el("div", { class: "files-body" }, this.tree, this.results, this.viewer));
    this.loaded = false;
  }

  show() {
    if (!this.loaded) { this.loaded = true; this.refresh(); }
  }

  async refresh() {
    if (!this.loaded) return;
    const open = [...this.tree.querySelectorAll('li[aria-expanded="true"]')].map((li) => li.dataset.path);
    try {
      this.tree.replaceChildren(...await this.entries("."));
      if (this.tree.querySelector('[role="treeitem"]')) this.tree.setAttribute("role", "tree");
      else this.tree.removeAttribute("role");
      for (const li of this.tree.querySelectorAll(':scope > li[role="none"]')) {
        if (!this.tree.hasAttribute("role")) li.removeAttribute("role");
      }
      for (const path of open) {
        const li = [...this.tree.querySelectorAll("li")].find((x) => x.dataset.path === path);
        if (li) await this.toggle(li, true);
      }
      this.status.textContent = "";
    } catch (err) {
      this.status.textContent = err.message;
    }
  }

  async entries(path) {
    const data = await api(`${this.base}/files?path=${encodeURIComponent(path)}`);
    const items = data.entries.map((e) => this.entry(e));
    if (!items.length) items.push(el("li", { class: "muted tree-empty", role: "none", text: "Empty folder" }));
    if (data.truncated) items.push(el("li", { class: "muted", role: "none", text: "… more entries not shown" }));
    return items;
  }

  entry(e) {
    const li = el("li", { role: "treeitem", class: `tree-item ${e.type}${e.ignored ? " ignored" : ""}`,
      dataset: { path: e.path, type: e.type }, "aria-expanded": e.type === "dir" ? "false" : undefined });
    const label = el("button", { type: "button", class: "tree-label", title: e.ignored ? `${e.path} (ignored by git)` : e.path,
      onclick: () => (e.type === "dir" ? this.toggle(li) : this.open(e.path)) },
    el("span", { class: "tree-icon", "aria-hidden": "true", text: e.type === "dir" ? "▸" : "·" }),
    el("span", { class: "tree-name", text: e.name }));
    li.append(label);
    return li;
  }

  async toggle(li, open = li.getAttribute("aria-expanded") !== "true") {
    li.querySelector(":scope > ul")?.remove();
    li.setAttribute("aria-expanded", String(open));
    li.querySelector(".tree-icon").textContent = open ? "▾" : "▸";
    if (!open) return;
    try {
      li.append(el("ul", { role: "group" }, await this.entries(li.dataset.path)));
    } catch (err) {
      this.status.textContent = err.message;
    }
  }

  async open(path) {
    let file;
    try {
      file = await api(`${this.base}/files/content?path=${encodeURIComponent(path)}`);
    } catch (err) {
      this.status.textContent = err.message;
      return;
    }
    const ext = path.includes(".") ? path.split(".").pop().toLowerCase() : "";
    const code = el("code", { class: ext ? `language-${ext}` : "", text: file.text });
    const body = file.binary ? el("p", { class: "muted", text: `A binary file (${file.size} bytes): not shown.` })
      : el("pre", { class: "file-text", tabindex: "0", "aria-label": `Contents of ${path}` }, code);
    const canAttach = !file.binary && !file.truncated && file.size <= MAX_ATTACH_BYTES;
    this.viewer.replaceChildren(...[
      el("div", { class: "viewer-head" },
        el("button", { type: "button", class: "btn tiny", text: "← Back", onclick: () => this.closeViewer() }),
        el("span", { class: "viewer-path", text: file.path }),
        canAttach ? el("button", { type: "button", class: "btn tiny", text: "Attach to chat",
          onclick: () => this.attach(file) }) : null),
      file.truncated ? el("p", { class: "muted pane-note", text: "Only the beginning of this large file is shown." }) : null,
      body].filter(Boolean));
    this.viewer.hidden = false;
    this.tree.hidden = this.results.hidden = true;
    this.viewer.querySelector("button").focus();
    if (!file.binary) highlight([code]);
  }

  closeViewer() {
    this.viewer.hidden = true;
    if (this.search.value.trim() && this.results.childElementCount) this.results.hidden = false;
    else this.tree.hidden = false;
  }

  showTree() {
    this.results.hidden = this.viewer.hidden = true;
    this.tree.hidden = false;
    this.status.textContent = "";
  }

  async runSearch() {
    const q = this.search.value.trim();
    if (!q) { this.showTree(); return; }
    const where = this.where.value;
    try {
      const data = await api(`${this.base}/files/search?in=${where}&q=${encodeURIComponent(q)}`);
      const rows = where === "names"
        ? data.files.map((path) => el("li", {}, el("button", { type: "button", class: "tree-label", text: path, onclick: () => this.open(path) })))
        : data.matches.map((m) => el("li", {}, el("button", { type: "button", class: "tree-label", onclick: () => this.open(m.path) },
          el("span", { class: "match-path", text: `${m.path}:${m.line}` }), el("span", { class: "match-text", text: m.text }))));
      this.results.replaceChildren(...rows);
      this.status.textContent = rows.length ? `${rows.length} found` : "Nothing found.";
      this.results.hidden = false;
      this.tree.hidden = this.viewer.hidden = true;
    } catch (err) {
      this.status.textContent = err.message;
    }
  }
}
