// The dashboard's notifications list: newest first, unread marked; mark read, clear, and the
// button that asks this browser for desktop notifications. New ones arrive through the
// global notifications module (window event "nexus:notification").
import { api } from "../api.js";
import { time } from "../format.js";
import { askDesktopPermission, desktopPermission } from "../notifications/desktop.js";

const $ = (id) => document.getElementById(id);
const list = $("notification-list");
let desktopWanted = true;

function item(n) {
  const li = document.createElement("li");
  li.dataset.id = n.id;
  li.dataset.level = n.level;
  li.dataset.kind = n.kind;
  li.classList.toggle("unread", !n.read);
  const head = document.createElement("div");
  head.className = "n-head";
  const title = document.createElement(n.link ? "a" : "strong");
  title.className = "n-title";
  title.textContent = n.title;
  if (n.link) title.href = n.link;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = time(n.at);
  head.append(title, when);
  li.append(head);
  if (n.body) {
    const body = document.createElement("p");
    body.className = "n-body";
    body.textContent = n.body;
    li.append(body);
  }
  if (!n.read) {
    const state = document.createElement("span");
    state.className = "visually-hidden";
    state.textContent = " (unread)";
    head.append(state);
  }
  return li;
}

function showEmpty() {
  $("notifications-empty").hidden = list.children.length > 0;
  $("notifications-read").disabled = !list.querySelector(".unread");
  $("notifications-clear").disabled = list.children.length === 0;
}

function showUnread(n) {
  $("notifications-unread").textContent = n ? `${n} unread` : "";
}

export async function loadNotifications() {
  const data = await api("/api/notifications?limit=50");
  list.replaceChildren(...data.notifications.map(item));
  showUnread(data.unread);
  showEmpty();
  desktopWanted = data.preferences.desktop;
  showDesktopAsk();
}

function showDesktopAsk() {
  const permission = desktopPermission();
  $("desktop-ask").hidden = !desktopWanted || permission === "granted" || permission === "unsupported";
  if (permission === "denied") {
    $("desktop-enable").disabled = true;
    $("desktop-note").textContent = "Blocked in this browser's site settings.";
  }
}

$("desktop-enable").addEventListener("click", async () => {
  const answer = await askDesktopPermission();
  $("desktop-note").textContent = answer === "granted" ? "Desktop notifications are on." : "";
  if (answer === "granted") setTimeout(showDesktopAsk, 2000);
  else showDesktopAsk();
});

$("notifications-read").addEventListener("click", async () => {
  const res = await api("/api/notifications/read", { method: "POST", body: {} });
  list.querySelectorAll(".unread").forEach((li) => { li.classList.remove("unread"); li.querySelector(".visually-hidden")?.remove(); });
  showUnread(res.unread);
  showEmpty();
});

$("notifications-clear").addEventListener("click", async () => {
  await api("/api/notifications", { method: "DELETE" });
  list.replaceChildren();
  showUnread(0);
  showEmpty();
});

window.addEventListener("nexus:notification", (e) => {
  list.prepend(item(e.detail));
  while (list.children.length > 50) list.lastElementChild.remove();
  showEmpty();
});
window.addEventListener("nexus:unread", (e) => showUnread(e.detail.unread));
// Another tab marked them read or cleared them.
window.addEventListener("nexus:notifications-changed", () => loadNotifications().catch(() => {}));
window.addEventListener("nexus:notification-prefs", (e) => { desktopWanted = e.detail.desktop; showDesktopAsk(); });
