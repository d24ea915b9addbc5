// A session's view: header (title, agent, model, status, counters, actions), transcript,
// permission prompts, status line and composer. The same class draws a card on the main page
// (mode "card") and the full view at /s/<id> (mode "full").
//
// Long transcripts: only the newest messages are drawn at first; older ones are drawn in
// batches as the reader scrolls up, then fetched from the server when the store runs out.
import { api } from "../api.js";
import { MessageView } from "./render/message.js";
import { permissionPrompt } from "./render/permission.js";
import { projectOf } from "./projects.js";
import { questionPrompt } from "./render/question.js";
import { QueueList } from "./composer/queue.js";
import { Chips } from "./composer/chips.js";
import { ContextMeter } from "./composer/meter.js";
import { Palette } from "./composer/palette.js";
import { applyHistory, messageActions, revertBar } from "./history.js";
import { renderTodos, todosSection } from "./todos.js";
import {
  STATUS_WORDS, announce, compact, confirmDialog, el, grouped, money, nextId, promptDialog, toast, totalTokens,
} from "./ui.js";

// Enough to fill a tall window (a message is rarely under 80 px); the rest is drawn as the reader
// scrolls up. Each drawn message costs its markdown, sanitizing and highlighting before the
// first paint: 30 of them were most of a long session's opening time (bench/long_session.py);
// a card shows two or three, so 6 (Lighthouse's longest task was one card's markdown).
const FIRST_BATCH = { card: 6, full: 12 };
const BATCH = 30;
const MAX_FILES = 10;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const coarse = () => matchMedia("(pointer: coarse)").matches;

export class SessionView {
  constructor(store, connection, id, { mode = "card", onRemoved = () => {}, onStatus = () => {} } = {}) {
    this.store = store;
    this.connection = connection;
    this.id = id;
    this.mode = mode;
    this.onRemoved = onRemoved;
    this.onStatus = onStatus;
    this.views = new Map();        // message id -> MessageView
    this.first = 0;                // index (in state.messages) of the oldest drawn message
    this.dirty = new Map();        // message id -> Set of part ids, or null for all
    this.pending = null;           // a whole redraw is due
    this.frame = 0;
    this.files = [];
    this.sending = false;
    this.retryTimer = null;
    this.build();
    this.unsubscribe = store.subscribe(id, (change) => this.onChange(change));
    connection.follow(id);
    this.renderHeader();
    if (this.state.loaded) this.redraw();
  }

  get state() { return this.store.get(this.id); }

  // ----- building -------------------------------------------------------------------------

  build() {
    const full = this.mode === "full";
    const titleId = nextId("title");
    this.titleEl = el(full ? "h1" : "h2", { class: "session-title", id: titleId });
    this.titleLink = el("a", { href: `/s/${encodeURIComponent(this.id)}` });
    this.titleEl.append(full ? document.createTextNode("") : this.titleLink);
    this.badge = el("span", { class: "badge status", dataset: { status: "idle" } });
    this.metaEl = el("p", { class: "session-meta" });
    this.counters = el("span", { class: "counters", "aria-label": "Tokens and cost" });
    this.menu = this.buildMenu();
    const head = el("header", { class: "session-head" },
      el("div", { class: "session-title-row" }, this.titleEl, this.badge, this.menu),
      el("div", { class: "session-meta-row" }, this.metaEl, this.counters));

    this.older = el("button", { type: "button", class: "btn link load-older", hidden: true, text: "Show earlier messages",
      onclick: () => this.showOlder() });
    this.sentinel = el("div", { class: "sentinel", "aria-hidden": "true" });
    this.list = el("div", { class: "messages" });
    this.empty = el("p", { class: "transcript-empty", text: "No messages yet. Say what you want done." });
    this.errorsEl = el("div", { class: "session-errors" });
    this.transcript = el("div", { class: "transcript", role: "log", "aria-live": "off", tabindex: "0",
      "aria-label": "Transcript" }, this.older, this.sentinel, this.list, this.empty, this.errorsEl);

    this.revertBar = revertBar();
    this.todosEl = todosSection();
    this.permissionsEl = el("div", { class: "permissions" });
    this.questionsEl = el("div", { class: "questions", hidden: true });
    this.queueList = new QueueList(this.id);
    this.permissionsEl.addEventListener("focusin", () => { this.answering = true; });
    this.statusLine = el("p", { class: "status-line", role: "status" });
    this.archivedNote = el("p", { class: "archived-note", hidden: true,
      text: "This session is archived. Sending a message reopens it." });
    this.root = el("article", { class: `session ${full ? "full" : "card"}`, "aria-labelledby": titleId,
      dataset: { session: this.id, status: "idle" } },
    head, this.transcript, this.revertBar, this.queueList.el, this.todosEl, this.permissionsEl, this.questionsEl,
    this.statusLine, this.archivedNote, this.buildComposer());

    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !this.older.hidden) this.showOlder();
    }, { root: this.transcript, rootMargin: "200px 0px 0px 0px" });
    this.observer.observe(this.sentinel);
    this.transcript.addEventListener("scroll", () => {
      const t = this.transcript;
      this.pinned = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
    }, { passive: true });
    this.pinned = true;
  }

  buildMenu() {
    const id = this.id;
    const listId = nextId("menu");
    const button = el("button", { type: "button", class: "btn icon", "aria-label": "Session actions",
      "aria-haspopup": "true", "aria-expanded": "false", "aria-controls": listId },
    el("span", { "aria-hidden": "true", text: "⋯" }));
    const list = el("div", { class: "menu-list", id: listId, hidden: true });
    const wrap = el("div", { class: "menu" }, button, list);
    const setOpen = (open) => {
      list.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open) list.querySelector(".menu-item:not([hidden])")?.focus();
    };
    // The item goes with the menu: focus goes back to the menu's button first, so a dialog the
    // item opens returns the focus there when it closes.
    const item = (text, onclick, cls = "") => el("button", { type: "button", class: `menu-item ${cls}`, text,
      onclick: () => { setOpen(false); button.focus(); onclick(); } });
    const link = (text, href, extra = {}) => el("a", { class: "menu-item", href, text, ...extra,
      onclick: () => setOpen(false) });
    this.archiveItem = item("Archive", () => this.setArchived(true));
    this.reopenItem = item("Reopen", () => this.setArchived(false));
    list.append(...[
      this.mode === "card" ? link("Open full view", `/s/${encodeURIComponent(id)}`) : null,
      item("Rename…", () => this.rename()),
      this.archiveItem, this.reopenItem,
      link("Export as Markdown", `/api/sessions/${encodeURIComponent(id)}/export?format=md`, { download: "" }),
      link("Export as JSON", `/api/sessions/${encodeURIComponent(id)}/export?format=json`, { download: "" }),
      item("Delete…", () => this.remove(), "danger"),
    ].filter(Boolean));
    button.addEventListener("click", () => setOpen(list.hidden));
    document.addEventListener("click", (e) => { if (!list.hidden && !wrap.contains(e.target)) setOpen(false); });
    wrap.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !list.hidden) { setOpen(false); button.focus(); }
      if ((e.key === "ArrowDown" || e.key === "ArrowUp") && !list.hidden) {
        const items = [...list.querySelectorAll(".menu-item")].filter((i) => !i.hidden);
        const at = items.indexOf(document.activeElement);
        items[(at + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
        e.preventDefault();
      }
    });
    return wrap;
  }

  buildComposer() {
    const inputId = nextId("msg");
    const fileId = nextId("file");
    this.input = el("textarea", { id: inputId, class: "composer-input", rows: "1", autocomplete: "off",
      placeholder: "Message the agent…", "aria-describedby": `${inputId}-hint` });
    this.fileInput = el("input", { type: "file", id: fileId, multiple: true, class: "visually-hidden", tabindex: "-1",
      "aria-label": "Files to attach" });
    this.attachments = el("ul", { class: "attachments", "aria-label": "Attached files" });
    this.sendBtn = el("button", { type: "submit", class: "btn primary send", text: "Send" });
    this.stopBtn = el("button", { type: "button", class: "btn danger-solid stop", hidden: true, text: "Stop",
      onclick: () => this.stop() });
    const attach = el("button", { type: "button", class: "btn attach", text: "Attach",
      "aria-label": "Attach files", onclick: () => this.fileInput.click() });
    this.palette = new Palette(this, this.input);
    this.chips = new Chips(this);
    this.meter = new ContextMeter(this, this.chips);
    this.form = el("form", { class: "composer" },
      el("label", { for: inputId, class: "visually-hidden", text: "Message" }),
      el("div", { class: "composer-tools" }, this.chips.el, this.meter.el),
      this.attachments,
      this.palette.el,
      this.input,
      el("div", { class: "composer-row" },
        el("p", { id: `${inputId}-hint`, class: "composer-hint",
          text: coarse() ? "The Send button sends." : "Enter sends · Shift+Enter for a new line" }),
        this.fileInput, attach, this.stopBtn, this.sendBtn));
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.send(); });
    this.input.addEventListener("keydown", (e) => {
      if (this.palette.onKey(e)) return;
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !coarse()) {
        e.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => this.autosize());
    this.fileInput.addEventListener("change", () => { this.addFiles(this.fileInput.files); this.fileInput.value = ""; });
    for (const type of ["dragenter", "dragover"]) {
      this.form.addEventListener(type, (e) => {
        if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
        e.preventDefault();
        this.form.classList.add("dropping");
      });
    }
    this.form.addEventListener("dragleave", () => this.form.classList.remove("dropping"));
    this.form.addEventListener("drop", (e) => {
      this.form.classList.remove("dropping");
      if (!e.dataTransfer?.files?.length) return;
      e.preventDefault();
      this.addFiles(e.dataTransfer.files);
    });
    this.input.addEventListener("paste", (e) => {
      if (e.clipboardData?.files?.length) { e.preventDefault(); this.addFiles(e.clipboardData.files); }
    });
    return this.form;
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, this.mode === "full" ? 240 : 140)}px`;
  }

  // ----- reacting to the store -----------------------------------------------------------

  onChange(change) {
    switch (change.kind) {
      case "reset": case "prepend":
        this.pending = change.kind;
        break;
      case "session":
        this.renderHeader();
        applyHistory(this);
        renderTodos(this.todosEl, this.state.session.todos);
        return;
      case "todos":
        renderTodos(this.todosEl, this.state.session.todos);
        return;
      case "removed":
        this.views.get(change.id)?.el.remove();
        this.views.delete(change.id);
        applyHistory(this);
        return;
      case "queue":
        this.queueList.render(this.state.queue);
        return;
      case "status": case "permissions": case "questions":
        this.renderHeader();
        this.renderPermissions();
        this.renderQuestions();
        this.renderStatus();
        if (change.kind === "permissions" && this.state.permissions.size) announce(`${this.state.session.title}: permission needed`);
        if (change.kind === "questions" && this.state.questions.size) announce(`${this.state.session.title}: the agent asks you a question`);
        return;
      case "usage":
        this.renderHeader();
        return;
      case "error":
        this.renderErrors();
        return;
      case "message": case "part": {
        const set = this.dirty.get(change.id);
        if (change.part && set !== null) {
          (set || this.dirty.set(change.id, new Set()).get(change.id)).add(change.part);
        } else {
          this.dirty.set(change.id, null);
        }
        if (change.ended && this.state.byId.get(change.id)?.role === "assistant") {
          const m = this.state.byId.get(change.id);
          if (m.error && m.error.name !== "aborted") announce(`${this.state.session.title}: ${m.error.message}`);
          // Screen readers hear the finished reply once, politely (the transcript itself is aria-live off).
          else if (!m.error) announce(`${this.state.session.title || "Session"}: reply finished`);
        }
        break;
      }
      default:
        return;
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    const t = this.transcript;
    const stick = this.pinned;
    if (this.pending === "reset") {
      this.pending = null;
      this.dirty.clear();
      this.redraw();
      return;
    }
    if (this.pending === "prepend") {
      this.pending = null;
      this.drawOlder();
    }
    const messages = this.state.messages;
    for (const [id, parts] of this.dirty) {
      const message = this.state.byId.get(id);
      if (!message) continue;
      const view = this.views.get(id);
      if (view) view.update(message, parts);
      else if (messages.indexOf(message) >= this.first) this.appendMessage(message);
    }
    this.dirty.clear();
    this.empty.hidden = messages.length > 0;
    applyHistory(this);
    if (stick) t.scrollTop = t.scrollHeight;
  }

  messageView(message) {
    return new MessageView(message, { actions: (m) => messageActions(this, m) });
  }

  appendMessage(message) {
    const view = this.messageView(message);
    this.views.set(message.id, view);
    // Messages arrive in order; a message created late (a part before its start) goes in place.
    const index = this.state.messages.indexOf(message);
    const next = this.state.messages.slice(index + 1).find((m) => this.views.has(m.id));
    if (next) this.views.get(next.id).el.before(view.el); else this.list.append(view.el);
  }

  redraw() {
    const messages = this.state.messages;
    this.views.clear();
    this.first = Math.max(0, messages.length - FIRST_BATCH[this.mode]);
    const nodes = [];
    for (const message of messages.slice(this.first)) {
      const view = this.messageView(message);
      this.views.set(message.id, view);
      nodes.push(view.el);
    }
    this.list.replaceChildren(...nodes);
    this.empty.hidden = messages.length > 0;
    this.updateOlder();
    this.renderHeader();
    this.renderPermissions();
    this.renderQuestions();
    this.queueList.render(this.state.queue);
    this.renderStatus();
    this.renderErrors();
    applyHistory(this);
    renderTodos(this.todosEl, this.state.session.todos);
    this.root.dataset.loaded = "1";
    this.transcript.scrollTop = this.transcript.scrollHeight;
    this.pinned = true;
  }

  updateOlder() {
    this.older.hidden = !(this.first > 0 || this.state.hasMore);
  }

  // Draw the next batch of older messages, fetching them from the server when needed.
  async showOlder() {
    if (this.loadingOlder) return;
    if (this.first > 0) { this.drawOlder(); return; }
    if (!this.state.hasMore) return;
    this.loadingOlder = true;
    this.older.textContent = "Loading…";
    try {
      const oldest = this.state.messages[0]?.id;
      const data = await api(`/api/sessions/${encodeURIComponent(this.id)}/messages?limit=100${oldest ? `&before=${encodeURIComponent(oldest)}` : ""}`);
      this.store.prepend(this.id, data.messages, data.has_more);
    } catch (err) {
      toast(`Could not load earlier messages: ${err.message}`);
    } finally {
      this.loadingOlder = false;
      this.older.textContent = "Show earlier messages";
    }
  }

  drawOlder() {
    const messages = this.state.messages;
    // After a prepend the drawn messages moved: find the oldest drawn one again.
    const firstDrawn = this.list.firstElementChild?.dataset.id;
    const at = firstDrawn ? messages.findIndex((m) => m.id === firstDrawn) : messages.length;
    const start = Math.max(0, at - BATCH);
    const t = this.transcript;
    const before = t.scrollHeight - t.scrollTop;
    const nodes = [];
    for (const message of messages.slice(start, at)) {
      const view = this.messageView(message);
      this.views.set(message.id, view);
      nodes.push(view.el);
    }
    this.list.prepend(...nodes);
    this.first = start;
    t.scrollTop = t.scrollHeight - before;  // keep the reader's place
    this.updateOlder();
  }

  renderHeader() {
    const s = this.state.session;
    const status = this.state.status.status || s.status || "idle";
    const title = s.title || "Untitled session";
    if (this.mode === "full") {
      this.titleEl.textContent = title;
      document.title = `${status === "waiting" ? "Needs you · " : ""}${title} · Nexus`;
    } else {
      this.titleLink.textContent = title;
    }
    this.badge.textContent = STATUS_WORDS[status] || status;
    this.badge.dataset.status = status;
    this.root.dataset.status = status;
    // A session made with the defaults learns its agent and model from its replies.
    const latest = this.state.messages.findLast?.((m) => m.role === "assistant" && m.model) || {};
    const bits = [s.agent || latest.agent || "default agent", s.model || latest.model || "default model"];
    const meta = [];
    bits.forEach((b, i) => {
      if (i) meta.push(el("span", { class: "sep", "aria-hidden": "true", text: "·" }));
      meta.push(el("span", { text: b }));
    });
    this.metaEl.replaceChildren(...projectBits(s), ...meta);
    this.root.dataset.reachable = s.reachable === false ? "no" : "yes";
    const tokens = totalTokens(s.tokens);
    this.counters.replaceChildren(el("span", { class: "tokens", text: `${compact(tokens)} tokens` }),
      el("span", { class: "sep", "aria-hidden": "true", text: "·" }), el("span", { class: "cost", text: money(s.cost) }));
    this.counters.title = `${grouped(tokens)} tokens · $${Number(s.cost || 0).toFixed(6)}`;
    const archived = s.state === "archived";
    this.root.dataset.archived = archived ? "1" : "0";
    this.archivedNote.hidden = !archived;
    this.archiveItem.hidden = archived;
    this.reopenItem.hidden = !archived;
    this.updateComposer();
    this.onStatus(this);
  }

  get status() { return this.state.status.status || "idle"; }
  get busy() { return ["busy", "retry", "waiting"].includes(this.status); }

  updateComposer() {
    this.chips.update();
    this.meter.update();
    const busy = this.busy;
    // While the agent works a message is queued, and sent when it is free.
    this.sendBtn.textContent = busy ? "Queue" : "Send";
    this.stopBtn.hidden = !busy;
    this.sendBtn.disabled = this.sending;
  }

  renderPermissions() {
    const perms = [...this.state.permissions.values()];
    const shown = new Set([...this.permissionsEl.children].map((c) => c.dataset.permission));
    const wanted = new Set(perms.map((p) => p.id));
    // Answering disables the prompt's buttons, which drops focus to <body> before the prompt goes.
    const lost = !document.activeElement || document.activeElement === document.body;
    const hadFocus = this.permissionsEl.contains(document.activeElement) || (this.answering && lost);
    for (const child of [...this.permissionsEl.children]) if (!wanted.has(child.dataset.permission)) child.remove();
    for (const p of perms) if (!shown.has(p.id)) this.permissionsEl.append(permissionPrompt(this.id, p));
    this.permissionsEl.hidden = !perms.length;
    // An answered prompt disappears: focus goes to the next question, else back to the message box.
    if (hadFocus && !this.permissionsEl.querySelector("button:not(:disabled):focus")) {
      const next = this.permissionsEl.querySelector("button:not(:disabled)");
      if (next || perms.length === 0) {
        (next || this.input).focus();
        this.answering = false;
      }
    }
  }

  renderQuestions() {
    const questions = [...this.state.questions.values()];
    const wanted = new Set(questions.map((q) => q.id));
    const shown = new Map([...this.questionsEl.children].map((c) => [c.dataset.question, c]));
    for (const [id, child] of shown) if (!wanted.has(id)) child.remove();
    for (const q of questions) {
      const old = shown.get(q.id);
      // A question that became detached (OpenCode restarted) is drawn again: its note changes.
      if (old && old.dataset.detached === String(!!q.detached)) continue;
      const box = questionPrompt(this.id, q);
      if (old) old.replaceWith(box); else this.questionsEl.append(box);
    }
    this.questionsEl.hidden = !questions.length;
  }

  renderStatus() {
    clearInterval(this.retryTimer);
    const st = this.state.status;
    const line = this.statusLine;
    line.dataset.status = st.status;
    if (st.status === "retry") {
      const tick = () => {
        const left = Math.max(0, Math.ceil((st.next_at || 0) - Date.now() / 1000));
        line.replaceChildren(el("strong", { text: "Retrying" }),
          ` ${left ? `in ${left} s` : "now"}${st.attempt ? ` (attempt ${st.attempt})` : ""}. `,
          el("span", { class: "muted", text: st.message ? `The model provider said: ${st.message}` : "" }));
      };
      tick();
      this.retryTimer = setInterval(tick, 1000);
    } else if (st.status === "busy") {
      line.replaceChildren(el("span", { class: "working", "aria-hidden": "true" }), "Working…");
    } else if (st.status === "waiting") {
      line.replaceChildren(el("strong", { text: "Waiting for your answer" }),
        this.state.questions.size && !this.state.permissions.size ? " to the question above." : " to the permission request above.");
    } else {
      line.replaceChildren();
    }
    line.hidden = !line.childNodes.length;
  }

  renderErrors() {
    const recent = this.state.errors.slice(-3);
    this.errorsEl.replaceChildren(...recent.map((e) => el("p", { class: "session-error", role: "alert", text: e.message || "Something went wrong." })));
  }

  // ----- actions --------------------------------------------------------------------------

  async addFiles(list) {
    for (const file of [...list]) {
      if (this.files.length >= MAX_FILES) { toast(`Attach at most ${MAX_FILES} files.`); break; }
      if (file.size > MAX_FILE_BYTES) { toast(`${file.name} is larger than 10 MB.`); continue; }
      const data = await new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(file);
      });
      this.files.push({ name: file.name, mime: file.type || "application/octet-stream", data });
    }
    this.renderAttachments();
  }

  renderAttachments() {
    this.attachments.replaceChildren(...this.files.map((f, i) => el("li", { class: "attachment" },
      el("span", { text: f.name }),
      el("button", { type: "button", class: "btn icon tiny", "aria-label": `Remove ${f.name}`, text: "×",
        onclick: () => { this.files.splice(i, 1); this.renderAttachments(); this.input.focus(); } }))));
    this.attachments.hidden = !this.files.length;
  }

  async send() {
    const text = this.input.value.trim();
    if ((!text && !this.files.length) || this.sending) return;
    this.sending = true;
    this.updateComposer();
    try {
      const out = this.palette.outgoing(text);
      if (out.command) {
        await api(`/api/sessions/${encodeURIComponent(this.id)}/commands/${encodeURIComponent(out.command)}`,
          { method: "POST", body: { arguments: out.arguments } });
      } else {
        await api(`/api/sessions/${encodeURIComponent(this.id)}/prompt`,
          { method: "POST", body: { text, files: this.files, mentions: out.mentions } });
      }
      this.palette.reset();
      this.input.value = "";
      this.files = [];
      this.renderAttachments();
      this.autosize();
      this.pinned = true;
    } catch (err) {
      toast(err.message);
    } finally {
      this.sending = false;
      this.updateComposer();
    }
  }

  async stop() {
    this.stopBtn.disabled = true;
    try {
      await api(`/api/sessions/${encodeURIComponent(this.id)}/abort`, { method: "POST" });
    } catch (err) {
      toast(err.message);
    } finally {
      this.stopBtn.disabled = false;
    }
  }

  async rename() {
    const title = await promptDialog({ title: "Rename session", label: "Title", value: this.state.session.title || "" });
    if (title === null || !title.trim()) return;
    try {
      const session = await api(`/api/sessions/${encodeURIComponent(this.id)}`, { method: "PATCH", body: { title } });
      Object.assign(this.state.session, { title: session.title });
      this.renderHeader();
    } catch (err) { toast(err.message); }
  }

  async setArchived(archived) {
    try {
      const session = await api(`/api/sessions/${encodeURIComponent(this.id)}`, { method: "PATCH", body: { state: archived ? "archived" : "active" } });
      Object.assign(this.state.session, { state: session.state });
      this.renderHeader();
      if (archived) this.onRemoved(this, "archived");
    } catch (err) { toast(err.message); }
  }

  async remove() {
    const opencode = this.state.session.engine === "opencode";
    const answer = await confirmDialog({ title: "Delete this session?", ok: "Delete", danger: true,
      body: `“${this.state.session.title}” and its transcript will be hidden. You can undo this for a moment.`,
      check: opencode ? "Also delete it in OpenCode (its terminal and web clients lose it; this part cannot be undone)" : null });
    if (!answer) return;
    const everywhere = answer === "checked" ? "?opencode=1" : "";
    try {
      await api(`/api/sessions/${encodeURIComponent(this.id)}${everywhere}`, { method: "DELETE" });
      this.onRemoved(this, "deleted");
    } catch (err) { toast(err.message); }
  }

  destroy() {
    this.unsubscribe();
    this.connection.unfollow(this.id);
    this.observer.disconnect();
    clearInterval(this.retryTimer);
    this.root.remove();
  }
}

// The session's project (name and branch), its server when not this computer, and a clear
// word when that server cannot be reached.
function projectBits(s) {
  const project = projectOf(s);
  if (!project) return [];
  const out = [el("span", { class: "project-chip", title: project.path,
    text: project.branch ? `${project.name} · ${project.branch}` : project.name })];
  if (project.server !== "local") out.push(el("span", { class: "server-chip", text: project.serverName || project.server }));
  if (s.reachable === false) out.push(el("span", { class: "unreachable", role: "status", text: "Server unreachable" }));
  out.push(el("span", { class: "sep", "aria-hidden": "true", text: "·" }));
  return out;
}
