// Analytics: a range of days in the browser's time zone -> GET /api/analytics -> cards and charts.
import { api } from "../api.js";
import { el, money } from "../chat/ui.js";
import { categoryBars, dayBars, numbersTable } from "./charts.js";

const $ = (id) => document.getElementById(id);
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const count = new Intl.NumberFormat();
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
let loading = 0;
const OUTCOME_WORDS = { finished: "Finished", aborted: "Stopped", errored: "Error", running: "Running",
  "no reply": "No reply yet", archived: "Archived", deleted: "Deleted" };

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return isoDay(new Date(y, m - 1, d + n));
}

function range() {
  const preset = new FormData($("range")).get("preset");
  if (preset === "custom") {
    return { start: $("r-start").value, end: $("r-end").value ? addDays($("r-end").value, 1) : "" };
  }
  const end = addDays(isoDay(new Date()), 1);  // today included
  return { start: addDays(end, -Number(preset)), end };
}

function seconds(s) {
  if (s === null || s === undefined) return "—";
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

function cards(summary) {
  const t = summary.tokens;
  const items = [
    ["sessions", "Sessions", count.format(summary.sessions)],
    ["messages", "Messages", count.format(summary.messages)],
    ["tokens-in", "Tokens in", count.format(t.input)],
    ["tokens-out", "Tokens out", count.format(t.output + t.reasoning)],
    ["tokens-cache", "Cache read / write", `${count.format(t.cache_read)} / ${count.format(t.cache_write)}`],
    ["cost", "Cost", money(summary.cost)],
    ["tool-calls", "Tool calls", count.format(summary.tool_calls)],
    ["tool-failure-rate", "Tool failure rate", percent.format(summary.tool_failure_rate)],
    ["first-token", "Median time to first token", seconds(summary.median_first_token_seconds)],
  ];
  $("cards").replaceChildren(...items.map(([key, label, value]) => el("div", { class: "metric", dataset: { stat: key } },
    el("span", { class: "label", text: label }), el("span", { class: "value", text: value }))));
}

function tools(list) {
  if (!list.length) { $("tools").replaceChildren(el("p", { class: "empty-note", text: "No tool calls in this range." })); return; }
  const table = el("table", { class: "data-table" },
    el("caption", { class: "visually-hidden", text: "Tool calls and failures per tool" }),
    el("thead", {}, el("tr", {}, ["Tool", "Calls", "Completed", "Failed", "Failure rate"].map((h) =>
      el("th", { scope: "col", text: h })))),
    el("tbody", {}, list.map((t) => el("tr", { dataset: { tool: t.tool } },
      el("th", { scope: "row", text: t.tool }), el("td", { text: count.format(t.calls) }),
      el("td", { text: count.format(t.completed) }), el("td", { text: count.format(t.failed) }),
      el("td", { text: percent.format(t.failure_rate) })))));
  $("tools").replaceChildren(el("div", { class: "table-scroll", tabindex: "0", role: "region",
    "aria-label": "Tool calls per tool (scrolls sideways on small screens)" }, table));
}

function draw(data) {
  const r = data.range;
  $("range-label").textContent = `${r.start} to ${addDays(r.end, -1)} (${r.tz})`;
  cards(data.summary);
  dayBars($("sessions-chart"), data.per_day.map((d) => ({ day: d.day, value: d.sessions })),
    { name: "Sessions", format: (v) => count.format(v) });
  dayBars($("cost-chart"), data.per_day.map((d) => ({ day: d.day, value: d.cost })), { name: "Cost", format: money });
  const models = data.tokens_by_model.map((m) => {
    const total = m.tokens.input + m.tokens.output + m.tokens.reasoning;
    return { label: m.model, value: total, text: `${count.format(total)} · ${money(m.cost)}` };
  });
  categoryBars($("models"), models, { name: "Tokens by model", empty: "No replies in this range." });
  if (data.tokens_by_model.length) {
    $("models").append(numbersTable("Tokens by model", ["Model", "Input", "Output", "Cache read", "Cost"],
      data.tokens_by_model.map((m) => [m.model, count.format(m.tokens.input), count.format(m.tokens.output + m.tokens.reasoning),
        count.format(m.tokens.cache_read), money(m.cost)])));
  }
  const outcomes = Object.entries(data.outcomes).filter(([, n]) => n > 0)
    .map(([key, n]) => ({ key, label: OUTCOME_WORDS[key] || key, value: n, text: count.format(n) }));
  categoryBars($("outcomes"), outcomes, { name: "Session outcomes", empty: "No sessions in this range." });
  tools(data.tools);
}

async function load() {
  const ticket = ++loading;
  const { start, end } = range();
  $("range-error").textContent = "";
  if (!start || !end) { $("range-error").textContent = "Choose both days of the range."; return; }
  try {
    const data = await api(`/api/analytics?${new URLSearchParams({ start, end, tz: zone })}`);
    if (ticket === loading) draw(data);
  } catch (err) {
    if (ticket === loading) $("range-error").textContent = err.message;
  }
}

$("tz-name").textContent = zone;
$("range").addEventListener("change", (e) => {
  const custom = new FormData($("range")).get("preset") === "custom";
  $("custom-range").hidden = !custom;
  if (custom && !$("r-start").value) {
    const { start, end } = { start: addDays(isoDay(new Date()), -6), end: isoDay(new Date()) };
    $("r-start").value = start;
    $("r-end").value = end;
  }
  if (e.target.name === "preset") load();
});
$("range").addEventListener("submit", (e) => { e.preventDefault(); load(); });
load();
