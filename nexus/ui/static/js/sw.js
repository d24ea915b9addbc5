// The service worker (served at /sw.js with VERSION and SHELL written in front by
// nexus/ui/pages_app.py). It keeps the app shell so Nexus opens without its computer:
// - pages: the network first; when it fails, the cached "can't reach your computer" page;
// - /static/v/ and /static/b/ (content-hashed, immutable) and the shell: the cache first;
// - everything else (the API, streams): the network only, never cached (it holds your data).
// It also shows notifications while no Nexus tab is in front (showNotification from a page).
const CACHE = `nexus-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith("nexus-shell-") && key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(async () => (await caches.match("/offline"))
      || new Response("Can't reach your computer.", { status: 503, headers: { "Content-Type": "text/plain" } })));
    return;
  }
  if (url.pathname.startsWith("/static/v/") || url.pathname.startsWith("/static/b/") || SHELL.includes(url.pathname)) {
    event.respondWith((async () => {
      const cached = await caches.match(request);
      if (cached) return cached;
      const response = await fetch(request);
      if (response.ok) (await caches.open(CACHE)).put(request, response.clone());
      return response;
    })());
  }
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const link = event.notification.data?.link || "/";
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).pathname === link) || windows[0];
    if (open) {
      await open.focus();
      if (new URL(open.url).pathname !== link) await open.navigate(link);
    } else {
      await self.clients.openWindow(link);
    }
  })());
});
