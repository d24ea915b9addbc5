// The Agents page: the Anthropic API key (save+test, test, forget) and named agents
// (create, edit, duplicate, delete, try it). Everything goes through /api/agent-configs
// and /api/anthropic/*; text goes into the page through textContent only.
import { api } from "./api.js";
import { el, confirmDialog } from "./chat/ui.js";

const $ = (id) => document.getElementById(id);
let state = { agents: [], tools: {}, anthropic: {} };
let editing = null; // the agent being edited, or {} for a new one
const models = { anthropic: null, opencode: null };
let opencodeAgents = null;

// ----- the API key ------------------------------------------------------------------------------

function showKey(info) {
  state.anthropic = info;
  $("key-state").textContent = info.has_key ? "key set" : "no key";
  $("key-state").dataset.state = info.has_key ? "running" : "stopped";
  $("key-store").textContent = info.store?.label || "unknown";
  $("key-test").disabled = !info.has_key;
  $("key-forget").disabled = !info.has_key;
}

function keyMessage(ok, text) {
  $("key-status").textContent = ok ? text : "";
  $("key-error").textContent = ok ? "" : text;
}

async function saveKey(e) {
  e.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) { keyMessage(false, "Paste the API key first."); return; }
  $("key-save").disabled = true;
  keyMessage(true, "Testing the key…");
  try {
    showKey(await api("/api/anthropic/key", { method: "PUT", body: { key } }));
    $("key-input").value = "";
    keyMessage(true, "Saved. Anthropic accepted the key.");
  } catch (err) {
    keyMessage(false, err.message);
  } finally {
    $("key-save").disabled = false;
  }
}

async function testKey() {
  keyMessage(true, "Testing the key…");
  try {
    await api("/api/anthropic/key/test", { method: "POST" });
    keyMessage(true, "Anthropic accepted the key.");
  } catch (err) {
    keyMessage(false, err.message);
  }
}

async function forgetKey() {
  const ok = await confirmDialog({ title: "Forget the Anthropic API key?", ok: "Forget", danger: true,
    body: "Anthropic agents cannot answer until you enter a key again." });
  if (!ok) return;
  showKey(await api("/api/anthropic/key", { method: "DELETE" }));
  keyMessage(true, "The key was forgotten.");
}

// ----- the list ---------------------------------------------------------------------------------

function describe(agent) {
  const bits = [agent.engine === "anthropic" ? "Anthropic" : "OpenCode"];
  if (agent.model) bits.push(agent.model);
  if (agent.opencode_agent) bits.push(`agent ${agent.opencode_agent}`);
  if (agent.thinking_budget) bits.push(`thinking ${agent.thinking_budget.toLocaleString()}`);
  bits.push(agent.tools === null ? "all tools" : agent.tools.length ? agent.tools.join(", ") : "no tools");
  return bits.join(" · ");
}

function renderList() {
  $("agents-empty").hidden = state.agents.length > 0;
  $("agent-list").replaceChildren(...state.agents.map((agent) => el("li", { dataset: { agent: agent.id } },
    el("div", { class: "agent-main" },
      el("div", { class: "agent-name", text: agent.name }),
      el("div", { class: "agent-meta", text: describe(agent) })),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "btn small primary", text: "Try it", "aria-label": `Try ${agent.name}`,
                     onclick: () => tryIt(agent) }),
      el("button", { type: "button", class: "btn small", text: "Edit", "aria-label": `Edit ${agent.name}`,
                     onclick: () => openEditor(agent) }),
      el("button", { type: "button", class: "btn small", text: "Duplicate", "aria-label": `Duplicate ${agent.name}`,
                     onclick: () => duplicate(agent) }),
      el("button", { type: "button", class: "btn small danger", text: "Delete", "aria-label": `Delete ${agent.name}`,
                     onclick: () => remove(agent) })))));
}

async function load() {
  state = await api("/api/agent-configs");
  showKey(state.anthropic);
  renderList();
}

async function tryIt(agent) {
  $("list-error").textContent = "";
  try {
    const session = await api("/api/sessions", { method: "POST", body: { agent_id: agent.id } });
    location.assign(matchMedia("(max-width: 640px)").matches ? `/s/${encodeURIComponent(session.id)}` : "/");
  } catch (err) {
    $("list-error").textContent = err.message;
  }
}

async function duplicate(agent) {
  $("list-error").textContent = "";
  try {
    const copy = await api(`/api/agent-configs/${encodeURIComponent(agent.id)}/duplicate`, { method: "POST" });
    await load();
    openEditor(copy);
  } catch (err) {
    $("list-error").textContent = err.message;
  }
}

async function remove(agent) {
  const ok = await confirmDialog({ title: `Delete the agent “${agent.name}”?`, ok: "Delete", danger: true,
    body: "Sessions started with it keep working; they have their own copy of its settings." });
  if (!ok) return;
  await api(`/api/agent-configs/${encodeURIComponent(agent.id)}`, { method: "DELETE" });
  if (editing?.id === agent.id) closeEditor();
  await load();
}

// ----- the editor -------------------------------------------------------------------------------

async function modelsFor(engine) {
  if (models[engine] === null) {
    const path = engine === "anthropic" ? "/api/anthropic/models" : "/api/models";
    models[engine] = await api(path).then((d) => d.models).catch(() => []);
  }
  return models[engine];
}

function engineNow() {
  return document.querySelector('input[name="engine"]:checked')?.value || "anthropic";
}

async function showEngine(engine, agent = editing) {
  const anthropic = engine === "anthropic";
  $("row-opencode-agent").hidden = anthropic;
  $("row-thinking").hidden = !anthropic;
  $("row-temperature").hidden = !anthropic;
  $("row-max-tokens").hidden = !anthropic;
  $("opencode-note").hidden = anthropic;
  const enabled = agent?.engine === engine && Array.isArray(agent.tools) ? new Set(agent.tools) : null;
  $("tool-grid").replaceChildren(...(state.tools[engine] || []).map((name) => {
    const id = `tool-${name}`;
    return el("div", { class: "check" },
      el("input", { type: "checkbox", id, value: name, checked: enabled === null || enabled.has(name) }),
      el("label", { for: id }, el("code", { text: name })));
  }));
  const list = await modelsFor(engine);
  const select = $("f-model");
  const wanted = agent?.engine === engine ? agent.model : null;
  select.replaceChildren(
    ...(anthropic ? [] : [el("option", { value: "", text: "OpenCode's default model" })]),
    ...list.map((m) => el("option", { value: m.id, text: m.name ? `${m.name} (${m.id})` : m.id,
                                      selected: wanted ? m.id === wanted : Boolean(m.default) })));
  if (wanted && !list.some((m) => m.id === wanted)) select.append(el("option", { value: wanted, text: wanted, selected: true }));
  $("h-model").textContent = anthropic ? "Prices per million tokens come from Nexus's dated price table." :
    (list.length ? "" : "Start OpenCode to choose from its models.");
  if (!anthropic) {
    if (opencodeAgents === null) opencodeAgents = await api("/api/agents").then((d) => d.agents).catch(() => []);
    const current = agent?.opencode_agent || "";
    $("f-opencode-agent").replaceChildren(el("option", { value: "", text: "OpenCode's default agent" }),
      ...opencodeAgents.map((a) => el("option", { value: a.name, text: a.name, selected: a.name === current })));
    if (current && !opencodeAgents.some((a) => a.name === current)) {
      $("f-opencode-agent").append(el("option", { value: current, text: current, selected: true }));
    }
  }
}

function clearErrors() {
  for (const node of document.querySelectorAll("#agent-form .field-error")) node.textContent = "";
  for (const node of document.querySelectorAll("#agent-form [aria-invalid]")) node.removeAttribute("aria-invalid");
  $("form-error").textContent = "";
}

async function openEditor(agent = null) {
  editing = agent || {};
  clearErrors();
  $("edit-heading").textContent = agent ? `Edit “${agent.name}”` : "New agent";
  $("f-name").value = agent?.name || "";
  const engine = agent?.engine || "anthropic";
  $(`f-engine-${engine}`).checked = true;
  $("f-system").value = agent?.system_prompt || "";
  $("f-temperature").value = agent?.temperature ?? "";
  $("f-max-tokens").value = agent?.max_tokens ?? "";
  $("f-thinking").value = agent?.thinking_budget || "";
  $("editor").hidden = false;
  await showEngine(engine, agent);
  $("f-name").focus();
}

function closeEditor() {
  editing = null;
  $("editor").hidden = true;
}

function numberOrNull(id) {
  const raw = $(id).value.trim();
  return raw === "" ? null : Number(raw);
}

async function save(e) {
  e.preventDefault();
  clearErrors();
  const engine = engineNow();
  const anthropic = engine === "anthropic";
  const boxes = [...document.querySelectorAll("#tool-grid input")];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  const body = {
    name: $("f-name").value, engine, model: $("f-model").value || null, system_prompt: $("f-system").value,
    opencode_agent: anthropic ? null : ($("f-opencode-agent").value || null),
    tools: chosen.length === boxes.length ? null : chosen,
    temperature: anthropic ? numberOrNull("f-temperature") : null,
    max_tokens: anthropic ? numberOrNull("f-max-tokens") : null,
    thinking_budget: anthropic ? (numberOrNull("f-thinking") || 0) : 0,
  };
  $("agent-save").disabled = true;
  try {
    const path = editing?.id ? `/api/agent-configs/${encodeURIComponent(editing.id)}` : "/api/agent-configs";
    await api(path, { method: editing?.id ? "PATCH" : "POST", body });
    closeEditor();
    await load();
  } catch (err) {
    const fields = err.details?.fields || {};
    for (const [name, message] of Object.entries(fields)) {
      const node = $(`e-${name}`);
      if (node) node.textContent = message;
    }
    if (fields.name) $("f-name").setAttribute("aria-invalid", "true");
    $("form-error").textContent = Object.keys(fields).length ? "Fix the marked fields." : err.message;
  } finally {
    $("agent-save").disabled = false;
  }
}

$("key-form").addEventListener("submit", saveKey);
$("key-test").addEventListener("click", testKey);
$("key-forget").addEventListener("click", forgetKey);
$("agent-new").addEventListener("click", () => openEditor());
$("agent-cancel").addEventListener("click", closeEditor);
$("agent-form").addEventListener("submit", save);
for (const radio of document.querySelectorAll('input[name="engine"]')) {
  radio.addEventListener("change", () => showEngine(engineNow()));
}
load().catch((err) => { $("list-error").textContent = err.message; });
