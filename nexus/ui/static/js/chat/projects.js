// Projects as the chat pages see them: the list from /api/projects (loaded once per page and
// refreshed on demand) and a short label for a session's project, branch and server.
import { api } from "../api.js";

let loading = null;
let byKey = new Map();  // "server\npath" -> project

export function loadProjects({ fresh = false } = {}) {
  if (!loading || fresh) {
    loading = api("/api/projects").then((d) => {
      byKey = new Map(d.projects.map((p) => [`${p.server}\n${p.path}`, p]));
      return d.projects;
    }).catch(() => []);
  }
  return loading;
}

export function baseName(path) {
  const parts = String(path || "").split("/").filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path || "";
}

// {name, branch, server} for a session, from what is known so far.
export function projectOf(session) {
  if (!session.directory) return null;
  const known = byKey.get(`${session.server || "local"}\n${session.directory}`);
  return { name: known?.name || baseName(session.directory), branch: known?.branch || null,
    path: session.directory, server: session.server || "local",
    serverName: session.server_name || known?.server_name };  // a snapshot carries no server name
}

// A card of a project this page has not seen yet (just created, or adopted from another
// OpenCode client) asks for the list again, once for a burst of them, then redraws.
let pending = null;
export function learnProject(session, redraw) {
  if (!session.directory || byKey.has(`${session.server || "local"}\n${session.directory}`)) return;
  clearTimeout(pending);
  pending = setTimeout(() => loadProjects({ fresh: true }).then(redraw), 300);
}
