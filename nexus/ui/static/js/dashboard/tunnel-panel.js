// The tunnel panel: state, the public address with a copy button and its QR code, start/stop.
import { api } from "../api.js";

const $ = (id) => document.getElementById(id);
const BADGE = { connected: "running", error: "crashed", starting: "starting" };

export function renderTunnel(t) {
  $("tunnel-state").textContent = t.state;
  $("tunnel-state").dataset.state = BADGE[t.state] || "off";
  $("tunnel-reason").textContent = t.reason || "";
  $("tunnel-reason").dataset.kind = t.state === "error" ? "error" : "info";
  // Which cloudflared runs (or last ran): its own version, so a too-old one is easy to spot.
  $("tunnel-binary").hidden = !t.binary;
  $("tunnel-binary").textContent = t.binary ? `cloudflared ${t.version || "(version unknown)"} · ${t.binary}` : "";
  const connected = t.state === "connected" && t.url;
  $("tunnel-url-row").hidden = !connected;
  $("tunnel-qr").hidden = !connected;
  if (connected) {
    $("tunnel-url").href = t.url;
    $("tunnel-url").textContent = t.url;
    const qr = `/api/tunnel/qr.svg?u=${encodeURIComponent(t.url)}`;
    if ($("tunnel-qr-img").getAttribute("src") !== qr) $("tunnel-qr-img").src = qr;
  }
  $("tunnel-empty").hidden = !(t.mode === "off" && t.state === "off");
  $("tunnel-start").disabled = t.mode === "off" || t.state === "starting" || t.state === "connected";
  $("tunnel-stop").disabled = t.state === "off";
}

async function act(action) {
  $("tunnel-reason").textContent = `${action === "start" ? "Starting" : "Stopping"} the tunnel…`;
  $("tunnel-reason").dataset.kind = "info";
  try {
    renderTunnel(await api(`/api/tunnel/${action}`, { method: "POST" }));
  } catch (e) {
    if (e.details?.tunnel) renderTunnel(e.details.tunnel);
    $("tunnel-reason").textContent = e.message;
    $("tunnel-reason").dataset.kind = "error";
  }
}

async function copy() {
  const url = $("tunnel-url").textContent;
  try {
    await navigator.clipboard.writeText(url);
    $("tunnel-copied").textContent = "Copied";
  } catch {
    // No clipboard access (plain http on another host, or refused): select it for Ctrl+C instead.
    getSelection().selectAllChildren($("tunnel-url"));
    $("tunnel-copied").textContent = "Press Ctrl+C to copy";
  }
  setTimeout(() => { $("tunnel-copied").textContent = ""; }, 3000);
}

$("tunnel-start").addEventListener("click", () => act("start"));
$("tunnel-stop").addEventListener("click", () => act("stop"));
$("tunnel-copy").addEventListener("click", copy);
