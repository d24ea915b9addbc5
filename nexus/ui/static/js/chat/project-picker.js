// The new-session dialog's project picker: recent projects first, type-ahead on paths (a
// datalist), the server to run on, and a folder browser over the owner's home (folders only).
import { api } from "../api.js";
import { loadProjects } from "./projects.js";
import { el } from "./ui.js";

const $ = (id) => document.getElementById(id);

export class ProjectPicker {
  constructor() {
    this.input = $("new-project");
    this.list = $("new-project-list");
    this.server = $("new-server");
    this.browser = $("new-browser");
    this.projects = [];
    $("new-browse").addEventListener("click", () => this.toggleBrowser());
    this.server.addEventListener("change", () => this.fill());
  }

  async open() {
    this.input.value = "";
    this.browser.hidden = true;
    const [projects, servers] = await Promise.all([
      loadProjects({ fresh: true }),
      api("/api/servers").then((d) => d.servers).catch(() => []),
    ]);
    this.projects = projects;
    const current = this.server.value || "local";
    this.server.replaceChildren(...servers.map((s) => el("option", { value: s.id,
      text: `${s.name}${["running", "unhealthy"].includes(s.state) ? "" : ` (${s.state})`}` })));
    this.server.value = servers.some((s) => s.id === current) ? current : "local";
    $("new-server-row").hidden = servers.length < 2;
    this.fill();
  }

  // Recent first (the API's order); the default folder is the placeholder, not a value.
  fill() {
    const mine = this.projects.filter((p) => p.server === this.server.value);
    this.list.replaceChildren(...mine.map((p) => el("option", { value: p.path,
      label: `${p.name}${p.branch ? ` · ${p.branch}` : ""}` })));
    const fallback = mine.find((p) => p.default);
    this.input.placeholder = fallback ? `${fallback.path} (default)` : "/absolute/path/to/project";
    this.input.required = this.server.value !== "local";
  }

  value() {
    const directory = this.input.value.trim();
    const server = this.server.value || "local";
    return { ...(directory ? { directory } : {}), ...(server !== "local" ? { server } : {}) };
  }

  async toggleBrowser() {
    if (!this.browser.hidden) { this.browser.hidden = true; return; }
    this.browser.hidden = false;
    await this.browse(this.input.value.trim() || null);
  }

  async browse(path) {
    this.browser.replaceChildren(el("p", { class: "muted small", text: "Loading folders…" }));
    try {
      const data = await api(`/api/projects/browse${path ? `?path=${encodeURIComponent(path)}` : ""}`);
      const items = data.folders.map((f) => el("li", {},
        el("button", { type: "button", class: "folder", text: f.name, title: f.path, onclick: () => this.browse(f.path) })));
      this.browser.replaceChildren(
        el("div", { class: "browser-head" },
          el("button", { type: "button", class: "btn small", text: "Up", disabled: !data.parent,
            "aria-label": "Parent folder", onclick: () => this.browse(data.parent) }),
          el("span", { class: "browser-path", text: data.path }),
          el("button", { type: "button", class: "btn primary small", text: "Use this folder", onclick: () => {
            this.input.value = data.path;
            this.browser.hidden = true;
            this.input.focus();
          } })),
        items.length ? el("ul", { class: "browser-list", "aria-label": "Folders" }, ...items)
          : el("p", { class: "muted small", text: "No folders here." }));
    } catch (err) {
      this.browser.replaceChildren(el("p", { class: "form-error", text: err.message }));
    }
  }
}
