// Notices a long reply that finished while this tab was in the background: the session went
// busy, stayed busy (or retrying, or waiting for a permission) for at least `minSeconds`, and
// went idle while document.hidden.
const WORKING = new Set(["busy", "retry", "waiting"]);

export function watchLongReplies({ minSeconds, onFinished }) {
  const startedAt = new Map();
  return function onSessionEvent(data) {
    const id = data.session_id;
    if (!id || !data.status) return;
    if (WORKING.has(data.status)) {
      if (!startedAt.has(id)) startedAt.set(id, performance.now());
      return;
    }
    const started = startedAt.get(id);
    startedAt.delete(id);
    if (started === undefined || !document.hidden) return;
    const seconds = (performance.now() - started) / 1000;
    if (seconds >= minSeconds()) onFinished(id, seconds);
  };
}
