// One message of a transcript: the user's text, or the assistant's parts (text, reasoning,
// tool calls, files, patches) and, when it failed, the reason in plain words.
import { el } from "../ui.js";
import { renderMarkdown } from "./markdown.js";
import { toolBlock, updateToolBlock } from "./tool.js";
import { renderMessageDiff } from "./message-diff.js";

export class MessageView {
  // `actions(message)`: an optional row of actions drawn under the message (see ../history.js).
  constructor(message, { actions = null } = {}) {
    this.id = message.id;
    this.role = message.role;
    this.el = el("article", { class: "msg", dataset: { role: message.role, id: message.id } });
    this.label = el("p", { class: "visually-hidden", text: message.role === "user" ? "You said:" : "Agent:" });
    this.partsEl = el("div", { class: "msg-parts" });
    this.footer = el("div", { class: "msg-foot" });
    this.el.append(this.label, this.partsEl, this.footer);
    this.partEls = new Map();
    this.update(message);
    const row = actions ? actions(message) : null;
    if (row) this.el.append(row);
  }

  // Re-render what changed: parts listed in `partIds`, or everything when it is null.
  update(message, partIds = null) {
    const final = !!message.completed_at;
    this.el.dataset.done = final ? "1" : "0";
    let previous = null;
    for (const part of message.parts) {
      let node = this.partEls.get(part.id);
      const fresh = !node;
      if (fresh) {
        node = this.createPart(part);
        this.partEls.set(part.id, node);
        if (previous) previous.after(node); else this.partsEl.prepend(node);
      }
      if (!fresh && (partIds === null || partIds.has(part.id))) this.updatePart(node, part, final);
      else if (fresh) this.updatePart(node, part, final);
      previous = node;
    }
    this.renderFooter(message);
  }

  createPart(part) {
    switch (part.kind) {
      case "tool": return toolBlock(part);
      case "reasoning": {
        const details = el("details", { class: "reasoning", dataset: { part: part.id } },
          el("summary", {}, el("span", { class: "reasoning-label", text: "Thinking" }), el("span", { class: "reasoning-preview" })),
          el("div", { class: "reasoning-body" }));
        return details;
      }
      case "file":
        return el("p", { class: "file-part", dataset: { part: part.id } });
      case "patch":
        return el("div", { class: "patch-part", dataset: { part: part.id } });
      case "compaction":  // as OpenCode shows it: a divider, the summary follows
        return el("p", { class: "compaction-part", role: "separator", dataset: { part: part.id } });
      case "diff":
        return el("div", { class: "turn-diff", dataset: { part: part.id } });
      default:
        return el("div", { class: this.role === "user" ? "user-text" : "md", dataset: { part: part.id, kind: part.kind } });
    }
  }

  updatePart(node, part, final) {
    switch (part.kind) {
      case "tool":
        updateToolBlock(node, part);
        return;
      case "reasoning": {
        const text = part.text || "";
        node.querySelector(".reasoning-preview").textContent = text.trim().split("\n")[0].slice(0, 120);
        node.querySelector(".reasoning-body").textContent = text;
        return;
      }
      case "file":
        node.replaceChildren(el("span", { class: "file-chip", text: part.filename || "file" }),
          el("span", { class: "muted small", text: part.mime ? ` ${part.mime}` : "" }));
        return;
      case "diff":
        renderMessageDiff(node, part);
        return;
      case "patch": {
        const files = (part.files || []).map(String);
        node.replaceChildren(el("p", { class: "tool-label", text: files.length === 1 ? "Changed 1 file" : `Changed ${files.length} files` }),
          el("ul", { class: "patch-files" }, ...files.map((f) => el("li", { text: f }))));
        return;
      }
      case "compaction":
        node.textContent = part.auto ? "Context was full: the conversation above was summarized" : "Conversation compacted: the summary below replaces it";
        return;
      default:
        if (part.synthetic) node.hidden = true;
        if (this.role === "user") node.textContent = part.text || "";
        else renderMarkdown(node, part.text || "", { final });
    }
  }

  renderFooter(message) {
    const items = [];
    if (message.error) {
      const aborted = message.error.name === "aborted";
      // Cut off by a crash or restart: said calmly, with the reason, never drawn as finished.
      const interrupted = message.error.name === "interrupted";
      const cls = aborted ? "msg-stopped" : interrupted ? "msg-interrupted" : "msg-error";
      items.push(el("p", { class: cls, role: aborted ? null : "alert", "data-state": interrupted ? "interrupted" : null,
        text: message.error.message || (aborted ? "Stopped." : "Something went wrong.") }));
    }
    this.footer.replaceChildren(...items);
    this.footer.hidden = !items.length;
  }
}
