// One live connection to Nexus: WebSocket first, Server-Sent Events when WebSockets fail
// (some proxies block them). Reconnects with a short backoff and reports its state.
// `query` (without "?") goes to both transports, e.g. a stream's filters.

export function connectLive(path, { onMessage, onState, query = "" }) {
  // The path may carry its own query ("/api/stream?topics=..."); both transports get it and `query`.
  const [base, inline] = path.split("?");
  const both = [inline, query].filter(Boolean).join("&");
  const qs = both ? `?${both}` : "";
  let ws = null;
  let es = null;
  let delay = 250;
  let wsFailures = 0;
  let stopped = false;

  const schedule = () => {
    if (stopped) return;
    onState("offline");
    setTimeout(open, delay);
    delay = Math.min(delay * 2, 5000);
  };

  const useSse = () => {
    es = new EventSource(`${base}/sse${qs}`);
    es.onopen = () => { delay = 250; onState("live"); };
    es.onmessage = (e) => onMessage(JSON.parse(e.data));
    es.onerror = () => { es.close(); es = null; schedule(); };
  };

  const useWs = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}${base}${qs}`);
    let opened = false;
    let done = false;
    // A blocked or unanswered upgrade may fire "error" without "close", or nothing at all.
    const timer = setTimeout(() => { if (!opened) fail(); }, 5000);
    function fail() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const dead = ws;
      ws = null;
      dead?.close();
      if (!opened) wsFailures += 1;
      schedule();
    }
    ws.onopen = () => { opened = true; clearTimeout(timer); wsFailures = 0; delay = 250; onState("live"); };
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onerror = () => { if (!opened) fail(); };
    ws.onclose = fail;
  };

  function open() {
    if (stopped) return;
    onState("connecting");
    if (wsFailures >= 2 || !("WebSocket" in window)) useSse();
    else useWs();
  }

  open();
  return {
    close() { stopped = true; ws?.close(); es?.close(); },
    get transport() { return es ? "sse" : "ws"; },
  };
}
