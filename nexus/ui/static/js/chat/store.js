// The browser's copy of each followed session, built from the normalized chat events
// (nexus/chat/events.py) exactly as nexus/chat/transcript.py builds the server's: a snapshot
// replaces everything; part.update and tool.* replace a part; deltas append to one.
//
// Each session remembers the epoch (run of Nexus) and the last sequence number it applied.
// An event at or below that number is a duplicate and is ignored; one that skips a number
// is a gap: it is not applied, and the connection asks again from the last number held.

const EMPTY_TOKENS = () => ({ input: 0, output: 0, reasoning: 0, cache_read: 0, cache_write: 0 });

function blankMessage(id) {
  return { id, role: "assistant", created_at: null, completed_at: null, agent: null, model: null, finish: null,
    error: null, tokens: EMPTY_TOKENS(), cost: 0, parts: [] };
}

export class SessionState {
  constructor(id) {
    this.id = id;
    this.session = { id };
    this.messages = [];            // oldest first
    this.byId = new Map();         // message id -> message
    this.parts = new Map();        // part id -> part (the same object as in its message)
    this.status = { status: "idle" };
    this.permissions = new Map();  // id -> permission
    this.questions = new Map();    // id -> question the agent asked
    this.queue = [];               // messages waiting to be sent, oldest first
    this.hasMore = false;          // older messages exist on the server
    this.errors = [];              // error events since the page opened (not part of snapshots)
    this.epoch = null;
    this.seq = 0;
    this.loaded = false;           // a snapshot arrived
    this.missing = false;          // the server does not know this session
  }

  get position() { return { epoch: this.epoch, seq: this.loaded ? this.seq : null }; }

  addMessage(message, { prepend = false } = {}) {
    const m = { ...blankMessage(message.id), ...message };
    m.parts = [...(message.parts || [])];
    for (const part of m.parts) this.parts.set(part.id, part);
    this.byId.set(m.id, m);
    if (prepend) this.messages.unshift(m); else this.messages.push(m);
    return m;
  }

  message(id) {
    return this.byId.get(id) || this.addMessage({ id, role: "assistant", created_at: Date.now() / 1000 });
  }

  reset(data) {
    this.session = { ...data.session };
    this.messages = [];
    this.byId.clear();
    this.parts.clear();
    for (const m of data.messages || []) this.addMessage(m);
    this.permissions = new Map((data.permissions || []).map((p) => [p.id, p]));
    this.questions = new Map((data.questions || []).map((q) => [q.id, q]));
    this.queue = [...(data.queue || [])];
    this.status = { ...(data.status || { status: this.session.status || "idle" }) };
    this.hasMore = !!data.has_more;
    this.loaded = true;
  }

  setPart(messageId, part) {
    const message = this.message(messageId);
    const current = this.parts.get(part.id);
    if (!current) {
      part = { ...part };
      message.parts.push(part);
    } else {
      for (const key of Object.keys(current)) delete current[key];
      Object.assign(current, part);
      part = current;
    }
    part.message_id = messageId;
    this.parts.set(part.id, part);
    return part;
  }

  recomputeTotals() {
    if (this.hasMore) return;  // older messages are not here: keep the server's totals
    const tokens = EMPTY_TOKENS();
    let cost = 0;
    for (const m of this.messages) {
      for (const key of Object.keys(tokens)) tokens[key] += Number((m.tokens || {})[key] || 0);
      cost += Number(m.cost || 0);
    }
    this.session.tokens = tokens;
    this.session.cost = Math.round(cost * 1e6) / 1e6;
  }
}

export class ChatStore {
  constructor() {
    this.sessions = new Map();
    this.listeners = new Map();   // session id -> Set of fn(change)
    this.stats = { applied: 0, duplicates: 0, gaps: 0, snapshots: 0 };
    this.onGap = null;            // set by the connection: fn(sessionId)
  }

  get(id) {
    let s = this.sessions.get(id);
    if (!s) { s = new SessionState(id); this.sessions.set(id, s); }
    return s;
  }

  subscribe(id, fn) {
    if (!this.listeners.has(id)) this.listeners.set(id, new Set());
    this.listeners.get(id).add(fn);
    return () => this.listeners.get(id)?.delete(fn);
  }

  notify(id, change) {
    for (const fn of this.listeners.get(id) || []) {
      try { fn(change); } catch (err) { console.error(err); }
    }
  }

  // Session fields known from the REST list before the stream's snapshot arrives.
  seed(session) {
    const s = this.get(session.id);
    if (!s.loaded) {
      s.session = { ...s.session, ...session };
      s.status = { status: session.status || "idle" };
    }
    return s;
  }

  forget(id) {
    this.sessions.delete(id);
  }

  // Apply one event received on a connection whose hello carried `epoch`. True if applied.
  receive(event, epoch) {
    const s = this.get(event.session);
    if (event.type === "snapshot") {
      s.reset(event.data);
      s.epoch = epoch;
      s.seq = event.seq;
      s.missing = false;
      this.stats.snapshots += 1;
      this.notify(s.id, { kind: "reset" });
      return true;
    }
    if (!s.loaded || s.epoch !== epoch) return false;  // a snapshot comes first in that case
    if (event.seq <= s.seq) { this.stats.duplicates += 1; return false; }
    // A merged delta (nexus/chat/frames.py) covers from_seq..seq: it must start right after.
    if ((event.from_seq ?? event.seq) !== s.seq + 1) {
      this.stats.gaps += 1;
      this.onGap?.(s.id);
      return false;
    }
    s.seq = event.seq;
    this.stats.applied += 1;
    const change = apply(s, event.type, event.data || {});
    if (change) this.notify(s.id, change);
    return true;
  }

  // Older messages fetched over REST (GET /api/sessions/<id>/messages?before=...).
  prepend(id, messages, hasMore) {
    const s = this.get(id);
    const fresh = messages.filter((m) => !s.byId.has(m.id));
    for (let i = fresh.length - 1; i >= 0; i--) s.addMessage(fresh[i], { prepend: true });
    s.hasMore = hasMore;
    this.notify(id, { kind: "prepend", count: fresh.length });
  }
}

function apply(s, type, data) {
  switch (type) {
    case "session.updated":
      Object.assign(s.session, data.session);
      return { kind: "session", revert: "revert" in (data.session || {}) };
    case "todo.updated":
      s.session.todos = [...(data.todos || [])];
      return { kind: "todos" };
    case "message.removed": {
      const m = s.byId.get(data.message_id);
      if (!m) return null;
      for (const part of m.parts) s.parts.delete(part.id);
      s.byId.delete(m.id);
      s.messages.splice(s.messages.indexOf(m), 1);
      s.recomputeTotals();
      return { kind: "removed", id: m.id };
    }
    case "session.status":
      s.status = { ...data };
      s.session.status = data.status;
      return { kind: "status" };
    case "message.start": {
      const incoming = data.message;
      const existing = s.byId.get(incoming.id);
      if (!existing) s.addMessage({ ...incoming, parts: [] });
      else for (const [k, v] of Object.entries(incoming)) if (k !== "parts") existing[k] = v;
      return { kind: "message", id: incoming.id };
    }
    case "part.update": case "tool.start": case "tool.update": case "tool.end": {
      const part = s.setPart(data.message_id, data.part);
      return { kind: "part", id: data.message_id, part: part.id };
    }
    case "text.delta": case "reasoning.delta": {
      let part = s.parts.get(data.part_id);
      if (!part) {
        part = s.setPart(data.message_id,
          { id: data.part_id, kind: type === "text.delta" ? "text" : "reasoning", text: "" });
      }
      part.text = (part.text || "") + data.delta;
      return { kind: "part", id: data.message_id, part: part.id, delta: true };
    }
    case "usage": {
      const m = s.message(data.message_id);
      m.tokens = { ...data.tokens };
      m.cost = data.cost;
      s.recomputeTotals();
      return { kind: "usage", id: m.id };
    }
    case "message.end": {
      const m = s.message(data.message_id);
      m.finish = data.finish ?? null;
      m.error = data.error ?? null;
      m.completed_at = data.completed_at || Date.now() / 1000;
      return { kind: "message", id: m.id, ended: true };
    }
    case "permission.asked":
      s.permissions.set(data.permission.id, data.permission);
      return { kind: "permissions" };
    case "permission.answered":
      s.permissions.delete(data.permission_id);
      return { kind: "permissions" };
    case "question.asked":
      s.questions.set(data.question.id, data.question);
      return { kind: "questions" };
    case "question.answered":
      s.questions.delete(data.question_id);
      return { kind: "questions" };
    case "queue.updated":
      s.queue = [...data.queue];
      return { kind: "queue" };
    case "error":
      s.errors.push({ ...data, at: Date.now() / 1000 });
      return { kind: "error", error: data };
    default:
      return null;
  }
}
