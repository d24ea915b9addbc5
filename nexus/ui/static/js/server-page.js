// The server page: status, controls, live metrics and restart history.
import { api } from "./api.js";
import { connectLive } from "./live.js";
import { bytes, duration, time } from "./format.js";

const $ = (id) => document.getElementById(id);
const panel = $("server-panel");
const buttons = panel.querySelectorAll("button[data-action]");
let status = null;
let busy = false;

function renderStatus(s) {
  status = s;
  panel.dataset.state = s.state;
  $("server-state").textContent = s.state;
  $("server-state").dataset.state = s.state;
  let reason = s.last_error || "";
  if (s.state === "backing-off" && s.next_attempt_in != null) {
    reason = `Restarting (attempt ${s.attempt} of ${s.max_attempts})… ${reason}`;
  }
  $("server-reason").textContent = reason;
  $("server-reason").dataset.kind = s.last_error ? "error" : "info";
  $("server-version").textContent = s.version || "—";
  $("server-url").textContent = s.url || "—";
  $("server-pid").textContent = s.pid || (s.mode === "attached" ? "attached" : "—");
  $("server-uptime").textContent = ["running", "unhealthy"].includes(s.state) ? duration(s.uptime, "0s") : "—";
  $("server-restarts").textContent = s.restarts;
  $("server-protected").textContent = s.protected ? "yes" : "no";
  $("restart-required").hidden = !s.restart_required;
  updateButtons();
}

function updateButtons() {
  const state = status?.state;
  const up = ["running", "unhealthy", "starting"].includes(state);
  for (const b of buttons) {
    const a = b.dataset.action;
    b.disabled = busy || (a === "start" && up) || (a === "stop" && state === "stopped") ||
      (a === "restart" && state === "stopped");
  }
}

function renderMetrics(m) {
  $("m-cpu").textContent = `${m.cpu_percent.toFixed(1)} %`;
  $("m-rss").textContent = bytes(m.rss_bytes);
  $("m-threads").textContent = m.threads;
  $("m-req").textContent = m.requests;
  $("m-err").textContent = m.errors_total;
  $("metrics-age").textContent = `updated ${new Date(m.at * 1000).toLocaleTimeString()}`;
  if (status) $("server-uptime").textContent = duration(m.uptime);
}

async function loadHistory() {
  const { restarts } = await api("/api/server/restarts?limit=20");
  const list = $("history");
  list.replaceChildren(...restarts.map((r) => {
    const li = document.createElement("li");
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = time(r.at);
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = `${r.reason}${r.exit_code != null ? ` (exit ${r.exit_code})` : ""}${r.detail ? ` — ${r.detail}` : ""}`;
    const outcome = document.createElement("span");
    outcome.className = "outcome";
    outcome.dataset.outcome = r.outcome;
    outcome.textContent = r.outcome;
    li.append(when, what, outcome);
    return li;
  }));
  $("history-empty").hidden = restarts.length > 0;
}

for (const b of buttons) {
  b.addEventListener("click", async () => {
    busy = true;
    updateButtons();
    $("server-reason").textContent = `${b.textContent}…`;
    $("server-reason").dataset.kind = "info";
    try {
      renderStatus(await api(`/api/server/${b.dataset.action}`, { method: "POST" }));
    } catch (err) {
      $("server-reason").textContent = err.message;
      $("server-reason").dataset.kind = "error";
    } finally {
      busy = false;
      updateButtons();
      loadHistory().catch(() => {});
    }
  });
}

connectLive("/api/stream", {
  onState(state) {
    const conn = $("conn");
    conn.dataset.state = state;
    conn.textContent = { live: "Live", connecting: "Connecting…", offline: "Offline — reconnecting" }[state];
    document.body.dataset.live = state;
  },
  onMessage(msg) {
    if (msg.type === "hello") {
      renderStatus(msg.data.status);
      const last = msg.data.metrics.at(-1);
      if (last) renderMetrics(last);
    } else if (msg.type === "server.state") {
      renderStatus(msg.data.status);
      loadHistory().catch(() => {});
    } else if (msg.type === "server.metrics") {
      renderMetrics(msg.data);
    }
  },
});

loadHistory().catch(() => {});
