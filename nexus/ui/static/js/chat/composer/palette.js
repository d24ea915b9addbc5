// The composer's pop-up list: "/" at the start offers the slash commands (with their
// descriptions), "@" offers files of the session's project and agents. Arrow keys move,
// Enter or Tab chooses, Escape closes; a click or tap chooses too. It is tied to the
// message box with aria-controls and aria-activedescendant.
import { debounce, el, nextId } from "../ui.js";
import { commandsOf, mentionsMatching } from "./catalog.js";

const MAX_ITEMS = 12;

export class Palette {
  constructor(view, input) {
    this.view = view;
    this.input = input;
    this.items = [];
    this.active = -1;
    this.mentions = [];   // {type, path | name, label}: what the text mentions, sent with it
    this.commands = [];
    const listId = nextId("palette");
    this.el = el("ul", { class: "palette", id: listId, role: "listbox", hidden: true, "aria-label": "Suggestions" });
    // A textarea cannot take the combobox role; the list is tied to it by aria-controls and
    // aria-activedescendant, and announced through its own listbox role.
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    this.lookFiles = debounce((q, token) => this.showFiles(q, token), 150);
    input.addEventListener("input", () => this.refresh());
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  // The word being typed at the caret, if it starts with "/" (first word) or "@".
  trigger() {
    const value = this.input.value;
    const caret = this.input.selectionStart ?? value.length;
    const before = value.slice(0, caret);
    const match = /(^|\s)([/@])([^\s]*)$/.exec(before);
    if (!match) return null;
    const start = caret - match[3].length - 1;
    if (match[2] === "/" && start !== 0) return null;
    return { kind: match[2], query: match[3], start, end: caret };
  }

  async refresh() {
    const token = this.trigger();
    this.token = token;
    if (!token) { this.close(); return; }
    if (token.kind === "/") {
      try { this.commands = await commandsOf(this.view.id); } catch { this.commands = []; }
      if (this.token !== token) return;
      const q = token.query.toLowerCase();
      this.show(this.commands.filter((c) => c.name.toLowerCase().includes(q)).slice(0, MAX_ITEMS)
        .map((c) => ({ kind: "command", value: c.name, label: `/${c.name}`, detail: c.description })));
    } else {
      this.lookFiles(token.query, token);
    }
  }

  async showFiles(query, token) {
    let files = [];
    let agents = [];
    try {
      ({ files, agents } = await mentionsMatching(this.view.id, query));
    } catch { /* nothing to offer */ }
    if (this.token !== token) return;
    this.show([
      ...agents.map((a) => ({ kind: "agent", value: a.name, label: `@${a.name}`, detail: a.description || "agent" })),
      ...files.map((f) => ({ kind: "file", value: f, label: `@${f}`, detail: "file" })),
    ].slice(0, MAX_ITEMS));
  }

  show(items) {
    this.items = items;
    this.active = items.length ? 0 : -1;
    this.el.replaceChildren(...items.map((item, i) => {
      const option = el("li", { class: "palette-item", role: "option", id: `${this.el.id}-${i}`, dataset: { kind: item.kind } },
        el("span", { class: "palette-label", text: item.label }),
        item.detail ? el("span", { class: "palette-detail", text: item.detail }) : null);
      option.addEventListener("mousedown", (e) => { e.preventDefault(); this.choose(i); });
      return option;
    }));
    this.el.hidden = !items.length;
    this.highlight();
  }

  highlight() {
    [...this.el.children].forEach((c, i) => c.setAttribute("aria-selected", String(i === this.active)));
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", `${this.el.id}-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  close() {
    this.items = [];
    this.el.hidden = true;
    this.el.replaceChildren();
    this.input.removeAttribute("aria-activedescendant");
  }

  get open() { return !this.el.hidden && this.items.length > 0; }

  // Keys while the list is open; true when the key was used here.
  onKey(e) {
    if (!this.open) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : this.items.length - 1)) % this.items.length;
      this.highlight();
    } else if (e.key === "Enter" || e.key === "Tab") {
      this.choose(this.active);
    } else if (e.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  choose(index) {
    const item = this.items[index];
    const token = this.token;
    if (!item || !token) return;
    const value = this.input.value;
    const insert = `${item.label} `;
    this.input.value = value.slice(0, token.start) + insert + value.slice(token.end);
    const caret = token.start + insert.length;
    this.input.setSelectionRange(caret, caret);
    if (item.kind === "file") this.mentions.push({ type: "file", path: item.value, label: item.label });
    if (item.kind === "agent") this.mentions.push({ type: "agent", name: item.value, label: item.label });
    this.close();
    this.input.focus();
  }

  // What to send for `text`: a known slash command with its arguments, or the mentions still in it.
  outgoing(text) {
    const command = /^\/(\S+)(?:\s+([\s\S]*))?$/.exec(text);
    if (command && this.commands.some((c) => c.name === command[1])) {
      return { command: command[1], arguments: (command[2] || "").trim() };
    }
    const mentions = [];
    for (const m of this.mentions) {
      if (!text.includes(m.label)) continue;
      mentions.push(m.type === "file" ? { type: "file", path: m.path } : { type: "agent", name: m.name });
    }
    return { mentions };
  }

  reset() {
    this.mentions = [];
    this.close();
  }
}
