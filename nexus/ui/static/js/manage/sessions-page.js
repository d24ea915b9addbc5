// All sessions: filters (status, agent, model, start date, words in the transcript), pages of
// PAGE_SIZE, and per session: open, resume, export, delete with undo, restore.
import { api } from "../api.js";
import { loadProjects, projectOf } from "../chat/projects.js";
import { compact, el, money, toast, totalTokens } from "../chat/ui.js";

const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);
const form = $("filters");
let offset = 0;
let loading = 0;

const STATE_WORDS = { active: "Open", archived: "Archived", deleted: "Deleted" };

function localMidnight(dateValue, addDays = 0) {
  if (!dateValue) return null;
  const [y, m, d] = dateValue.split("-").map(Number);
  return new Date(y, m - 1, d + addDays).getTime() / 1000;
}

function query() {
  const params = new URLSearchParams({ state: $("f-state").value, limit: String(PAGE_SIZE), offset: String(offset) });
  const q = $("f-q").value.trim();
  if (q) params.set("q", q);
  if ($("f-agent").value) params.set("agent", $("f-agent").value);
  if ($("f-model").value) params.set("model", $("f-model").value);
  if ($("f-project").value) {
    const [server, ...path] = $("f-project").value.split("\n");
    params.set("server", server);
    params.set("directory", path.join("\n"));
  }
  const from = localMidnight($("f-from").value);
  const to = localMidnight($("f-to").value, 1);  // the "until" day is included
  if (from !== null) params.set("created_from", String(from));
  if (to !== null) params.set("created_to", String(to));
  return params;
}

function fillChoices(select, items) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "", text: "Any" }), ...items.map((v) => el("option", { value: v, text: v })));
  if (items.includes(keep)) select.value = keep;
}

function exportLinks(session) {
  const base = `/api/sessions/${encodeURIComponent(session.id)}/export`;
  return [el("a", { class: "btn tiny", href: `${base}?format=json`, download: "", text: "JSON",
    "aria-label": `Export “${session.title}” as JSON` }),
  el("a", { class: "btn tiny", href: `${base}?format=md`, download: "", text: "Markdown",
    "aria-label": `Export “${session.title}” as Markdown` })];
}

function row(session, deleted) {
  const id = encodeURIComponent(session.id);
  const state = deleted ? "deleted" : session.state;
  const title = deleted ? el("span", { class: "row-title", text: session.title })
    : el("a", { class: "row-title", href: `/s/${id}`, text: session.title });
  const actions = el("div", { class: "row-actions" });
  const name = `“${session.title}”`;
  if (deleted) {
    actions.append(el("button", { type: "button", class: "btn tiny", text: "Restore", "aria-label": `Restore ${name}`,
      onclick: () => restore(session) }));
  } else {
    actions.append(el("a", { class: "btn tiny", href: `/s/${id}`, text: "Open", "aria-label": `Open ${name}` }));
    if (session.state === "archived") {
      actions.append(el("button", { type: "button", class: "btn tiny", text: "Resume", "aria-label": `Resume ${name}`,
        onclick: () => resume(session) }));
    }
    actions.append(...exportLinks(session), el("button", { type: "button", class: "btn tiny danger", text: "Delete",
      "aria-label": `Delete ${name}`, onclick: () => remove(session) }));
  }
  const started = new Date(session.created_at * 1000);
  return el("li", { class: "session-row", dataset: { session: session.id, state } },
    el("div", { class: "row-main" }, title,
      el("span", { class: "badge", dataset: { state }, text: STATE_WORDS[state] || state })),
    el("p", { class: "row-meta" },
      el("time", { datetime: started.toISOString(), text: started.toLocaleString() }),
      ...projectMeta(session),
      el("span", { text: session.agent || session.agent_used || "default agent" }),
      el("span", { text: session.model || session.model_used || "default model" }),
      el("span", { text: `${compact(totalTokens(session.tokens))} tokens · ${money(session.cost)}` })),
    actions);
}

// The project (name and branch) and, when not this computer, the server a session runs on.
function projectMeta(session) {
  const project = projectOf(session);
  if (!project) return [];
  const out = [el("span", { class: "project-chip", title: project.path,
    text: project.branch ? `${project.name} · ${project.branch}` : project.name })];
  if (project.server !== "local") out.push(el("span", { text: `on ${project.serverName || project.server}` }));
  if (session.origin === "adopted") out.push(el("span", { text: "started outside Nexus" }));
  return out;
}

async function fillProjects() {
  const projects = await loadProjects();
  const select = $("f-project");
  select.append(...projects.filter((p) => p.sessions).map((p) => el("option", { value: `${p.server}\n${p.path}`,
    text: p.server === "local" ? p.name : `${p.name} (${p.server_name})`, title: p.path })));
  load();
}

async function load({ focusList = false } = {}) {
  const ticket = ++loading;
  $("list-error").textContent = "";
  try {
    const params = query();
    params.set("facets", "1");
    const data = await api(`/api/sessions?${params}`);
    if (ticket !== loading) return;  // a newer request is on its way
    if (data.total && offset >= data.total) { offset = Math.max(0, data.total - PAGE_SIZE); return load(); }
    const deleted = params.get("state") === "deleted";
    $("session-rows").replaceChildren(...data.sessions.map((s) => row(s, deleted)));
    $("no-sessions").hidden = data.sessions.length > 0;
    const first = data.total ? offset + 1 : 0;
    const last = offset + data.sessions.length;
    $("result-count").textContent = `${data.total} session${data.total === 1 ? "" : "s"}`;
    $("page-info").textContent = data.total ? `${first}–${last} of ${data.total}` : "";
    $("prev-page").disabled = offset === 0;
    $("next-page").disabled = last >= data.total;
    fillChoices($("f-agent"), data.facets.agents);
    fillChoices($("f-model"), data.facets.models);
    if (focusList) $("session-rows").querySelector("a, button")?.focus();
  } catch (err) {
    if (ticket === loading) $("list-error").textContent = `Could not list sessions: ${err.message}`;
  }
}

async function remove(session) {
  try {
    await api(`/api/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
    toast(`Deleted “${session.title}”.`, { action: "Undo", onAction: () => restore(session) });
    load();
  } catch (err) {
    toast(`Could not delete: ${err.message}`);
  }
}

async function restore(session) {
  try {
    await api(`/api/sessions/${encodeURIComponent(session.id)}/restore`, { method: "POST" });
    toast(`Restored “${session.title}”.`);
    load();
  } catch (err) {
    toast(`Could not restore: ${err.message}`);
  }
}

async function resume(session) {
  try {
    await api(`/api/sessions/${encodeURIComponent(session.id)}`, { method: "PATCH", body: { state: "active" } });
    location.assign(`/s/${encodeURIComponent(session.id)}`);
  } catch (err) {
    toast(`Could not resume: ${err.message}`);
  }
}

form.addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
form.addEventListener("reset", () => setTimeout(() => { offset = 0; load(); }));
fillProjects();
for (const id of ["f-state", "f-agent", "f-model", "f-from", "f-to", "f-project"]) {
  $(id).addEventListener("change", () => { offset = 0; load(); });
}
$("prev-page").addEventListener("click", () => { offset = Math.max(0, offset - PAGE_SIZE); load({ focusList: true }); });
$("next-page").addEventListener("click", () => { offset += PAGE_SIZE; load({ focusList: true }); });

load();
