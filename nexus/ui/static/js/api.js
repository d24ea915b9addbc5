// Calls to Nexus's REST API; errors come back as {error: {message}} and are thrown as Error.
import { confirmPassword } from "./confirm-password.js";

export async function api(path, { method = "GET", body, confirmed = false } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  // State changes carry the CSRF token the page was rendered with (nexus/ui/security.py).
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const data = res.headers.get("Content-Type")?.includes("json") ? await res.json() : null;
  if (res.status === 401 && data?.error?.code === "login_required") {
    // The session ended (idle, expired, signed out elsewhere): back to sign-in, then here.
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  if (res.status === 403 && data?.error?.code === "password_confirmation_required" && !confirmed) {
    // A security change: the owner types the password, then the same request goes again.
    if (await confirmPassword(data.error.message)) return api(path, { method, body, confirmed: true });
  }
  if (!res.ok) {
    const error = new Error(data?.error?.message || `${res.status} ${res.statusText}`);
    error.status = res.status;
    error.code = data?.error?.code;
    error.details = data?.error?.details;
    throw error;
  }
  return data;
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}
