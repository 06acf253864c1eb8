// Service worker: keeps the page itself available offline (the app shell). Predictions still need
// the server; running the model in the browser (onnxruntime-web) is the next step.
"use strict";
const CACHE = "agegender-shell-v1";
const SHELL = ["/", "/static/style.css", "/static/app.js", "/static/manifest.webmanifest",
               "/static/icon-192.png", "/static/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.pathname.startsWith("/api/")) return;  // never cache answers
  event.respondWith(fetch(event.request).then((resp) => {
    const copy = resp.clone();
    caches.open(CACHE).then((c) => c.put(event.request, copy));
    return resp;
  }).catch(() => caches.match(event.request)));
});
