// The security page's switch for terminals through the tunnel (`terminal.remote_enabled`).
import { api } from "../api.js";

const box = document.getElementById("terminal-remote");
const reason = document.getElementById("terminal-remote-reason");

async function load() {
  const { values } = await api("/api/settings");
  box.checked = Boolean(values["terminal.remote_enabled"]);
}

box?.addEventListener("change", async () => {
  reason.textContent = "";
  reason.dataset.kind = "";
  try {
    await api("/api/settings", { method: "PATCH", body: { "terminal.remote_enabled": box.checked } });
    reason.textContent = box.checked ? "Remote devices can now open terminals." : "Terminals are off for remote devices.";
  } catch (err) {
    box.checked = !box.checked;
    reason.textContent = err.message;
    reason.dataset.kind = "error";
  }
});

if (box) load().catch((err) => { reason.textContent = err.message; reason.dataset.kind = "error"; });
