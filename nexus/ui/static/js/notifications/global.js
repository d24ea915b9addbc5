// Notifications on every page: the bell with the unread count, toasts for new notifications,
// desktop notifications where the user allowed them, and "a long reply finished" for tabs in
// the background. Listens to the notifications topics of the live stream; tells the page what
// happened through window events ("nexus:notification", "nexus:unread", "nexus:notification-prefs").
import { api } from "../api.js";
import { connectLive } from "../live.js";
import { showDesktop } from "./desktop.js";
import { watchLongReplies } from "./long-replies.js";
import { showToast } from "./toasts.js";

const TOPICS = "notifications.,chat.session,settings.changed";
let prefs = {};

function setUnread(n) {
  const count = document.getElementById("bell-count");
  const bell = document.getElementById("bell");
  if (!count || !bell) return;
  count.textContent = n > 99 ? "99+" : String(n);
  count.hidden = !n;
  bell.setAttribute("aria-label", n ? `Notifications: ${n} unread` : "Notifications");
  window.dispatchEvent(new CustomEvent("nexus:unread", { detail: { unread: n } }));
}

async function loadPrefs() {
  const data = await api("/api/notifications?limit=1");
  prefs = data.preferences;
  setUnread(data.unread);
  window.dispatchEvent(new CustomEvent("nexus:notification-prefs", { detail: prefs }));
}

function announce(item) {
  if (prefs[item.kind] === false) return;  // switched off after the server recorded it
  showToast(item);
  if (prefs.desktop) showDesktop(item);
}

const onSession = watchLongReplies({
  minSeconds: () => prefs.long_reply_seconds ?? 20,
  async onFinished(sessionId, seconds) {
    if (prefs.reply_finished === false) return;
    let title = "";
    try { title = (await api(`/api/sessions/${encodeURIComponent(sessionId)}`)).title; } catch { /* gone */ }
    announce({ id: `reply-${sessionId}-${Math.round(seconds)}`, kind: "reply_finished", level: "success",
      title: "A reply finished", body: `${title ? `“${title}” ` : ""}finished after ${Math.round(seconds)} s.`,
      link: `/s/${sessionId}` });
  },
});

connectLive(`/api/stream?topics=${encodeURIComponent(TOPICS)}`, {
  onState() {},  // the page's own indicator shows the connection
  onMessage(msg) {
    if (msg.type === "hello") {
      setUnread(msg.data.unread);
      loadPrefs().catch(() => {});
    } else if (msg.type === "notifications.new") {
      setUnread(msg.data.unread);
      window.dispatchEvent(new CustomEvent("nexus:notification", { detail: msg.data.notification }));
      announce(msg.data.notification);
    } else if (msg.type === "notifications.read" || msg.type === "notifications.cleared") {
      setUnread(msg.data.unread);
      window.dispatchEvent(new CustomEvent("nexus:notifications-changed", { detail: msg.data }));
    } else if (msg.type === "settings.changed") {
      if (msg.data.keys.some((k) => k.startsWith("notifications."))) loadPrefs().catch(() => {});
    } else if (msg.type === "chat.session") {
      onSession(msg.data);
    }
  },
});
