// What the composer offers, fetched once per page: models (grouped by provider, with their
// context size) and agents per engine, and the slash commands of each session.
import { api } from "../../api.js";

const cache = new Map();

function once(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch((err) => { cache.delete(key); throw err; }));
  return cache.get(key);
}

export function modelsOf(engine) {
  return once(`models:${engine}`, async () => (engine === "anthropic"
    ? (await api("/api/anthropic/models")).models
    : (await api("/api/models")).models));
}

export function agentsOf(engine) {
  return once(`agents:${engine}`, async () => (engine === "anthropic" ? [] : (await api("/api/agents")).agents));
}

export function commandsOf(sessionId) {
  return once(`commands:${sessionId}`, async () =>
    (await api(`/api/sessions/${encodeURIComponent(sessionId)}/commands`)).commands);
}

// {files, agents}: project files matching `query` and the sub-agents a message can call on.
export function mentionsMatching(sessionId, query) {
  return api(`/api/sessions/${encodeURIComponent(sessionId)}/mentions?q=${encodeURIComponent(query)}`);
}
