// What both chat pages share: one store, one connection, the live indicator in the top bar.
import { ChatConnection } from "./connection.js";
import { ChatStore } from "./store.js";

const WORDS = { live: "Live", connecting: "Connecting…", offline: "Offline — reconnecting" };

export function startChat({ onMissing, onSessions } = {}) {
  const store = new ChatStore();
  const conn = document.getElementById("conn");
  const params = new URLSearchParams(location.search);
  const connection = new ChatConnection(store, {
    transport: params.get("transport") === "sse" ? "sse" : null,
    onMissing,
    onSessions,
    onState: (state, transport) => {
      if (!conn) return;
      conn.dataset.state = state;
      conn.dataset.transport = transport || "";
      conn.textContent = WORDS[state] || state;
    },
  });
  // For tests and the curious: the live state of this tab (no secrets in here).
  window.nexusChat = { store, connection };
  return { store, connection };
}
