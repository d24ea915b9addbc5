// The logs page: the last lines of the log, then new ones live; filters, search, pause,
// older lines on demand, downloads. Lines carry ids ("inode:offset") shared by the REST
// answer and the stream, so the two merge without gaps or doubles.
import { api } from "./api.js";
import { connectLive } from "./live.js";

const $ = (id) => document.getElementById(id);
const view = $("log-view");
const list = $("log-lines");
const PAGE = 200;
const MAX_SHOWN = 5000; // older lines leave the page (and come back with "Load older")
const STICK_PX = 40; // this close to the bottom counts as "at the bottom"

let live = null;
let generation = 0; // bumps on every filter change; late answers of older ones are dropped
let shown = new Set();
let cursor = null;
let loaded = false; // the first page is in; stream lines before it wait in `early`
let early = [];
let paused = false;
let held = [];

function checked(name) {
  return [...document.querySelectorAll(`input[name="${name}"]`)].filter((i) => i.checked).map((i) => i.value);
}

function filterQuery() {
  const params = new URLSearchParams();
  const levels = checked("level");
  const sources = checked("source");
  if (levels.length < document.querySelectorAll('input[name="level"]').length) params.set("level", levels.join(","));
  if (sources.length < document.querySelectorAll('input[name="source"]').length) params.set("source", sources.join(","));
  const q = $("log-q").value.trim();
  if (q) params.set("q", q);
  return params;
}

const nothingChosen = () => !checked("level").length || !checked("source").length;

function atBottom() {
  return view.scrollHeight - view.scrollTop - view.clientHeight < STICK_PX;
}

function clock(entry) {
  const d = entry.ts ? new Date(entry.ts * 1000) : new Date(entry.time);
  if (Number.isNaN(d.getTime())) return entry.time || "";
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function lineElement(entry) {
  const li = document.createElement("li");
  li.className = "log-line";
  li.dataset.id = entry.id;
  li.dataset.level = entry.level;
  const time = document.createElement("time");
  time.dateTime = entry.time || "";
  time.title = entry.time || "";
  time.textContent = clock(entry);
  const level = document.createElement("span");
  level.className = "lvl";
  level.textContent = entry.level;
  const source = document.createElement("span");
  source.className = "src";
  source.textContent = entry.source;
  source.title = entry.logger || "";
  const message = document.createElement("span");
  message.className = "msg";
  message.textContent = entry.message;
  li.append(time, level, source, message);
  if (entry.fields) {
    const fields = document.createElement("span");
    fields.className = "fields";
    fields.textContent = JSON.stringify(entry.fields);
    li.append(fields);
  }
  if (entry.exception) {
    const exc = document.createElement("pre");
    exc.className = "exc";
    exc.textContent = entry.exception;
    li.append(exc);
  }
  return li;
}

function updateCount() {
  const n = list.childElementCount;
  $("log-count").textContent = n ? `${n.toLocaleString()} line${n === 1 ? "" : "s"}` : "";
  const empty = $("log-empty");
  empty.hidden = n > 0 || !loaded;
  if (nothingChosen()) empty.textContent = "No lines match: choose at least one level and one source.";
  else if (filterQuery().toString()) empty.textContent = "No lines match these filters.";
  else empty.textContent = "The log is empty.";
  $("log-older").hidden = !cursor;
}

function append(entries) {
  const fresh = entries.filter((e) => !shown.has(e.id));
  if (!fresh.length) return;
  const stick = atBottom();
  for (const e of fresh) shown.add(e.id);
  list.append(...fresh.map(lineElement));
  while (list.childElementCount > MAX_SHOWN) {
    const first = list.firstElementChild;
    shown.delete(first.dataset.id);
    first.remove();
    cursor = list.firstElementChild.dataset.id; // older lines now begin before the first one shown
  }
  updateCount();
  if (stick) view.scrollTop = view.scrollHeight;
  else $("log-jump").hidden = false;
}

function prepend(entries) {
  const fresh = entries.filter((e) => !shown.has(e.id));
  const before = view.scrollHeight;
  for (const e of fresh) shown.add(e.id);
  list.prepend(...fresh.map(lineElement));
  view.scrollTop += view.scrollHeight - before; // keep the lines the reader was looking at in place
  updateCount();
}

function receive(entries) {
  if (!loaded) early.push(...entries);
  else if (paused) {
    const waiting = new Set(held.map((e) => e.id));
    held.push(...entries.filter((e) => !shown.has(e.id) && !waiting.has(e.id)));
    updatePause();
  } else append(entries);
}

function updatePause() {
  const button = $("log-pause");
  button.setAttribute("aria-pressed", String(paused));
  button.textContent = paused ? `Resume${held.length ? ` (${held.length.toLocaleString()} new)` : ""}` : "Pause";
}

function showError(message) {
  $("log-error").textContent = message || "";
}

async function loadFirstPage(gen, query) {
  try {
    query.set("limit", PAGE);
    const page = await api(`/api/logs?${query}`);
    if (gen !== generation) return;
    cursor = page.cursor;
    loaded = true;
    showError("");
    append(page.lines);
    append(early.splice(0));
    view.scrollTop = view.scrollHeight;
    updateCount();
  } catch (err) {
    if (gen === generation) showError(err.message);
  }
}

function reset() {
  generation += 1;
  live?.close();
  live = null;
  shown = new Set();
  cursor = null;
  loaded = false;
  early = [];
  held = [];
  list.replaceChildren();
  $("log-jump").hidden = true;
  updatePause();
  for (const scope of ["view", "all"]) {
    const params = scope === "view" ? filterQuery() : new URLSearchParams();
    params.set("scope", scope);
    $(`download-${scope}`).href = `/api/logs/download?${params}`;
  }
  if (nothingChosen()) {
    loaded = true;
    updateCount();
    return;
  }
  const gen = generation;
  const query = filterQuery();
  let first = true;
  live = connectLive("/api/logs/stream", {
    query: query.toString(),
    onState(state) {
      const conn = $("conn");
      conn.dataset.state = state;
      conn.textContent = { live: "Live", connecting: "Connecting…", offline: "Offline — reconnecting" }[state];
    },
    onMessage(msg) {
      if (gen !== generation) return;
      if (msg.type === "hello") {
        // Lines written while the stream was down come with the next page (ids drop doubles).
        if (first) loadFirstPage(gen, filterQuery());
        else if (loaded) catchUp(gen);
        first = false;
      } else if (msg.type === "logs.lines") {
        receive(msg.data.lines);
      } else if (msg.type === "error") {
        showError(msg.data.message);
      }
    },
  });
}

async function catchUp(gen) {
  try {
    const query = filterQuery();
    query.set("limit", PAGE);
    const page = await api(`/api/logs?${query}`);
    if (gen === generation) receive(page.lines);
  } catch { /* the next reconnect tries again */ }
}

async function loadOlder() {
  if (!cursor) return;
  const gen = generation;
  const button = $("log-older");
  button.disabled = true;
  try {
    const query = filterQuery();
    query.set("limit", PAGE);
    query.set("cursor", cursor);
    const page = await api(`/api/logs?${query}`);
    if (gen !== generation) return;
    cursor = page.cursor;
    prepend(page.lines);
    if (!page.lines.length && cursor) showError("No matching lines in this stretch of the log; load older to keep looking.");
    else showError("");
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
  }
}

let searchTimer = null;
$("log-q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(reset, 300);
});
$("log-q").addEventListener("keydown", (e) => {
  if (e.key === "Enter") { clearTimeout(searchTimer); reset(); }
});
for (const box of document.querySelectorAll(".log-controls input[type=checkbox]")) box.addEventListener("change", reset);
$("log-pause").addEventListener("click", () => {
  paused = !paused;
  if (!paused && held.length) append(held.splice(0));
  updatePause();
});
$("log-older").addEventListener("click", loadOlder);
$("log-jump").addEventListener("click", () => {
  view.scrollTop = view.scrollHeight;
  $("log-jump").hidden = true;
});
view.addEventListener("scroll", () => { if (atBottom()) $("log-jump").hidden = true; }, { passive: true });

reset();
