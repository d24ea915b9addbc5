// The dashboard: the OpenCode server (status, controls, live charts, restart history), the
// tunnel, and the notifications list, all kept current by the live stream.
import { api } from "../api.js";
import { bytes } from "../format.js";
import { connectLive } from "../live.js";
import { createCharts } from "./charts.js";
import { loadNotifications } from "./notification-list.js";
import { loadHistory, renderSample, renderStatus } from "./server-panel.js";
import { renderTunnel } from "./tunnel-panel.js";

const $ = (id) => document.getElementById(id);
const charts = createCharts();

function renderMetrics(m) {
  $("m-cpu").textContent = `${m.cpu_percent.toFixed(1)} %`;
  $("m-rss").textContent = bytes(m.rss_bytes);
  $("m-threads").textContent = m.threads;
  $("m-req").textContent = m.requests;
  $("m-err").textContent = m.errors_total;
  $("metrics-age").textContent = `updated ${new Date(m.at * 1000).toLocaleTimeString()}`;
  renderSample(m);
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
      charts.push(msg.data.metrics);  // the recent past from memory: no empty chart on load
      const last = msg.data.metrics.at(-1);
      if (last) renderMetrics(last);
      if (msg.data.tunnel) renderTunnel(msg.data.tunnel);
    } else if (msg.type === "server.state") {
      renderStatus(msg.data.status);
      loadHistory().catch(() => {});
    } else if (msg.type === "server.metrics") {
      renderMetrics(msg.data);
      charts.push([msg.data]);
    } else if (msg.type === "tunnel.state") {
      renderTunnel(msg.data);
    }
  },
});

loadHistory().catch(() => {});
loadNotifications().catch(() => {});
api("/api/tunnel").then(renderTunnel).catch(() => {});
