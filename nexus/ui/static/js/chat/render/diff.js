// Coloured diffs for edit / write / patch tools, built line by line with textContent.
import { el } from "../ui.js";

const MAX_LINES = 2000;

export function diffBlock(text, label = "Changes") {
  const lines = String(text || "").replace(/\n$/, "").split("\n");
  const pre = el("pre", { class: "diff", tabindex: "0", "aria-label": label });
  let added = 0, removed = 0;
  for (const line of lines.slice(0, MAX_LINES)) {
    let kind = "ctx";
    if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ") || line.startsWith("index ")) {
      kind = "meta";
    } else if (line.startsWith("@@")) kind = "hunk";
    else if (line.startsWith("+")) { kind = "add"; added += 1; }
    else if (line.startsWith("-")) { kind = "del"; removed += 1; }
    // The sign is also spoken/visible, not only the colour (WCAG 1.4.1).
    pre.append(el("span", { class: `d-${kind}`, text: line || " " }), "\n");
  }
  if (lines.length > MAX_LINES) pre.append(el("span", { class: "d-meta", text: `… ${lines.length - MAX_LINES} more lines` }));
  const summary = el("p", { class: "diff-summary" },
    el("span", { class: "d-added", text: `+${added}` }), " ", el("span", { class: "d-removed", text: `−${removed}` }));
  return el("div", { class: "diff-wrap" }, summary, pre);
}

// A diff for a tool call, when its kind of tool changes files.
export function toolDiff(part) {
  const input = part.input || {};
  const meta = part.metadata || {};
  if (typeof meta.diff === "string" && meta.diff.trim()) return diffBlock(meta.diff);
  const tool = String(part.tool || "").toLowerCase();
  if (tool === "edit" && (typeof input.oldString === "string" || typeof input.newString === "string")) {
    const minus = String(input.oldString ?? "").split("\n").map((l) => `-${l}`);
    const plus = String(input.newString ?? "").split("\n").map((l) => `+${l}`);
    return diffBlock([`--- ${input.filePath || "file"}`, `+++ ${input.filePath || "file"}`, ...minus, ...plus].join("\n"));
  }
  if (tool === "write" && typeof input.content === "string") {
    if (meta.exists) {
      // OpenCode's write reports no diff; the real one comes with the turn's diff (a git project).
      return el("div", { class: "diff-pending" },
        el("p", { class: "muted small", text: "Replaced an existing file. Its removed lines show once the turn’s changes are known." }));
    }
    const plus = input.content.replace(/\n$/, "").split("\n").map((l) => `+${l}`);
    return diffBlock([`+++ ${input.filePath || "file"}`, ...plus].join("\n"));
  }
  if ((tool === "patch" || tool === "apply_patch") && typeof (input.patchText || input.patch) === "string") {
    return diffBlock(input.patchText || input.patch);
  }
  return null;
}
