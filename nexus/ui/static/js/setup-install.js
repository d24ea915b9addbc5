// The wizard's "OpenCode is not installed" box: says so plainly, shows the exact npm command,
// and when npm exists runs it here with its output as it comes (POST, then GET every second).
import { api } from "./api.js";

const box = document.getElementById("opencode-missing");
const button = document.getElementById("install-opencode");
const status = document.getElementById("install-status");
const output = document.getElementById("install-output");
const how = document.getElementById("install-how");
let polling = null;

function show(s) {
  document.getElementById("install-command").textContent = s.command;
  button.hidden = !s.npm_found || s.state === "done";
  button.disabled = s.state === "running";
  if (!s.npm_found) {
    how.textContent = "npm is not installed either. Install Node.js (it brings npm) from https://nodejs.org and "
      + "then run the command below, or continue and give an Anthropic API key on the next step to use the "
      + "built-in Anthropic engine.";
  }
  output.hidden = !s.output.length;
  output.textContent = s.output.join("\n");
  output.scrollTop = output.scrollHeight;
  status.textContent = { idle: "", running: "Installing… this takes a minute or two.",
    done: "OpenCode is installed. Choose Check again.", failed: "The install failed; the output says why." }[s.state];
  if (s.state === "running" && !polling) polling = setInterval(refresh, 1000);
  if (s.state !== "running" && polling) { clearInterval(polling); polling = null; }
}

async function refresh() {
  try { show(await api("/api/setup/opencode-install")); } catch { /* the next poll tries again */ }
}

// The checks list is drawn by setup.js; the box follows whether OpenCode was found in it.
new MutationObserver(() => {
  const item = [...document.querySelectorAll("#checks li")].find((li) => li.querySelector("strong")?.textContent === "OpenCode");
  box.hidden = !item || item.dataset.ok === "true";
  if (!box.hidden && !box.dataset.loaded) { box.dataset.loaded = "1"; refresh(); }
}).observe(document.getElementById("checks"), { childList: true });

button.addEventListener("click", async () => {
  button.disabled = true;
  try { show(await api("/api/setup/opencode-install", { method: "POST" })); } catch (err) {
    status.textContent = err.message;
    button.disabled = false;
  }
});
