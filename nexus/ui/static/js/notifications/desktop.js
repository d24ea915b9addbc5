// Desktop notifications through the browser's Notification API. Permission is only ever
// asked for from a click (browsers ignore or penalise asking on page load).
export const desktopSupported = () => "Notification" in window && window.isSecureContext;

export const desktopPermission = () => (desktopSupported() ? Notification.permission : "unsupported");

export async function askDesktopPermission() {
  if (!desktopSupported()) return "unsupported";
  return Notification.requestPermission();
}

/** Shows it when allowed and the user is not looking at this tab. `tag` collapses the same
 * notification coming from several open tabs into one. Through the service worker when there
 * is one (the installed app, and Android, which allows no other kind); its click opens `link`. */
export function showDesktop({ id, title, body = "", link = "" }) {
  if (desktopPermission() !== "granted" || (!document.hidden && document.hasFocus())) return null;
  const options = { body, tag: `nexus-${id}`, icon: "/static/img/icon-192.png", data: { link: link || "/" } };
  if (navigator.serviceWorker?.controller) {
    // A worker that fails to show it (or is gone) falls back to the page's own notification.
    navigator.serviceWorker.ready.then((reg) => reg.showNotification(title, options))
      .catch(() => showInPage(title, options, link));
    return "service-worker";
  }
  return showInPage(title, options, link);
}

/** A page without a controlling service worker (or whose worker failed) shows it itself. */
function showInPage(title, options, link) {
  try {
    const n = new Notification(title, options);
    n.addEventListener("click", () => {
      window.focus();
      if (link) location.assign(link);
      n.close();
    });
    return n;
  } catch {
    return null;
  }
}
