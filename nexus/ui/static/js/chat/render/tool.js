// A tool call as a collapsible block: name, what it acts on, state, input, output, error.
// Updated in place so an open block stays open while the tool runs.
import { el, grouped } from "../ui.js";
import { copyButton } from "./markdown.js";
import { toolDiff } from "./diff.js";
import { subagentSection } from "../subagent.js";

const STATE_WORDS = { pending: "Pending", running: "Running", completed: "Done", error: "Failed" };
const MAX_OUTPUT = 20_000;

function subject(part) {
  const input = part.input || {};
  return part.title || input.command || input.filePath || input.path || input.pattern || input.url || input.description || "";
}

function inputText(part) {
  const input = part.input || {};
  if (typeof input.command === "string" && Object.keys(input).every((k) => ["command", "description", "timeout"].includes(k))) {
    return `$ ${input.command}`;
  }
  const shown = { ...input };
  if (String(part.tool).toLowerCase() === "write" && typeof shown.content === "string") shown.content = `(${shown.content.length} characters, shown below)`;
  return Object.keys(shown).length ? JSON.stringify(shown, null, 2) : "";
}

function section(label, body) {
  return el("div", { class: "tool-section" }, el("p", { class: "tool-label", text: label }), body);
}

function textBlock(text, label) {
  let shown = String(text);
  let note = null;
  if (shown.length > MAX_OUTPUT) {
    note = el("p", { class: "muted small", text: `Showing the first ${grouped(MAX_OUTPUT)} of ${grouped(shown.length)} characters.` });
    shown = shown.slice(0, MAX_OUTPUT);
  }
  const pre = el("pre", { class: "tool-pre", tabindex: "0", "aria-label": label, text: shown });
  return el("div", { class: "tool-text" }, el("div", { class: "tool-text-head" }, copyButton(() => String(text), `Copy ${label.toLowerCase()}`)), pre, note);
}

export function toolBlock(part) {
  const details = el("details", { class: "tool", dataset: { part: part.id } });
  const summary = el("summary");
  details.append(summary, el("div", { class: "tool-body" }));
  updateToolBlock(details, part);
  return details;
}

export function updateToolBlock(details, part) {
  const status = part.status || "pending";
  details.dataset.status = status;
  const summary = details.querySelector("summary");
  summary.replaceChildren(
    el("span", { class: "tool-dot", "aria-hidden": "true" }),
    el("span", { class: "tool-name", text: part.tool || "tool" }),
    el("span", { class: "tool-subject", text: subject(part) }),
    el("span", { class: "tool-state", text: STATE_WORDS[status] || status }));
  const body = details.querySelector(".tool-body");
  const parts = [];
  if (String(part.tool).toLowerCase() === "task") parts.push(section("Sub-agent", subagentSection(part)));
  const input = inputText(part);
  if (input) parts.push(section("Input", textBlock(input, "Input")));
  const diff = toolDiff(part);
  if (diff) parts.push(section("Changes", diff));
  if (part.output !== null && part.output !== undefined && part.output !== "") {
    parts.push(section(status === "completed" ? "Output" : "Output so far", textBlock(part.output, "Output")));
  }
  if (part.error) parts.push(section("Error", el("p", { class: "tool-error", text: String(part.error) })));
  if (!parts.length) parts.push(el("p", { class: "muted small", text: status === "pending" ? "Preparing the call…" : "No output." }));
  body.replaceChildren(...parts);
}
