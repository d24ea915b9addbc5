// The one reconnecting live connection of every page (server side: nexus/ui/live.py).
// WebSocket first; Server-Sent Events when WebSockets fail to open twice in a row (some
// proxies block them). Both carry the same JSON messages and the same visible heartbeat
// (`{"type": "ping"}` after 15 s of quiet), so one rule finds a dead connection on both:
// no message for SILENCE_LIMIT means half-open (a laptop lid, a network switch), reconnect.
// Reconnects back off from 250 ms to 5 s; a connection refused for policy (code 1008, e.g.
// too many connections from this address) waits REFUSED_DELAY and says why.
//
// `path` is the WebSocket URL path; SSE lives at `${path}/sse`. `query(transport)` is read at
// every (re)connect, so a page can put its current position in the URL (chat's SSE `follow`).
// `onOpen(conn)` runs at each `hello`, where a page (re)asks for what it follows.

const SILENCE_LIMIT = 40_000;
const CONNECT_TIMEOUT = 5_000;
const REFUSED_DELAY = 30_000;

export class LiveConnection {
  constructor(path, { onMessage, onState = () => {}, onOpen = () => {}, query = () => "", transport = null }) {
    const [base, inline] = path.split("?");
    this.base = base;
    this.inline = inline || "";
    this.query = query;
    this.onMessage = onMessage;
    this.onState = onState;
    this.onOpen = onOpen;
    this.forced = transport;       // "sse" forces the fallback (tests, ?transport=sse)
    this.state = "connecting";
    this.ws = null;
    this.es = null;
    this.wsFailures = 0;
    this.delay = 250;
    this.timer = null;
    this.stopped = false;
    this.connects = 0;
    this.lastMessageAt = Date.now();
    addEventListener("online", () => this._soon());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._soon();
    });
    this._watchdog = setInterval(() => {
      if (this.state === "live" && Date.now() - this.lastMessageAt > SILENCE_LIMIT) this.restart();
    }, 5000);
    this._open();
  }

  get transport() { return this.es ? "sse" : this.ws ? "ws" : null; }

  // True if sent: only a WebSocket carries messages from the page.
  send(message) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  // Drop the connection and open a new one: after a backoff (a dead connection), or at
  // once (`{ now: true }`: SSE changing what its URL asks for).
  restart({ now = false } = {}) {
    const ws = this.ws, es = this.es;
    this.ws = null;
    this.es = null;
    ws?.close();
    es?.close();
    if (now) this._open();
    else this._schedule();
  }

  close() {
    this.stopped = true;
    clearInterval(this._watchdog);
    clearTimeout(this.timer);
    this.ws?.close();
    this.es?.close();
  }

  _url(transport) {
    const qs = [this.inline, this.query(transport)].filter(Boolean).join("&");
    return qs ? `?${qs}` : "";
  }

  _setState(state) {
    this.state = state;
    this.onState(state, this.transport);
  }

  _soon() {
    if (this.stopped || this.state === "live" || this.state === "connecting") return;
    clearTimeout(this.timer);
    this.delay = 250;
    this._open();
  }

  _schedule(delay = this.delay) {
    if (this.stopped) return;
    this._setState("offline");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._open(), delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  _open() {
    if (this.stopped) return;
    this.connects += 1;
    this._setState("connecting");
    if (this.forced === "sse" || this.wsFailures >= 2 || !("WebSocket" in window)) this._openSse();
    else this._openWs();
  }

  _receive(msg) {
    this.lastMessageAt = Date.now();
    if (msg.type === "ping") return;
    if (msg.type === "hello") {
      this.delay = 250;
      this._setState("live");
      this.onOpen(this);
    }
    this.onMessage(msg);
  }

  _openWs() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.base}${this._url("ws")}`);
    this.ws = ws;
    let opened = false;
    // A blocked or unanswered upgrade may fire "error" without "close", or nothing at all.
    const timer = setTimeout(() => { if (!opened) fail(); }, CONNECT_TIMEOUT);
    const fail = (event) => {
      clearTimeout(timer);
      if (this.ws !== ws) return;
      this.ws = null;
      ws.close();
      if (!opened) this.wsFailures += 1;
      if (event?.code === 1008) {
        console.warn("live connection refused:", event.reason);
        this._schedule(REFUSED_DELAY);
      } else {
        this._schedule();
      }
    };
    ws.onopen = () => { opened = true; clearTimeout(timer); this.wsFailures = 0; this.lastMessageAt = Date.now(); };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      const data = JSON.parse(e.data);  // one message, or an array of what queued up
      if (Array.isArray(data)) for (const msg of data) this._receive(msg);
      else this._receive(data);
    };
    ws.onerror = () => { if (!opened) fail(); };
    ws.onclose = fail;
  }

  _openSse() {
    const es = new EventSource(`${this.base}/sse${this._url("sse")}`);
    this.es = es;
    es.onmessage = (e) => { if (this.es === es) this._receive(JSON.parse(e.data)); };
    es.onerror = () => {
      if (this.es !== es) return;
      es.close();
      this.es = null;
      this._schedule();
    };
  }
}

// The simple form most pages use: messages in, state out.
export function connectLive(path, { onMessage, onState = () => {}, query = "" }) {
  return new LiveConnection(path, { onMessage, onState, query: () => query });
}
