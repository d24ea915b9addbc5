// The chat side of a page's live connection (nexus/ui/chat_stream.py), on the one
// reconnecting client (../live.js): one connection per tab carrying every session the page
// follows. At every (re)connect each followed session is asked for from the last sequence
// number the store holds, so the server sends exactly what was missed. Over WebSocket the
// page follows and unfollows with messages; over SSE the sessions are named in the URL
// and a change reconnects.

import { LiveConnection } from "../live.js";

const PATH = "/api/chat/stream";

export class ChatConnection {
  constructor(store, { onState = () => {}, onMissing = () => {}, onSessions = () => {}, transport = null } = {}) {
    this.store = store;
    this.onMissing = onMissing;
    this.onSessions = onSessions;
    this.followed = new Set();
    this.epoch = null;
    this._sseRefresh = null;
    store.onGap = (id) => this._resync(id);
    this.live = new LiveConnection(PATH, {
      transport,
      query: (kind) => (kind === "sse" ? this._sseQuery() : ""),
      onState: (state, kind) => {
        if (state !== "live") this.epoch = null;
        onState(state, kind);
      },
      onMessage: (msg) => this._handle(msg),
    });
  }

  get transport() { return this.live.transport; }
  get state() { return this.live.state; }
  get connects() { return this.live.connects; }

  follow(id) {
    if (this.followed.has(id)) return;
    this.followed.add(id);
    if (this.live.ws && this.epoch) this._sendFollow(id);
    else if (this.live.es) this._refreshSse();
  }

  unfollow(id) {
    if (!this.followed.delete(id)) return;
    if (!this.live.send({ op: "unfollow", session: id }) && this.live.es) this._refreshSse();
  }

  close() { this.live.close(); }

  _sendFollow(id) {
    const { epoch, seq } = this.store.get(id).position;
    this.live.send({ op: "follow", session: id, after: seq, epoch: epoch || undefined });
  }

  _resync(id) {
    // A gap: ask again from the last number held (the server replays from there).
    if (this.live.ws?.readyState === WebSocket.OPEN) this._sendFollow(id);
    else if (this.live.es) this._refreshSse();
  }

  _handle(msg) {
    if (msg.type === "sessions.changed") {
      this.onSessions(msg.data);
      return;
    }
    if (msg.type === "hello") {
      this.epoch = msg.epoch;
      if (this.live.ws) for (const id of this.followed) this._sendFollow(id);
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

  _sseQuery() {
    const follow = [...this.followed].map((id) => {
      const { epoch, seq } = this.store.get(id).position;
      return `${id}:${epoch || ""}:${seq ?? ""}`;
    }).join(",");
    return `follow=${encodeURIComponent(follow)}`;
  }

  // SSE names its sessions in the URL: reconnect (with the positions held) to change them.
  _refreshSse() {
    clearTimeout(this._sseRefresh);
    this._sseRefresh = setTimeout(() => { if (this.live.es) this.live.restart({ now: true }); }, 30);
  }
}
