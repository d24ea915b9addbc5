// The setup wizard: the server keeps the state (GET /api/setup) and checks every step
// (POST /api/setup/<step>); this only shows the current step and sends the answers.
import { api } from "./api.js";

const STEPS = ["welcome", "system", "server", "password", "tunnel", "done"];
const wizard = document.getElementById("wizard");
const wizardError = document.getElementById("wizard-error");
let state = null;
let shown = null;

function setCsrf(token) {
  if (token) document.querySelector('meta[name="csrf-token"]').content = token;
}

function clearErrors(section) {
  wizardError.textContent = "";
  section.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
  section.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}

function showErrors(section, e) {
  const fields = e.details?.fields || {};
  let first = null;
  for (const [name, message] of Object.entries(fields)) {
    const slot = section.querySelector(`#${CSS.escape(name)}-error`);
    const input = section.querySelector(`[name="${CSS.escape(name)}"]`);
    if (slot) slot.textContent = message;
    if (input) { input.setAttribute("aria-invalid", "true"); first ??= input; }
  }
  wizardError.textContent = e.message;
  (first || wizardError).focus?.();
}

function render(step) {
  shown = step;
  wizard.dataset.step = step;
  const index = STEPS.indexOf(step);
  document.querySelectorAll("#steps li").forEach((li) => {
    const i = STEPS.indexOf(li.dataset.step);
    li.dataset.state = i < index ? "done" : "";
    if (i === index) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
  document.querySelectorAll("section.step").forEach((s) => { s.hidden = s.dataset.step !== step; });
  const section = document.querySelector(`section.step[data-step="${step}"]`);
  clearErrors(section);
  fill(step, section);
  section.querySelector("h1").setAttribute("tabindex", "-1");
  section.querySelector("h1").focus();
}

function fill(step, section) {
  if (step === "system") showChecks(state.checks || []);
  if (step === "server") {
    section.querySelector("#binary").value = state.server.binary;
    section.querySelector("#workspace").value = state.server.workspace;
    section.querySelector("#autostart").checked = state.server.autostart;
  }
  if (step === "password") {
    const exists = state.owner.exists;
    section.querySelector("#owner-username").value = state.owner.username;
    section.querySelector("#keep-row").hidden = !exists;
    section.querySelector("#current-row").hidden = !exists;
    section.querySelector("#keep").checked = exists;
    document.getElementById("password-intro").textContent = exists
      ? "A password is already set. Keep it, or enter the current one to choose another."
      : document.getElementById("password-intro").textContent;
  }
  if (step === "tunnel") {
    section.querySelector(`#mode-${state.tunnel.mode}`).checked = true;
    section.querySelector("#hostname").value = state.tunnel.hostname;
    section.querySelector("#protocol").value = state.tunnel.protocol;
    section.querySelector("#store-label").textContent = state.secrets.label;
    section.querySelector("#token").placeholder = state.tunnel.has_token ? "A token is stored (leave empty to keep it)" : "eyJ…";
    toggleNamed();
  }
  if (step === "done") {
    const summary = document.getElementById("summary");
    const rows = [
      ["Workspace", state.server.workspace],
      ["OpenCode", !state.opencode ? (state.server.binary || "searched for when Nexus starts")
        : state.opencode.found ? `found: ${state.opencode.where}`
          : "not installed. Install it with the command: npm install -g opencode-ai (or use the Anthropic engine)"],
      ["Owner", state.owner.username],
      ["Remote access", { off: "off", quick: "quick tunnel", named: `named tunnel (${state.tunnel.hostname})` }[state.tunnel.mode]],
    ];
    summary.replaceChildren(...rows.map(([k, v]) => {
      const div = document.createElement("div");
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      div.append(dt, dd);
      return div;
    }));
  }
}

function showChecks(checks) {
  const list = document.getElementById("checks");
  list.replaceChildren(...checks.map((c) => {
    const li = document.createElement("li");
    li.dataset.ok = String(c.ok);
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.textContent = c.ok ? "✓" : "!";
    mark.setAttribute("aria-label", c.ok ? "found" : "needs attention");
    const name = document.createElement("strong"); name.textContent = c.name;
    const detail = document.createElement("span"); detail.className = "detail"; detail.textContent = c.detail;
    li.append(mark, name, detail);
    if (!c.ok && c.fix) {
      const fix = document.createElement("span"); fix.className = "fix"; fix.textContent = c.fix;
      li.append(fix);
    }
    return li;
  }));
}

async function submit(step, body = {}) {
  const section = document.querySelector(`section.step[data-step="${step}"]`);
  clearErrors(section);
  section.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    state = await api(`/api/setup/${step}`, { method: "POST", body });
    setCsrf(state.csrf_token);
    if (step === "done") { location.assign("/"); return; }
    render(state.step === step ? STEPS[STEPS.indexOf(step) + 1] : state.step);
  } catch (e) {
    showErrors(section, e);
  } finally {
    section.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  }
}

function toggleNamed() {
  document.getElementById("named-fields").hidden = !document.getElementById("mode-named").checked;
}

let strengthTimer = null;
async function strength() {
  const password = document.getElementById("new-password").value;
  const out = document.getElementById("strength");
  const bar = document.getElementById("meter-bar");
  if (!password) { bar.dataset.score = "0"; out.textContent = "At least 10 characters. A few unrelated words work well."; return; }
  try {
    const s = await api("/api/auth/password-strength", { method: "POST",
      body: { password, username: document.getElementById("owner-username").value } });
    bar.dataset.score = String(password ? Math.max(s.score, 1) : 0);
    out.textContent = `Strength: ${s.label}.` + (s.acceptable ? "" : ` ${s.warning} ${s.suggestions.join(" ")}`);
  } catch { /* the meter is advice; the server checks again on submit */ }
}

wizard.addEventListener("click", (event) => {
  const section = event.target.closest("section.step");
  if (!section) return;
  if (event.target.matches("[data-next]")) submit(section.dataset.step);
  if (event.target.matches("[data-back]")) render(STEPS[Math.max(0, STEPS.indexOf(section.dataset.step) - 1)]);
});
document.getElementById("recheck").addEventListener("click", async () => {
  state = await api("/api/setup");
  showChecks(state.checks || []);
});
document.getElementById("finish").addEventListener("click", () => submit("done"));
document.getElementById("form-server").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const key = f.anthropic_key.value.trim();
  if (key) {
    // Tested with a cheap call before it is stored; a refused key stops here, marked.
    const error = document.getElementById("anthropic-key-error");
    error.textContent = "";
    f.anthropic_key.removeAttribute("aria-invalid");
    try {
      await api("/api/anthropic/key", { method: "PUT", body: { key } });
      f.anthropic_key.value = "";
    } catch (err) {
      error.textContent = err.message;
      f.anthropic_key.setAttribute("aria-invalid", "true");
      return;
    }
  }
  submit("server", { binary: f.binary.value, workspace: f.workspace.value, autostart: f.autostart.checked });
});
document.getElementById("form-password").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  if (!f.keep.hidden && f.keep.checked && !document.getElementById("keep-row").hidden && !f.password.value) {
    submit("password", { keep: true });
    return;
  }
  const body = { username: f.username.value, password: f.password.value, confirm: f.confirm.value };
  if (!document.getElementById("current-row").hidden) body.current_password = f.current_password.value;
  submit("password", body);
});
document.getElementById("new-password").addEventListener("input", () => {
  clearTimeout(strengthTimer);
  strengthTimer = setTimeout(strength, 250);
});
document.getElementById("form-tunnel").addEventListener("change", toggleNamed);
document.getElementById("form-tunnel").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { mode: f.mode.value, protocol: f.protocol.value };
  if (body.mode === "named") { body.hostname = f.hostname.value; if (f.token.value) body.token = f.token.value; }
  submit("tunnel", body);
});

async function start() {
  state = await api("/api/setup");
  if (state.step === "system" && !state.checks) state = await api("/api/setup");
  render(state.step);
}
start().catch((e) => { wizardError.textContent = e.message; });
