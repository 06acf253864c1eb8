// Service worker: keeps the app — page, onnxruntime-web and the on-device models — available offline,
// so the installed app answers without a network (device.js). Answers (/api/) are never cached.
"use strict";
const CACHE = "agegender-v5";  // a new name re-installs: the default model now needs faceres.onnx too
const SHELL = ["/", "/static/style.css", "/static/app.js", "/static/device.js", "/static/live.js", "/static/manifest.webmanifest",
               "/static/icon-192.png", "/static/icon-512.png"];
const RUNTIME = ["/static/ort/ort.wasm.min.js", "/static/ort/ort-wasm-simd-threaded.mjs",
                 "/static/ort/ort-wasm-simd-threaded.wasm", "/models/device.json"];

// the model files the server's on-device settings list (/models/device.json "files")
async function install() {
  try {
    const cfg = await (await fetch("/models/device.json")).json();
    const c = await caches.open(CACHE);
    await c.addAll(SHELL.concat(RUNTIME, cfg.files));
  } catch (err) {
    await tellPages(err);
    throw err;  // not installed: the page keeps working online, and the next visit tries again
  }
}

// why the app could not be kept for offline use, told to the open pages (app.js shows it). A device short of
// storage refuses the models' tens of MB — as QuotaExceededError, or (Chromium with its disk nearly full) as
// a NetworkError from addAll; the browser's storage estimate does not show it, so none is quoted.
async function tellPages(err) {
  const pages = await self.clients.matchAll({ includeUncontrolled: true, type: "window" });
  pages.forEach((p) => p.postMessage({ type: "offline-failed", reason: `${err.name}: ${err.message}` }));
}

self.addEventListener("install", (event) => {
  event.waitUntil(install().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// network first (a server's newer files win), the cache when offline
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.pathname.startsWith("/api/")) return;  // never cache answers
  event.respondWith(fetch(event.request).then((resp) => {
    if (resp.ok) {
      const copy = resp.clone();
      caches.open(CACHE).then((c) => c.put(event.request, copy));
    }
    return resp;
  }).catch(() => caches.match(event.request, { ignoreVary: true })));
});
