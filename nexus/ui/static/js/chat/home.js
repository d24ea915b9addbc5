// The main page: a grid of session cards (at most 10 active), a new-session dialog with agent
// and model choice, search, and the archived sessions (reopen, delete).
import { api } from "../api.js";
import { startChat } from "./page.js";
import { ProjectPicker } from "./project-picker.js";
import { baseName, learnProject, loadProjects } from "./projects.js";
import { STATUS_WORDS, el, nextId, toast } from "./ui.js";
import { SessionView } from "./view.js";

const MAX_ACTIVE = 10;
const $ = (id) => document.getElementById(id);
const grid = $("cards");
const emptyState = $("empty");
const cards = new Map();  // session id -> SessionView
const picker = new ProjectPicker();
const filter = $("project-filter");
// Sessions adopted from OpenCode's other clients (its terminal UI...) do not count against
// the ten Nexus may start: a busy terminal never blocks starting one here.
const ownCards = () => [...cards.values()].filter((v) => v.state.session.origin !== "adopted").length;

const { store, connection } = startChat({ onMissing: (id) => removeCard(id), onSessions: sessionsChanged });

// ----- cards ---------------------------------------------------------------------------------

function addCard(session, { first = false, placeholder = null } = {}) {
  if (cards.has(session.id)) return cards.get(session.id);
  store.seed(session);
  const view = new SessionView(store, connection, session.id, {
    mode: "card",
    onRemoved: (v, how) => {
      // The card's own title: the store may have forgotten the session by now.
      const title = v.titleLink?.textContent || v.state.session?.title || session.title || "Untitled session";
      removeCard(v.id);
      if (how === "deleted") {
        toast(`Deleted “${title}”.`, { action: "Undo", onAction: () => restore(v.id) });
      } else {
        toast(`Archived “${title}”.`, { action: "Undo", onAction: () => reopen(v.id) });
      }
      refreshArchived();
    },
    onStatus: () => updateTitle(),
  });
  cards.set(session.id, view);
  view.root.dataset.project = session.directory || "";
  loadProjects().then(() => learnProject(session, redrawCards));
  if (placeholder) placeholder.replaceWith(view.root);
  else if (first) grid.prepend(view.root); else grid.append(view.root);
  // Drawn from the page's snapshot before it was in the document: it scrolls to the end in the
  // frame that lays it out (reading scrollHeight now would force that layout inside this task).
  if (view.state.loaded) requestAnimationFrame(() => { view.transcript.scrollTop = view.transcript.scrollHeight; });
  updateEmpty();
  updateFilter();
  return view;
}

function removeCard(id) {
  const view = cards.get(id);
  if (!view) return;
  view.destroy();
  cards.delete(id);
  store.forget(id);
  updateEmpty();
  updateTitle();
}

function updateEmpty() {
  emptyState.hidden = cards.size > 0;
  grid.hidden = cards.size === 0;
  const own = ownCards();
  const adopted = cards.size - own;
  $("active-count").textContent = cards.size
    ? `${own} of ${MAX_ACTIVE} open${adopted ? ` · ${adopted} from other OpenCode clients` : ""}` : "";
}

function redrawCards() {
  for (const view of cards.values()) view.renderHeader();
}

// The project filter lists the projects of the open cards; picking one hides the others.
function updateFilter() {
  const folders = [...new Set([...cards.values()].map((v) => v.state.session.directory).filter(Boolean))];
  const chosen = filter.value;
  filter.replaceChildren(el("option", { value: "", text: "All projects" }),
    ...folders.sort().map((f) => el("option", { value: f, text: baseName(f), title: f })));
  filter.value = folders.includes(chosen) ? chosen : "";
  filter.hidden = folders.length < 2 && !chosen;
  applyFilter();
}

function applyFilter() {
  const chosen = filter.value;
  for (const view of cards.values()) view.root.hidden = Boolean(chosen) && view.root.dataset.project !== chosen;
}

// The page title says when an agent waits for an answer.
function updateTitle() {
  const waiting = [...cards.values()].filter((v) => v.status === "waiting").length;
  document.title = waiting ? `(${waiting}) Needs you · Sessions · Nexus` : "Sessions · Nexus";
}

// Another tab or a script changed the list: show what is active now.
async function sessionsChanged({ session_id: id, change }) {
  if (change === "deleted" || change === "archived") {
    removeCard(id);
  } else if (!cards.has(id) && ["created", "reopened", "restored", "adopted"].includes(change)) {
    try {
      const session = await api(`/api/sessions/${encodeURIComponent(id)}`);
      if (session.state === "active") addCard(session, { first: true });
    } catch { /* deleted again meanwhile */ }
  }
  refreshArchived();
}

// The page carries the open sessions with their transcripts' snapshots (and a placeholder of a
// card's size for each): each card takes its placeholder's place, so nothing below moves, and
// shows its messages without waiting for the live stream. One card per task: the page stays
// responsive while ten cards render their markdown.
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

async function loadActive() {
  const initial = $("initial-sessions");
  try {
    const data = initial ? JSON.parse(initial.textContent) : await api("/api/sessions?state=active&limit=50");
    for (const { epoch, event } of data.snapshots || []) store.receive(event, epoch);
    const placeholders = [...grid.querySelectorAll(".card-placeholder")];
    for (const [i, s] of data.sessions.entries()) {
      if (i) await nextTask();
      addCard(s, { placeholder: placeholders[i] || null });
    }
  } catch (err) {
    toast(`Could not load sessions: ${err.message}`);
  } finally {
    initial?.remove();
    for (const p of grid.querySelectorAll(".card-placeholder")) p.remove();
    updateEmpty();
    document.body.dataset.ready = "1";
  }
}

// ----- new session ---------------------------------------------------------------------------

let choices = null;
async function loadChoices() {
  if (choices) return choices;
  const [agents, models, configs] = await Promise.all([
    api("/api/agents").then((d) => d.agents).catch(() => []),
    api("/api/models").then((d) => d.models).catch(() => []),
    api("/api/agent-configs").then((d) => d.agents).catch(() => []),
  ]);
  choices = { agents, models, configs };
  return choices;
}

async function newSession() {
  if (ownCards() >= MAX_ACTIVE) { limitDialog(); return; }
  const dialog = $("new-dialog");
  const agent = $("new-agent");
  const model = $("new-model");
  $("new-title").value = "";
  $("new-error").textContent = "";
  if (!choices) {
    agent.replaceChildren(el("option", { value: "", text: "Default agent" }));
    model.replaceChildren(el("option", { value: "", text: "Default model" }));
  }
  dialog.showModal();
  $("new-title").focus();
  picker.open();
  if (choices) return;
  const { agents, models, configs } = await loadChoices();
  $("new-agent-config").append(...configs.map((c) => el("option", { value: c.id,
    text: `${c.name} (${c.engine === "anthropic" ? "Anthropic" : "OpenCode"}${c.model ? ", " + c.model : ""})` })));
  agent.append(...agents.filter((a) => a.mode !== "subagent").map((a) => el("option", { value: a.name,
    text: a.description ? `${a.name} — ${a.description}` : a.name })));
  model.append(...models.map((m) => el("option", { value: m.id, text: m.name ? `${m.name} (${m.id})` : m.id })));
}

async function createSession(e) {
  e.preventDefault();
  const button = $("new-create");
  button.disabled = true;
  $("new-error").textContent = "";
  try {
    const session = await api("/api/sessions", { method: "POST", body: {
      title: $("new-title").value.trim() || undefined,
      ...picker.value(),
      ...($("new-agent-config").value ? { agent_id: $("new-agent-config").value } : {
        agent: $("new-agent").value || undefined,
        model: $("new-model").value || undefined,
      }),
    } });
    $("new-dialog").close();
    const view = addCard(session, { first: true });
    if (matchMedia("(max-width: 640px)").matches) location.assign(`/s/${encodeURIComponent(session.id)}`);
    else view.input.focus();
  } catch (err) {
    if (err.code === "too_many_active") { $("new-dialog").close(); limitDialog(); }
    else $("new-error").textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

// The 11th session: choose one to archive (it stays readable and can be reopened).
function limitDialog() {
  const titleId = nextId("limit");
  const list = el("ul", { class: "limit-list" });
  const dialog = el("dialog", { class: "dialog", "aria-labelledby": titleId },
    el("h2", { id: titleId, text: "Ten sessions are open" }),
    el("p", { text: "Archive one to start another. Archived sessions keep their transcript and can be reopened." }),
    list,
    el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "btn", text: "Cancel", onclick: () => dialog.close() })));
  for (const view of cards.values()) {
    const s = view.state.session;
    if (s.origin === "adopted") continue;
    list.append(el("li", {},
      el("span", { class: "limit-title", text: s.title }),
      el("span", { class: "badge status", dataset: { status: view.status }, text: STATUS_WORDS[view.status] || view.status }),
      el("button", { type: "button", class: "btn", text: "Archive", "aria-label": `Archive ${s.title}`, onclick: async () => {
        await view.setArchived(true);
        dialog.close();
        newSession();
      } })));
  }
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// ----- archived, restore ---------------------------------------------------------------------

async function reopen(id) {
  try {
    const session = await api(`/api/sessions/${encodeURIComponent(id)}`, { method: "PATCH", body: { state: "active" } });
    store.forget(id);
    addCard(session, { first: true });
    refreshArchived();
  } catch (err) {
    if (err.code === "too_many_active") limitDialog(); else toast(err.message);
  }
}

// Undo a delete: the session comes back as it was (open, or archived).
async function restore(id) {
  try {
    const session = await api(`/api/sessions/${encodeURIComponent(id)}/restore`, { method: "POST" });
    if (session.state === "active") addCard(session, { first: true });
    refreshArchived();
  } catch (err) { toast(err.message); }
}

async function refreshArchived() {
  const details = $("archived");
  if (!details.open) return;
  const list = $("archived-list");
  try {
    const data = await api("/api/sessions?state=archived&limit=100");
    $("archived-empty").hidden = data.sessions.length > 0;
    list.replaceChildren(...data.sessions.map((s) => el("li", { class: "archived-item" },
      el("a", { href: `/s/${encodeURIComponent(s.id)}`, text: s.title }),
      el("span", { class: "muted small", text: new Date((s.updated_at || s.created_at) * 1000).toLocaleDateString() }),
      el("span", { class: "archived-actions" },
        el("button", { type: "button", class: "btn", text: "Reopen", "aria-label": `Reopen ${s.title}`, onclick: () => reopen(s.id) }),
        el("button", { type: "button", class: "btn danger", text: "Delete", "aria-label": `Delete ${s.title}`, onclick: async () => {
          try {
            await api(`/api/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
            toast(`Deleted “${s.title}”.`, { action: "Undo", onAction: () => restore(s.id) });
            refreshArchived();
          } catch (err) { toast(err.message); }
        } })))));
  } catch (err) {
    toast(`Could not load archived sessions: ${err.message}`);
  }
}

// ----- search --------------------------------------------------------------------------------

async function search(e) {
  e.preventDefault();
  const q = $("search-q").value.trim();
  const box = $("search-results");
  if (!q) { box.hidden = true; box.replaceChildren(); return; }
  try {
    const data = await api(`/api/search?q=${encodeURIComponent(q)}&limit=20`);
    const heading = el("h2", { class: "section-title", text: data.results.length ? `Found in ${data.results.length} session${data.results.length === 1 ? "" : "s"}` : `Nothing found for “${q}”` });
    const list = el("ol", { class: "search-list" }, ...data.results.map((r) => el("li", {},
      el("a", { href: `/s/${encodeURIComponent(r.session_id)}`, text: r.session.title }),
      r.session.state === "archived" ? el("span", { class: "muted small", text: " (archived)" }) : null,
      el("p", { class: "snippet" }, ...snippet(r.snippet)))));
    box.replaceChildren(heading, list, el("button", { type: "button", class: "btn link", text: "Clear search", onclick: () => {
      $("search-q").value = ""; box.hidden = true; box.replaceChildren(); $("search-q").focus();
    } }));
    box.hidden = false;
  } catch (err) {
    toast(err.message);
  }
}

// The store marks matches with [ and ]; show them as <mark> without parsing any HTML.
function snippet(text) {
  const out = [];
  const re = /\[([^\]]*)\]/g;
  let last = 0, m;
  while ((m = re.exec(text || ""))) {
    out.push(text.slice(last, m.index), el("mark", { text: m[1] }));
    last = re.lastIndex;
  }
  out.push((text || "").slice(last));
  return out;
}

// ----- wiring --------------------------------------------------------------------------------

for (const b of document.querySelectorAll("[data-action=new-session]")) b.addEventListener("click", newSession);
$("new-form").addEventListener("submit", createSession);
$("new-cancel").addEventListener("click", () => $("new-dialog").close());
// A named agent decides the engine, agent and model itself.
$("new-agent-config").addEventListener("change", () => {
  const named = Boolean($("new-agent-config").value);
  $("new-agent").disabled = named;
  $("new-model").disabled = named;
});
// Each server has its own agents and models: the lists follow the chosen server.
$("new-server").addEventListener("change", async () => {
  const server = $("new-server").value;
  const query = server && server !== "local" ? `?server=${encodeURIComponent(server)}` : "";
  const [agents, models] = await Promise.all([
    api(`/api/agents${query}`).then((d) => d.agents).catch(() => []),
    api(`/api/models${query}`).then((d) => d.models).catch(() => []),
  ]);
  $("new-agent").replaceChildren(el("option", { value: "", text: "Default agent" }),
    ...agents.filter((a) => a.mode !== "subagent").map((a) => el("option", { value: a.name,
      text: a.description ? `${a.name} — ${a.description}` : a.name })));
  $("new-model").replaceChildren(el("option", { value: "", text: "Default model" }),
    ...models.map((m) => el("option", { value: m.id, text: m.name ? `${m.name} (${m.id})` : m.id })));
});
$("search").addEventListener("submit", search);
filter.addEventListener("change", applyFilter);
loadProjects().then(redrawCards);
$("archived").addEventListener("toggle", refreshArchived);
loadActive();
