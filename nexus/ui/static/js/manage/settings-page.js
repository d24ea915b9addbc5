// The settings page: every setting the server declares (GET /api/settings), grouped into
// sections by its prefix, with the control its type calls for. Settings added later appear
// on their own. The server validates; its message for a setting is shown beside that field.
import { api } from "../api.js";
import { el } from "../chat/ui.js";
import { applyTheme } from "../theme.js";

// Known sections in this order; any other prefix gets a section of its own after them.
const SECTIONS = [
  { id: "general", title: "General", match: (k) => k.startsWith("general.") || k === "server.workspace" },
  { id: "server", title: "Server", match: (k) => /^(server|restart|metrics)\./.test(k),
    note: "How Nexus starts OpenCode, checks on it and restarts it." },
  { id: "tunnel", title: "Tunnel", match: (k) => k.startsWith("tunnel."),
    note: "Remote access from your phone through Cloudflare." },
  { id: "security", title: "Security", match: (k) => k.startsWith("security."),
    link: { href: "/security", text: "Password, API keys, signed-in devices and security events" } },
  { id: "notifications", title: "Notifications", match: (k) => k.startsWith("notifications.") },
  { id: "logs", title: "Logs", match: (k) => k.startsWith("logs.") },
];
const $ = (id) => document.getElementById(id);
const fieldId = (key) => `set-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;

let values = {};
const specs = new Map();   // key -> spec
const controls = new Map(); // key -> { read(), write(value), error, resetBtn }

const WORDS = { url: "URL", env: "Environment" };

function label(key) {
  const last = key.split(".").slice(1).join(".") || key;
  const words = WORDS[last] || last.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function sectionsOf(allSpecs) {
  const out = SECTIONS.map((s) => ({ ...s, specs: [] }));
  for (const spec of allSpecs) {
    let section = out.find((s) => s.match(spec.key));
    if (!section) {
      const prefix = spec.key.split(".")[0];
      section = out.find((s) => s.id === prefix);
      if (!section) {
        section = { id: prefix, title: label(`x.${prefix}`), match: () => false, specs: [] };
        out.push(section);
      }
    }
    section.specs.push(spec);
  }
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
  const helpId = `${id}-help`, errorId = `${id}-error`;
  const control = controlFor(spec, id, `${helpId} ${errorId}`);
  const error = el("p", { class: "field-error", id: errorId });
  const resetBtn = el("button", { type: "button", class: "btn link reset", text: "Reset to default",
    "aria-label": `Reset ${spec.key} to default`, onclick: () => reset(spec.key) });
  const isCheck = spec.type === "true or false";
  // A group of inputs (the key/value editor) is named by its label through aria-labelledby.
  const labelEl = el(spec.type === "an object" ? "span" : "label",
    spec.type === "an object" ? { class: "label", id: `${id}-label` } : { for: id },
    label(spec.key), " ", el("code", { class: "key", text: spec.key }));
  const row = el("div", { class: `setting${isCheck ? " is-check" : ""}`, dataset: { key: spec.key } },
    isCheck ? el("div", { class: "check" }, control.node, labelEl) : [labelEl, control.node],
    el("p", { class: "help", id: helpId }, spec.description, el("span", { class: "hint", text: ` (${hint(spec)})` })),
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
    status.textContent = `${key} is back to its default. ${status.textContent}`;
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
      el("button", { type: "submit", class: "btn primary", text: `Save ${section.title.toLowerCase()} settings` }),
      el("button", { type: "button", class: "btn restart-now", hidden: true, text: "Restart OpenCode now",
        onclick: (e) => restartServer(e.currentTarget) })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    form.querySelector(".save-error").textContent = "";
    save(form.closest("section"), keys, status);
  });
  return el("section", { class: "panel settings-section", id: `section-${section.id}`, "aria-labelledby": headingId },
    el("h2", { id: headingId, text: section.title }),
    section.note ? el("p", { class: "muted", text: section.note }) : null,
    section.link ? el("p", {}, el("a", { class: "btn", href: section.link.href, text: section.link.text })) : null,
    keys.length ? form : null);
}

async function load() {
  try {
    const data = await api("/api/settings");
    values = data.values;
    for (const spec of data.specs) specs.set(spec.key, spec);
    const sections = sectionsOf(data.specs);
    $("settings-sections").replaceChildren(...sections.map(drawSection));
    $("section-links").replaceChildren(...sections.map((s) => el("a", { href: `#section-${s.id}`, text: s.title })));
    refreshResetButtons();
  } catch (err) {
    $("settings-load-error").textContent = `Could not load the settings: ${err.message}`;
  } finally {
    $("settings-sections").removeAttribute("aria-busy");
  }
}

load();
