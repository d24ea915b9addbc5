// The security page: tunnel (state, start/stop, QR), password change, sign out everywhere,
// API keys (shown once), and the audit log. Tunnel state follows the live stream's events
// when present and is polled otherwise.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "never");

function showTunnel(t) {
  $("tunnel-state").textContent = t.state;
  $("tunnel-state").dataset.state = { connected: "running", error: "crashed", starting: "starting" }[t.state] || "off";
  $("tunnel-reason").textContent = t.reason || "";
  $("tunnel-mode").textContent = t.mode;
  $("tunnel-url").replaceChildren();
  if (t.url) {
    const a = document.createElement("a");
    a.href = t.url; a.textContent = t.url; a.rel = "noreferrer"; a.target = "_blank";
    $("tunnel-url").append(a);
  } else {
    $("tunnel-url").textContent = "—";
  }
  $("tunnel-restarts").textContent = String(t.restarts);
  if (t.secrets) $("tunnel-store").textContent = t.secrets.kind === "keyring" ? "OS keyring" : "file store";
  const connected = t.state === "connected" && t.url;
  $("tunnel-qr").hidden = !connected;
  if (connected) $("tunnel-qr-img").src = `/api/tunnel/qr.svg?u=${encodeURIComponent(t.url)}`;
  $("tunnel-empty").hidden = !(t.mode === "off" && t.state === "off");
  $("tunnel-start").disabled = t.mode === "off" || t.state === "starting" || t.state === "connected";
  $("tunnel-stop").disabled = t.state === "off";
}

async function refreshTunnel() {
  showTunnel(await api("/api/tunnel"));
}

async function tunnelAction(action) {
  $("tunnel-reason").textContent = "";
  try {
    showTunnel(await api(`/api/tunnel/${action}`, { method: "POST" }));
  } catch (e) {
    if (e.details?.tunnel) showTunnel(e.details.tunnel);
    $("tunnel-reason").textContent = e.message;
  }
}

async function refreshKeys() {
  const { keys } = await api("/api/auth/keys");
  $("keys-table").hidden = keys.length === 0;
  $("keys-empty").hidden = keys.length > 0;
  $("keys").replaceChildren(...keys.map((k) => {
    const tr = document.createElement("tr");
    tr.dataset.revoked = String(Boolean(k.revoked_at));
    const where = k.last_used_at && k.last_used_via ? ` (${[k.last_used_via, k.last_used_ip].filter(Boolean).join(" ")})` : "";
    const scopes = `${(k.scopes || ["read"]).join(", ")}${k.remote ? "; remote" : "; this computer only"}`;
    const cells = [k.name, null, scopes, when(k.created_at),
      k.revoked_at ? `revoked ${when(k.revoked_at)}` : when(k.last_used_at) + where];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 1) { const c = document.createElement("code"); c.textContent = `${k.prefix}…`; td.append(c); } else td.textContent = text;
      tr.append(td);
    });
    const td = document.createElement("td");
    if (!k.revoked_at) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "btn danger"; b.textContent = "Revoke";
      b.setAttribute("aria-label", `Revoke ${k.name}`);
      b.addEventListener("click", async () => {
        if (!confirm(`Revoke the key “${k.name}”? Scripts using it stop working at once.`)) return;
        await api(`/api/auth/keys/${k.id}`, { method: "DELETE" });
        refreshKeys(); refreshAudit();
      });
      td.append(b);
    }
    tr.append(td);
    return tr;
  }));
}

async function refreshAudit() {
  const { events } = await api("/api/audit?limit=50");
  $("audit-empty").hidden = events.length > 0;
  $("audit").replaceChildren(...events.map((e) => {
    const li = document.createElement("li");
    const at = document.createElement("span"); at.className = "when"; at.textContent = when(e.at);
    const what = document.createElement("span"); what.className = "what";
    what.textContent = e.event + (e.detail ? ` — ${e.detail}` : "");
    const where = document.createElement("span"); where.className = "muted";
    where.textContent = [e.via, e.ip].filter(Boolean).join(" ");
    li.append(at, what, where);
    return li;
  }));
}

$("tunnel-start").addEventListener("click", () => tunnelAction("start"));
$("tunnel-stop").addEventListener("click", () => tunnelAction("stop"));
$("logout-all").addEventListener("click", async () => {
  if (!confirm("Sign out every device, this browser included?")) return;
  await api("/api/auth/logout-all", { method: "POST" });
  location.assign("/login");
});
$("form-new-key").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("key-name-error").textContent = "";
  try {
    const scopes = [...document.querySelectorAll('#form-new-key input[name="scope"]:checked')].map((b) => b.value);
    const created = await api("/api/auth/keys", { method: "POST",
      body: { name: $("key-name").value, scopes, remote: $("key-remote").checked } });
    $("new-key-value").textContent = created.key;
    $("new-key").hidden = false;
    e.target.reset();
    refreshKeys(); refreshAudit();
  } catch (err) {
    $("key-name-error").textContent = err.message;
  }
});
$("copy-key").addEventListener("click", () => navigator.clipboard?.writeText($("new-key-value").textContent));
$("form-change-password").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("cp-current-error").textContent = ""; $("cp-new-error").textContent = ""; $("cp-status").textContent = "";
  try {
    const r = await api("/api/auth/password", { method: "POST",
      body: { current_password: $("cp-current").value, new_password: $("cp-new").value } });
    $("cp-status").textContent = `Password changed; ${r.other_sessions_ended} other sessions signed out.`;
    e.target.reset();
  } catch (err) {
    $(err.code === "wrong_password" ? "cp-current-error" : "cp-new-error").textContent = err.message;
  }
});

refreshTunnel(); refreshKeys(); refreshAudit();
setInterval(refreshTunnel, 3000);
