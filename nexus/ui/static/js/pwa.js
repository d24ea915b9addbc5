// Installs the service worker (static/js/sw.js): the app opens offline and can notify from
// the background. Browsers allow it only in a secure context (https, or this computer).
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => { /* the app works without it */ });
}
