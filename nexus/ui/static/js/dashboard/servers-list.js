// Every OpenCode server on the dashboard: the one Nexus starts and the ones attached by URL
// (state, version, requests, CPU and memory when it runs on this computer), attach and detach.
import { api } from "../api.js";
import { el, toast } from "../chat/ui.js";
import { bytes } from "../format.js";

const $ = (id) => document.getElementById(id);
const STATE_WORDS = { running: "Running", unhealthy: "Slow to answer", unreachable: "Unreachable",
  connecting: "Connecting", stopped: "Stopped", starting: "Starting" };

function row(server) {
  const facts = [server.url || "started by Nexus", server.version ? `OpenCode ${server.version}` : null,
    server.requests !== undefined ? `${server.requests} requests, ${server.errors} errors` : null,
    server.cpu_percent !== undefined ? `CPU ${server.cpu_percent.toFixed(1)} %` : null,
    server.rss_bytes ? `memory ${bytes(server.rss_bytes)}` : null].filter(Boolean);
  const actions = server.kind === "attached" ? el("button", { type: "button", class: "btn tiny danger", text: "Detach",
    "aria-label": `Detach ${server.name}`, onclick: () => detach(server) }) : null;
  return el("li", { class: "server-row", dataset: { state: server.state } },
    el("div", { class: "row-main" }, el("strong", { text: server.name }),
      el("span", { class: "badge", dataset: { state: server.state }, text: STATE_WORDS[server.state] || server.state })),
    el("p", { class: "muted small", text: facts.join(" · ") }),
    server.error ? el("p", { class: "form-error small", text: server.error }) : null,
    actions);
}

async function refresh() {
  try {
    const { servers } = await api("/api/servers");
    $("server-rows").replaceChildren(...servers.map(row));
    $("servers-count").textContent = `${servers.length} server${servers.length === 1 ? "" : "s"}`;
  } catch (err) {
    $("servers-count").textContent = `Could not list servers: ${err.message}`;
  }
}

async function detach(server) {
  try {
    await api(`/api/servers/${encodeURIComponent(server.id)}`, { method: "DELETE" });
    toast(`Detached “${server.name}”. It keeps running; its sessions stay readable here.`);
    refresh();
  } catch (err) { toast(err.message); }
}

$("attach-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("attach-error").textContent = "";
  $("attach-submit").disabled = true;
  try {
    await api("/api/servers", { method: "POST", body: { name: $("attach-name").value.trim(),
      url: $("attach-url").value.trim(), password: $("attach-password").value || undefined } });
    e.target.reset();
    refresh();
  } catch (err) {
    $("attach-error").textContent = err.message;
  } finally {
    $("attach-submit").disabled = false;
    $("attach-password").value = "";
  }
});

refresh();
setInterval(refresh, 5000);
