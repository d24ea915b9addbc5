// One live chat connection per tab (nexus/ui/chat_stream.py): a WebSocket carrying every
// session the page follows, or Server-Sent Events when WebSockets fail twice in a row.
// On every (re)connect each followed session is asked for from the last sequence number the
// store holds, so the server sends exactly what was missed. Backoff: 250 ms doubling to 5 s.

const WS_PATH = "/api/chat/stream";
const SSE_PATH = "/api/chat/stream/sse";
const SILENCE_LIMIT = 40_000;
const CONNECT_TIMEOUT = 5_000;

export class ChatConnection {
  constructor(store, { onState = () => {}, onMissing = () => {}, onSessions = () => {}, transport = null } = {}) {
    this.store = store;
    this.onState = onState;
    this.onMissing = onMissing;
    this.onSessions = onSessions;
    this.lastMessageAt = Date.now();
    this.followed = new Set();
    this.epoch = null;
    this.state = "connecting";
    this.forced = transport;       // "sse" forces the fallback (tests, ?transport=sse)
    this.wsFailures = 0;
    this.delay = 250;
    this.ws = null;
    this.es = null;
    this.timer = null;
    this.stopped = false;
    this.connects = 0;
    this._sseRefresh = null;
    store.onGap = (id) => this._resync(id);
    addEventListener("online", () => this._soon());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._soon();
    });
    // The server speaks at least every 15 s; silence for much longer means a half-open
    // connection (a laptop lid, a network switch) that no event will ever report.
    this._watchdog = setInterval(() => {
      if (this.state === "live" && Date.now() - this.lastMessageAt > SILENCE_LIMIT) this._restart();
    }, 5000);
    this._open();
  }

  get transport() { return this.es ? "sse" : this.ws ? "ws" : null; }

  follow(id) {
    if (this.followed.has(id)) return;
    this.followed.add(id);
    if (this.ws && this.epoch) this._sendFollow(id);
    else if (this.es) this._refreshSse();
  }

  unfollow(id) {
    if (!this.followed.delete(id)) return;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: "unfollow", session: id }));
    else if (this.es) this._refreshSse();
  }

  close() {
    this.stopped = true;
    clearInterval(this._watchdog);
    clearTimeout(this.timer);
    this.ws?.close();
    this.es?.close();
  }

  _setState(state) {
    this.state = state;
    this.onState(state, this.transport);
  }

  _sendFollow(id) {
    const { epoch, seq } = this.store.get(id).position;
    const op = { op: "follow", session: id, after: seq, epoch: epoch || undefined };
    this.ws.send(JSON.stringify(op));
  }

  _resync(id) {
    // A gap: ask again from the last number held (the server replays from there).
    if (this.ws?.readyState === WebSocket.OPEN) this._sendFollow(id);
    else if (this.es) this._refreshSse();
  }

  _soon() {
    if (this.stopped || this.state === "live" || this.state === "connecting") return;
    clearTimeout(this.timer);
    this.delay = 250;
    this._open();
  }

  _schedule() {
    if (this.stopped) return;
    this._setState("offline");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._open(), this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  _open() {
    if (this.stopped) return;
    this.connects += 1;
    this.epoch = null;
    this._setState("connecting");
    if (this.forced === "sse" || this.wsFailures >= 2 || !("WebSocket" in window)) this._openSse();
    else this._openWs();
  }

  _restart() {
    const ws = this.ws, es = this.es;
    this.ws = null;
    this.es = null;
    ws?.close();
    es?.close();
    this._schedule();
  }

  _handle(msg) {
    this.lastMessageAt = Date.now();
    if (msg.type === "ping") return;
    if (msg.type === "sessions.changed") {
      this.onSessions(msg.data);
      return;
    }
    if (msg.type === "hello") {
      this.epoch = msg.epoch;
      this.delay = 250;
      this._setState("live");
      if (this.ws) for (const id of this.followed) this._sendFollow(id);
      return;
    }
    if (msg.type === "error" && msg.seq === undefined) {
      const id = msg.data?.code === "not_found" ? msg.session : null;
      if (id) {
        this.store.get(id).missing = true;
        this.followed.delete(id);
        this.onMissing(id);
      } else {
        console.warn("chat stream:", msg.data?.message);
      }
      return;
    }
    if (msg.session && this.epoch) this.store.receive(msg, this.epoch);
  }

  _openWs() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${WS_PATH}`);
    this.ws = ws;
    let opened = false;
    // A blocked or unanswered upgrade may fire "error" without "close", or nothing at all.
    const timer = setTimeout(() => { if (!opened) fail(); }, CONNECT_TIMEOUT);
    const fail = () => {
      clearTimeout(timer);
      if (this.ws !== ws) return;
      this.ws = null;
      ws.close();
      if (!opened) this.wsFailures += 1;
      this._schedule();
    };
    ws.onopen = () => { opened = true; clearTimeout(timer); this.wsFailures = 0; this.lastMessageAt = Date.now(); };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      const data = JSON.parse(e.data);  // one message, or an array of what queued up
      if (Array.isArray(data)) for (const msg of data) this._handle(msg);
      else this._handle(data);
    };
    ws.onerror = () => { if (!opened) fail(); };
    ws.onclose = fail;
  }

  _sseUrl() {
    const follow = [...this.followed].map((id) => {
      const { epoch, seq } = this.store.get(id).position;
      return `${id}:${epoch || ""}:${seq ?? ""}`;
    }).join(",");
    return `${SSE_PATH}?follow=${encodeURIComponent(follow)}`;
  }

  _openSse() {
    const es = new EventSource(this._sseUrl());
    this.es = es;
    es.onmessage = (e) => { if (this.es === es) this._handle(JSON.parse(e.data)); };
    es.onerror = () => {
      if (this.es !== es) return;
      es.close();
      this.es = null;
      this._schedule();
    };
  }

  // SSE names its sessions in the URL: reconnect (with the positions held) to change them.
  _refreshSse() {
    clearTimeout(this._sseRefresh);
    this._sseRefresh = setTimeout(() => {
      if (!this.es) return;
      this.es.close();
      this.es = null;
      this._open();
    }, 30);
  }
}
