// A permission request answered inline: allow once, always allow, or deny with an optional message.
import { api } from "../../api.js";
import { el, nextId, toast } from "../ui.js";

// Mirrors nexus/auth/remote_shell.py (the server decides; this only spares a refused click):
// through the tunnel with remote shell commands off, only these kinds can be approved here.
const HARMLESS = new Set(["read", "list", "glob", "grep", "webfetch", "websearch", "codesearch", "todoread", "todowrite",
  "question", "lsp"]);

function approvableFromHere(permission) {
  const off = document.querySelector('meta[name="remote-shell"]')?.content === "off";
  return !off || HARMLESS.has(permission.tool || "");
}

export function permissionPrompt(sessionId, permission) {
  const titleId = nextId("perm");
  const reasonId = nextId("perm-reason");
  const box = el("div", { class: "permission", role: "group", "aria-labelledby": titleId, dataset: { permission: permission.id } });
  const what = permission.title || (permission.patterns || []).join(", ") || "";
  box.append(el("p", { class: "permission-title", id: titleId },
    el("strong", { text: "Permission needed: " }),
    `the agent wants to use ${permission.tool || "a tool"}`, what ? ":" : "."));
  if (what) box.append(el("pre", { class: "permission-what", tabindex: "0", text: what }));
  const reason = el("input", { type: "text", id: reasonId, class: "permission-reason", maxlength: "2000", autocomplete: "off",
    placeholder: "Optional: tell the agent why" });
  const approveHere = !approvableFromHere(permission);
  const buttons = [
    ...(approveHere ? [] : [
      el("button", { type: "button", class: "btn primary", dataset: { reply: "once" }, text: "Allow once" }),
      el("button", { type: "button", class: "btn", dataset: { reply: "always" }, text: "Always allow" })]),
    el("button", { type: "button", class: "btn danger", dataset: { reply: "reject" }, text: "Deny" }),
  ];
  if (approveHere) {
    box.append(el("p", { class: "permission-local-only", text: "Approve on this computer: through the tunnel the agent may " +
      "not run commands or change files unless the owner allows it on the Security page. You can deny it from here." }));
  }
  box.append(el("div", { class: "permission-actions" }, ...buttons),
    el("div", { class: "permission-message" }, el("label", { for: reasonId, text: "Message with a denial" }), reason));
  const answer = async (reply) => {
    for (const b of buttons) b.disabled = true;
    try {
      await api(`/api/sessions/${encodeURIComponent(sessionId)}/permissions/${encodeURIComponent(permission.id)}`,
        { method: "POST", body: { reply, message: reply === "reject" ? reason.value.trim() || undefined : undefined } });
      box.dataset.answered = reply;
    } catch (err) {
      for (const b of buttons) b.disabled = false;
      toast(err.message);
    }
  };
  for (const b of buttons) b.addEventListener("click", () => answer(b.dataset.reply));
  reason.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); answer("reject"); } });
  return box;
}
