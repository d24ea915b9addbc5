// The settings page: every setting the server declares (GET /api/settings), on grouped pages
// (General, OpenCode servers, Remote access, Security, Notifications, Logs, Advanced) with
// human labels (settings-catalog.js) and the server's description as help. A search box finds
// a setting on any page. Raw keys show only under Advanced, where unlisted settings land.
// The server validates; its message for a setting is shown beside that field.
import { api } from "../api.js";
import { el } from "../chat/ui.js";
import { applyTheme } from "../theme.js";
import { CATALOG, GROUPS, describe } from "./settings-catalog.js";

const $ = (id) => document.getElementById(id);
const fieldId = (key) => `set-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;

let values = {};
const specs = new Map();   // key -> spec
const controls = new Map(); // key -> { read(), write(value), error, resetBtn }

function sectionsOf(allSpecs) {
  const out = GROUPS.map((g) => ({ ...g, specs: [] }));
  for (const spec of allSpecs) out.find((g) => g.id === describe(spec.key).group).specs.push(spec);
  const order = Object.keys(CATALOG);
  const rank = (key) => (order.includes(key) ? order.indexOf(key) : order.length);
  for (const group of out) group.specs.sort((a, b) => rank(a.key) - rank(b.key));
  return out.filter((s) => s.specs.length || s.link);
}

function hint(spec) {
  const parts = [];
  if (spec.minimum !== undefined && spec.maximum !== undefined) parts.push(`${spec.minimum} to ${spec.maximum}`);
  else if (spec.minimum !== undefined) parts.push(`at least ${spec.minimum}`);
  else if (spec.maximum !== undefined) parts.push(`at most ${spec.maximum}`);
  const def = spec.type === "an object" ? (Object.keys(spec.default).length ? JSON.stringify(spec.default) : "none")
    : spec.default === "" ? "empty" : String(spec.default);
  parts.push(`default ${def}`);
  return parts.join(" · ");
}

// ----- controls: one per type; each reads and writes its value ------------------------------

function numberControl(spec, id, describedBy) {
  const input = el("input", { type: "number", id, inputmode: spec.type === "a whole number" ? "numeric" : "decimal",
    step: spec.type === "a whole number" ? "1" : "any", min: spec.minimum, max: spec.maximum,
    "aria-describedby": describedBy });
  return {
    node: input, focus: input,
    read: () => {
      const n = Number(input.value);
      // Anything that is not a number goes to the server as typed: its message says what is wrong.
      return input.value.trim() === "" || Number.isNaN(n) ? input.value : n;
    },
    write: (v) => { input.value = String(v); },
  };
}

function keyValueControl(spec, id, describedBy) {
  const rows = el("div", { class: "kv-rows" });
  const addRow = (name = "", value = "") => {
    const n = rows.children.length + 1;
    const nameInput = el("input", { type: "text", class: "kv-name", value: name, "aria-label": `Name ${n}`,
      spellcheck: "false" });
    const valueInput = el("input", { type: "text", class: "kv-value", value, "aria-label": `Value ${n}`,
      spellcheck: "false" });
    const row = el("div", { class: "kv-row" }, nameInput, valueInput,
      el("button", { type: "button", class: "btn tiny", text: "Remove", "aria-label": `Remove variable ${n}`,
        onclick: () => row.remove() }));
    rows.append(row);
    return nameInput;
  };
  const add = el("button", { type: "button", class: "btn tiny", text: "Add variable", onclick: () => addRow().focus() });
  return {
    node: el("div", { class: "kv", id, role: "group", "aria-labelledby": `${id}-label`, "aria-describedby": describedBy },
      rows, add),
    focus: add,
    read: () => {
      const out = {};
      for (const row of rows.children) {
        const name = row.querySelector(".kv-name").value.trim();
        if (name) out[name] = row.querySelector(".kv-value").value;
      }
      return out;
    },
    write: (v) => { rows.replaceChildren(); for (const [k, val] of Object.entries(v || {})) addRow(k, String(val)); },
  };
}

function controlFor(spec, id, describedBy) {
  if (spec.type === "true or false") {
    const box = el("input", { type: "checkbox", id, "aria-describedby": describedBy });
    return { node: box, focus: box, read: () => box.checked, write: (v) => { box.checked = Boolean(v); } };
  }
  if (spec.choices) {
    const select = el("select", { id, "aria-describedby": describedBy },
      spec.choices.map((c) => el("option", { value: c, text: c })));
    return { node: select, focus: select, read: () => select.value, write: (v) => { select.value = v; } };
  }
  if (spec.type === "a whole number" || spec.type === "a number") return numberControl(spec, id, describedBy);
  if (spec.type === "an object") return keyValueControl(spec, id, describedBy);
  const input = el("input", { type: "text", id, "aria-describedby": describedBy, spellcheck: "false" });
  return { node: input, focus: input, read: () => input.value, write: (v) => { input.value = v ?? ""; } };
}

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

function field(spec) {
  const id = fieldId(spec.key);
  const about = describe(spec.key);
  const helpId = `${id}-help`, errorId = `${id}-error`;
  const control = controlFor(spec, id, `${helpId} ${errorId}`);
  const error = el("p", { class: "field-error", id: errorId });
  const resetBtn = el("button", { type: "button", class: "btn link reset", text: "Reset to default",
    "aria-label": `Reset ${about.label} to default`, onclick: () => reset(spec.key) });
  const isCheck = spec.type === "true or false";
  // A group of inputs (the key/value editor) is named by its label through aria-labelledby.
  const labelEl = el(spec.type === "an object" ? "span" : "label",
    spec.type === "an object" ? { class: "label", id: `${id}-label` } : { for: id },
    about.label, about.raw ? [" ", el("code", { class: "key", text: spec.key })] : null);
  const row = el("div", { class: `setting${isCheck ? " is-check" : ""}`, dataset: { key: spec.key,
    find: `${about.label} ${spec.description} ${spec.key}`.toLowerCase() } },
  isCheck ? el("div", { class: "check" }, control.node, labelEl) : [labelEl, control.node],
  el("p", { class: "help", id: helpId }, spec.description, el("span", { class: "hint", text: ` (${hint(spec)})` }),
    about.restart ? el("span", { class: "needs-restart", text: " Needs an OpenCode restart." }) : null),
  error, resetBtn);
  control.write(values[spec.key]);
  controls.set(spec.key, { ...control, error, resetBtn, row });
  return row;
}

function refreshResetButtons() {
  for (const [key, c] of controls) c.resetBtn.hidden = same(values[key], specs.get(key).default);
}

function showErrors(fields) {
  let first = null;
  for (const [key, c] of controls) {
    const message = fields?.[key] || "";
    c.error.textContent = message;
    c.row.toggleAttribute("data-invalid", Boolean(message));
    c.focus.setAttribute("aria-invalid", message ? "true" : "false");
    if (message && !first) first = c.focus;
  }
  first?.focus();
}

// ----- saving --------------------------------------------------------------------------------

async function afterChange(section, changedKeys, status) {
  if (changedKeys.includes("general.theme")) applyTheme(values["general.theme"]);
  if (changedKeys.includes("general.instance_name")) {
    const brand = document.querySelector(".brand span");
    if (brand) brand.textContent = values["general.instance_name"];
  }
  refreshResetButtons();
  let text = changedKeys.length ? "Saved. Changes apply at once." : "Nothing to save: no changes.";
  let restart = false;
  try {
    restart = changedKeys.length > 0 && (await api("/api/server")).restart_required;
  } catch { /* the status is a courtesy; the save itself worked */ }
  if (restart) text = "Saved. OpenCode has to restart to use the new server settings.";
  status.textContent = text;
  section.querySelector(".restart-now").hidden = !restart;
}

async function save(section, keys, status) {
  const changes = {};
  for (const key of keys) {
    const value = controls.get(key).read();
    if (!same(value, values[key])) changes[key] = value;
  }
  status.textContent = "";
  showErrors({});
  if (!Object.keys(changes).length) { await afterChange(section, [], status); return; }
  try {
    const result = await api("/api/settings", { method: "PATCH", body: changes });
    values = result.values;
    await afterChange(section, Object.keys(changes), status);
  } catch (err) {
    if (err.details?.fields) {
      showErrors(err.details.fields);
      status.textContent = "";
      section.querySelector(".save-error").textContent = `${err.message} See the messages beside the fields.`;
    } else {
      section.querySelector(".save-error").textContent = `Not saved: ${err.message}`;
    }
  }
}

async function reset(key) {
  const section = controls.get(key).row.closest("section");
  const status = section.querySelector(".save-status");
  try {
    values = (await api("/api/settings/reset", { method: "POST", body: { keys: [key] } })).values;
    controls.get(key).write(values[key]);
    section.querySelector(".save-error").textContent = "";
    showErrors({});
    await afterChange(section, [key], status);
    status.textContent = `${describe(key).label} is back to its default. ${status.textContent}`;
    controls.get(key).focus.focus();
  } catch (err) {
    section.querySelector(".save-error").textContent = `Not reset: ${err.message}`;
  }
}

async function restartServer(button) {
  button.disabled = true;
  try {
    await api("/api/server/restart", { method: "POST" });
    button.hidden = true;
    button.closest("section").querySelector(".save-status").textContent = "OpenCode restarted with the new settings.";
  } catch (err) {
    button.closest("section").querySelector(".save-error").textContent = `Restart failed: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

// ----- drawing -------------------------------------------------------------------------------

function drawSection(section) {
  const headingId = `section-${section.id}-heading`;
  const keys = section.specs.map((s) => s.key);
  const status = el("p", { class: "form-status save-status", role: "status", "aria-live": "polite" });
  const form = el("form", { class: "settings-form", novalidate: true },
    section.specs.map(field),
    el("p", { class: "form-error save-error", role: "alert" }),
    status,
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "btn primary", text: section.save }),
      el("button", { type: "button", class: "btn restart-now", hidden: true, text: "Restart OpenCode now",
        onclick: (e) => restartServer(e.currentTarget) })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    form.querySelector(".save-error").textContent = "";
    save(form.closest("section"), keys, status);
  });
  return el("section", { class: "panel settings-section", id: `section-${section.id}`, "aria-labelledby": headingId,
    dataset: { group: section.id } },
  el("h2", { id: headingId, text: section.title, tabindex: "-1" }),
  section.note ? el("p", { class: "muted section-note", text: section.note }) : null,
  section.link ? el("p", {}, el("a", { class: "btn", href: section.link.href, text: section.link.text })) : null,
  keys.length ? form : null);
}

// ----- pages and search ----------------------------------------------------------------------

let groupIds = [];

function currentGroup() {
  const id = location.hash.replace(/^#(section-)?/, "");
  return groupIds.includes(id) ? id : groupIds[0];
}

// One group at a time; while searching, every setting that matches, on whatever page.
function show() {
  const query = $("settings-search").value.trim().toLowerCase();
  const group = currentGroup();
  let found = 0;
  for (const section of document.querySelectorAll(".settings-section")) {
    if (!query) {
      section.hidden = section.dataset.group !== group;
      for (const row of section.querySelectorAll(".setting")) row.hidden = false;
      continue;
    }
    let any = false;
    for (const row of section.querySelectorAll(".setting")) {
      row.hidden = !query.split(/\s+/).every((word) => row.dataset.find.includes(word));
      any ||= !row.hidden;
      found += row.hidden ? 0 : 1;
    }
    section.hidden = !any;
  }
  for (const link of document.querySelectorAll("#section-links a")) {
    if (!query && link.dataset.group === group) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("search-empty").hidden = !query || found > 0;
  $("search-count").textContent = query ? `${found} ${found === 1 ? "setting matches" : "settings match"}` : "";
}

async function load() {
  try {
    const data = await api("/api/settings");
    values = data.values;
    for (const spec of data.specs) specs.set(spec.key, spec);
    const sections = sectionsOf(data.specs);
    groupIds = sections.map((s) => s.id);
    $("settings-sections").replaceChildren(...sections.map(drawSection));
    $("section-links").replaceChildren(...sections.map((s) => el("a", { href: `#${s.id}`, text: s.title,
      dataset: { group: s.id } })));
    refreshResetButtons();
    show();
  } catch (err) {
    $("settings-load-error").textContent = `Could not load the settings: ${err.message}`;
  } finally {
    $("settings-sections").removeAttribute("aria-busy");
  }
}

window.addEventListener("hashchange", () => {
  $("settings-search").value = "";
  show();
  document.querySelector(`#section-${currentGroup()} h2`)?.focus?.();
});
$("settings-search").addEventListener("input", show);
$("settings-search-form").addEventListener("submit", (e) => e.preventDefault());
load();
