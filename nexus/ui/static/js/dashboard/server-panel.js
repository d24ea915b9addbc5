// The OpenCode server panel: status, start/stop/restart, uptime, and the restart history.
import { api } from "../api.js";
import { duration, time } from "../format.js";

const $ = (id) => document.getElementById(id);
const panel = $("server-panel");
const buttons = panel.querySelectorAll("button[data-action]");
let status = null;
let busy = false;

export function renderStatus(s) {
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
  $("server-uptime").textContent = isUp() ? duration(s.uptime, "0s") : "—";
  $("server-restarts").textContent = s.restarts;
  $("server-protected").textContent = s.protected ? "yes" : "no";
  $("restart-required").hidden = !s.restart_required;
  updateButtons();
}

const isUp = () => ["running", "unhealthy"].includes(status?.state);

/** Uptime and restart count follow every metrics sample (the count goes up just after the
 * "running" state event of an automatic restart). */
export function renderSample(m) {
  if (!status) return;
  $("server-uptime").textContent = isUp() ? duration(m.uptime, "0s") : "—";
  $("server-restarts").textContent = m.restarts;
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

export async function loadHistory() {
  const { restarts } = await api("/api/server/restarts?limit=20");
  $("history").replaceChildren(...restarts.map((r) => {
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
