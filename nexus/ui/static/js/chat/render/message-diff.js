// What a turn changed in the files (OpenCode's per-message diff), under the user's message:
// one collapsible diff per file.
import { el } from "../ui.js";
import { diffBlock } from "./diff.js";

export function renderMessageDiff(node, part) {
  const files = part.files || [];
  node.hidden = !files.length;
  const added = files.reduce((n, f) => n + (Number(f.additions) || 0), 0);
  const removed = files.reduce((n, f) => n + (Number(f.deletions) || 0), 0);
  node.replaceChildren(el("details", { class: "turn-diff-box" },
    el("summary", {},
      el("span", { text: files.length === 1 ? "Changed 1 file" : `Changed ${files.length} files` }), " ",
      el("span", { class: "d-added", text: `+${added}` }), " ", el("span", { class: "d-removed", text: `−${removed}` })),
    ...files.map((f) => el("details", { class: "change", dataset: { path: f.file } },
      el("summary", {}, el("span", { class: "change-path", text: f.file }), " ",
        el("span", { class: "muted small", text: f.status || "" })),
      diffBlock(f.patch, `Changes in ${f.file}`)))));
}
