// "Run a command": one command in the workspace, its output streamed, with a Stop button.
// Same rules as a terminal (refused through the tunnel unless the owner allowed it).
import { el } from "../chat/ui.js";

export class CommandBox {
  constructor(sessionId) {
    this.url = `/api/sessions/${encodeURIComponent(sessionId)}/run`;
    this.input = el("input", { type: "text", class: "command-input", placeholder: "e.g. git status",
      "aria-label": "Command to run in the workspace", autocomplete: "off", spellcheck: "false" });
    this.runBtn = el("button", { type: "submit", class: "btn tiny primary", text: "Run" });
    this.stopBtn = el("button", { type: "button", class: "btn tiny", text: "Stop", hidden: true, onclick: () => this.stop() });
    this.output = el("pre", { class: "command-output", tabindex: "0", "aria-label": "Command output", hidden: true });
    this.summary = el("p", { class: "pane-note", role: "status" });
    this.root = el("details", { class: "command-box" },
      el("summary", { text: "Run one command" }),
      el("form", { class: "files-bar", onsubmit: (e) => { e.preventDefault(); this.run(); } }, this.input, this.runBtn, this.stopBtn),
      this.summary, this.output);
  }

  run() {
    const command = this.input.value.trim();
    if (!command || this.ws) return;
    const url = new URL(this.url, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    this.ws = ws;
    this.output.textContent = "";
    this.output.hidden = false;
    this.summary.textContent = "Running…";
    this.summary.dataset.kind = "";
    this.runBtn.hidden = true;
    this.stopBtn.hidden = false;
    let done = false;
    ws.onopen = () => ws.send(JSON.stringify({ op: "run", command }));
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "output") {
        this.output.append(msg.data);
        this.output.scrollTop = this.output.scrollHeight;
      } else if (msg.type === "done") {
        done = true;
        this.summary.textContent = msg.summary + (msg.truncated ? " Output was cut short." : "");
        ws.close();
      } else if (msg.type === "refused") {
        done = true;
        this.output.hidden = true;
        this.summary.textContent = msg.message;
        this.summary.dataset.kind = "error";
        ws.close();
      }
    };
    ws.onclose = (e) => {
      if (!done) {
        this.summary.textContent = e.reason || "The connection ended before the command finished.";
        this.summary.dataset.kind = "error";
      }
      this.ws = null;
      this.runBtn.hidden = false;
      this.stopBtn.hidden = true;
    };
  }

  stop() {
    this.ws?.send(JSON.stringify({ op: "stop" }));
  }
}
