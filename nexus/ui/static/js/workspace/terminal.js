// The Terminal tab: shells in the session's workspace, drawn by xterm.js (loaded only when
// this tab first opens). Each shell lives on the server; this page attaches over a
// WebSocket, and after a network drop or a reload it attaches again and gets the screen back.
import { api } from "../api.js";
import { el } from "../chat/ui.js";

const VENDOR = new URL("../../vendor/", import.meta.url);
const REFUSED = 4403, GONE = 4404;
let xtermLoading = null;

// xterm.js sizes and colours cells with <style> elements it creates. The page's CSP lets
// styles in only with this page's nonce, so elements made by script get it; HTML parsed
// from anywhere else (a transcript) still cannot add styles.
function allowScriptStyles() {
  const nonce = document.querySelector('meta[name="style-nonce"]')?.content;
  if (!nonce || Document.prototype.createElement.nexusNonce) return;
  const create = Document.prototype.createElement;
  const patched = function createElement(tag, options) {
    const node = create.call(this, tag, options);
    if (String(tag).toLowerCase() === "style") node.nonce = nonce;
    return node;
  };
  patched.nexusNonce = true;
  Document.prototype.createElement = patched;
}

function loadXterm() {
  xtermLoading ??= (async () => {
    allowScriptStyles();
    document.head.append(el("link", { rel: "stylesheet", href: new URL("xterm-6.0.0/xterm.css", VENDOR).href }));
    const [{ Terminal }, { FitAddon }] = await Promise.all([
      import(new URL("xterm-6.0.0/xterm.mjs", VENDOR).href),
      import(new URL("xterm-addon-fit-0.11.0/addon-fit.mjs", VENDOR).href)]);
    return { Terminal, FitAddon };
  })();
  return xtermLoading;
}

function theme() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return { background: v("--surface"), foreground: v("--text"), cursor: v("--accent"),
    selectionBackground: "rgba(76, 154, 255, 0.35)" };
}

class Shell {
  constructor(panel, info, lib) {
    this.panel = panel;
    this.id = info.id;
    this.host = el("div", { class: "term-host", dataset: { terminal: info.id } });
    this.term = new lib.Terminal({ cursorBlink: true, fontFamily: getComputedStyle(document.body).getPropertyValue("--mono") || "monospace",
      fontSize: 13, scrollback: 5000, theme: theme(), allowProposedApi: false });
    this.fit = new lib.FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(this.host);
    this.term.attachCustomKeyEventHandler((e) => this.copyKeys(e));
    this.term.onData((data) => this.send({ op: "input", data }));
    this.term.onResize(({ cols, rows }) => this.send({ op: "resize", cols, rows }));
    this.retry = 0;
    this.closed = false;
    this.connect();
  }

  copyKeys(e) {
    // The terminal takes Tab for the shell, so it needs a key out: Ctrl+] or F6 (shown in
    // the pane) moves focus to this terminal's tab, from where Tab goes on through the page.
    if (e.type === "keydown" && (e.key === "F6" || (e.ctrlKey && e.code === "BracketRight"))) {
      this.panel.leave();
      return false;
    }
    // Ctrl+Shift+C copies (Ctrl+C stays the shell's interrupt); Ctrl+Shift+V pastes.
    if (e.type !== "keydown" || !e.ctrlKey || !e.shiftKey) return true;
    if (e.code === "KeyC" && this.term.hasSelection()) {
      navigator.clipboard?.writeText(this.term.getSelection());
      return false;
    }
    if (e.code === "KeyV") {
      navigator.clipboard?.readText().then((text) => this.term.paste(text)).catch(() => {});
      return false;
    }
    return true;
  }

  send(op) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(op));
  }

  connect() {
    const url = new URL(`/api/terminals/${encodeURIComponent(this.id)}/connect`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") { this.term.write(new Uint8Array(e.data)); return; }
      const msg = JSON.parse(e.data);
      if (msg.type === "ready") {
        this.retry = 0;
        this.term.reset(); // the scrollback replay that follows redraws the screen
        this.panel.note("");
        this.fitNow();
        this.send({ op: "resize", cols: this.term.cols, rows: this.term.rows });
      } else if (msg.type === "exit") {
        this.ended = true;
        this.term.write(`\r\n\x1b[2m[The shell ended${msg.code != null ? ` with code ${msg.code}` : ""}.]\x1b[0m\r\n`);
        ws.close();
      } else if (msg.type === "refused") {
        // Said in a frame: a close the server starts reaches a browser without its reason.
        this.ended = true;
        this.panel.refuse(msg.message);
        ws.close();
      }
    };
    ws.onclose = (e) => {
      if (this.closed || this.ended) return;
      if (e.code === REFUSED || e.code === GONE) {
        this.panel.note(e.reason || "This terminal is not available.", true);
        this.ended = true;
        return;
      }
      // A dropped connection: the shell lives on; attach again with a growing pause.
      const wait = Math.min(10_000, 500 * 2 ** this.retry++);
      this.panel.note(`Connection lost; reconnecting in ${Math.round(wait / 1000) || 1} s…`);
      this.timer = setTimeout(() => this.connect(), wait);
    };
  }

  fitNow() {
    if (this.host.offsetParent !== null) {
      try { this.fit.fit(); } catch { /* not laid out yet */ }
    }
  }

  dispose() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
    this.term.dispose();
    this.host.remove();
  }
}

export class TerminalPanel {
  constructor(panel, sessionId) {
    this.base = `/api/sessions/${encodeURIComponent(sessionId)}/terminals`;
    this.shells = new Map();
    this.current = null;
    this.tabs = el("div", { class: "term-tabs", role: "tablist", "aria-label": "Terminals" });
    this.newBtn = el("button", { type: "button", class: "btn tiny", text: "New terminal", onclick: () => this.create() });
    this.closeBtn = el("button", { type: "button", class: "btn tiny", text: "Close terminal", disabled: true,
      onclick: () => this.closeCurrent() });
    this.notice = el("p", { class: "pane-note", role: "status" });
    this.hosts = el("div", { class: "term-hosts" });
    this.hint = el("p", { class: "term-hint muted small", id: `term-hint-${sessionId}` },
      el("kbd", { text: "Ctrl" }), "+", el("kbd", { text: "]" }), " or ", el("kbd", { text: "F6" }),
      " leaves the terminal (Tab goes to the shell).");
    panel.append(el("div", { class: "files-bar term-bar" }, this.tabs, this.newBtn, this.closeBtn), this.notice,
      this.hosts, this.hint);
    this.loaded = false;
    const refit = () => this.shells.get(this.current)?.fitNow();
    new ResizeObserver(refit).observe(this.hosts);
    window.addEventListener("workspace-resize", refit);
  }

  note(text, error = false) {
    this.notice.textContent = text;
    this.notice.dataset.kind = error ? "error" : "";
  }

  // Terminals are not allowed here (e.g. through the tunnel with remote terminals off): say
  // so, and take away what cannot work, instead of an enabled button over an empty box.
  refuse(text) {
    this.note(text, true);
    this.setRefused(true);
  }

  setRefused(refused) {
    this.refused = refused;
    this.newBtn.textContent = refused ? "Try again" : "New terminal";
    this.closeBtn.hidden = refused;
    this.hosts.hidden = refused;
    this.hint.hidden = refused;
  }

  leave() {
    const tab = this.tabs.querySelector('[aria-selected="true"]') || this.newBtn;
    tab.focus();
  }

  async show() {
    if (this.loaded) { this.shells.get(this.current)?.fitNow(); return; }
    this.loaded = true;
    this.note("Starting the terminal…");
    try {
      this.lib = await loadXterm();
      const { terminals } = await api(this.base);
      for (const t of terminals.filter((t) => t.running)) this.add(t);
      if (!this.shells.size) await this.create();
      else this.note("");
    } catch (err) {
      if (err.status === 403) this.refuse(err.message);
      else this.note(err.message, true);
    }
  }

  async create() {
    try {
      const info = await api(this.base, { method: "POST", body: { cols: 80, rows: 24 } });
      if (this.refused) this.setRefused(false);
      this.lib ??= await loadXterm();
      this.add(info);
      this.note("");
    } catch (err) {
      if (err.status === 403) this.refuse(err.message);
      else this.note(err.message, true);
    }
  }

  add(info) {
    const shell = new Shell(this, info, this.lib);
    this.shells.set(info.id, shell);
    this.hosts.append(shell.host);
    this.select(info.id);
  }

  select(id) {
    this.current = id;
    let n = 0;
    const tabs = [];
    for (const [sid, shell] of this.shells) {
      n += 1;
      shell.host.hidden = sid !== id;
      tabs.push(el("button", { type: "button", role: "tab", class: "term-tab", "aria-selected": String(sid === id),
        text: `Shell ${n}`, onclick: () => this.select(sid) }));
    }
    this.tabs.replaceChildren(...tabs);
    this.closeBtn.disabled = !this.shells.size;
    const shell = this.shells.get(id);
    if (shell) requestAnimationFrame(() => { shell.fitNow(); shell.term.focus(); });
  }

  async closeCurrent() {
    const shell = this.shells.get(this.current);
    if (!shell) return;
    shell.dispose();
    this.shells.delete(this.current);
    try { await api(`${this.base}/${encodeURIComponent(shell.id)}`, { method: "DELETE" }); } catch { /* already gone */ }
    this.select([...this.shells.keys()].pop() ?? null);
  }
}
