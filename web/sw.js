// Postino's service worker (DESIGN.md, PWA): the app shell is precached at install; Trunk's
// hashed assets are served cache first; the page network first, with the cached page as the
// offline fallback. Nothing under /v1/ (the relay's WebSocket and API) is ever touched.
//
// A new version waits until the user accepts it: the page shows "Update available" and posts
// {type: 'skip-waiting'} on the user's click. There is no skipWaiting() at install.
//
// web/sw-stamp.mjs (a Trunk post_build hook) replaces the two lines below with the build id and
// the files of the build, each with a digest of its content. An update fetches only the files
// whose digest changed; the others are copied from the cache of the version before.
const BUILD = 'development';
const PRECACHE = [{ url: '/', digest: '' }];

const CACHE_PREFIX = 'postino-';
const CACHE = `${CACHE_PREFIX}${BUILD}`;
const PAGE = '/';
/** How long the page may take from the network before the cached one is shown instead. */
const PAGE_TIMEOUT_MS = 4000;
/** Paths that belong to the relay, not to the app: always the network, never a cache. */
const NETWORK_ONLY = [/^\/v1\//, /^\/healthz$/, /^\/metrics$/, /^\/sw\.js$/, /^\/oauth-return\./];
/** The header a cached file keeps its digest in. */
const DIGEST = 'x-postino-digest';
/** What the last install fetched and what it kept, for people and tests: {build, fetched, kept}. */
const INSTALL_REPORT = '/postino-install.json';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const earlier = await earlierCaches();
      const fetched = [];
      const kept = [];
      await Promise.all(
        PRECACHE.map(async ({ url, digest }) => {
          const old = await previous(earlier, url, digest);
          if (old) {
            await cache.put(url, old);
            kept.push(url);
            return;
          }
          // `no-cache`: checked with the server, so it is this build, but what the page has just
          // downloaded comes from the HTTP cache (a 304), not over the link a second time.
          const response = await fetch(new Request(url, { cache: 'no-cache' }));
          if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
          const headers = new Headers(response.headers);
          headers.set(DIGEST, digest);
          await cache.put(url, new Response(response.body, { status: response.status, statusText: response.statusText, headers }));
          fetched.push(url);
        }),
      );
      const report = JSON.stringify({ build: BUILD, fetched: fetched.sort(), kept: kept.sort() });
      await cache.put(INSTALL_REPORT, new Response(report, { headers: { 'content-type': 'application/json' } }));
    })(),
  );
});

/** The caches of earlier versions, opened once per install. */
async function earlierCaches() {
  const keys = (await caches.keys()).filter((key) => key.startsWith(CACHE_PREFIX) && key !== CACHE);
  return Promise.all(keys.map((key) => caches.open(key)));
}

/** `url` as an earlier version cached it (in one of `earlier`), if its content has `digest`. */
async function previous(earlier, url, digest) {
  if (!digest) return undefined;
  for (const cache of earlier) {
    const hit = await cache.match(url);
    if (hit && hit.headers.get(DIGEST) === digest) return hit;
  }
  return undefined;
}

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith(CACHE_PREFIX) && key !== CACHE) await caches.delete(key);
      }
      // The first install controls the open page at once, so it works offline without a reload.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  const type = event.data && event.data.type;
  if (type === 'skip-waiting') {
    self.skipWaiting();
  } else if (type === 'build' && event.ports[0]) {
    event.ports[0].postMessage({ build: BUILD });
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NETWORK_ONLY.some((pattern) => pattern.test(url.pathname))) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirstPage(request));
  } else {
    event.respondWith(cacheFirst(request));
  }
});

/** The page from the network when it answers in time and well; else this build's cached page. */
async function networkFirstPage(request) {
  const cached = () => caches.open(CACHE).then((cache) => cache.match(PAGE));
  try {
    const response = await withTimeout(fetch(request), PAGE_TIMEOUT_MS);
    if (response.status < 500) return response;
    return (await cached()) || response;
  } catch (error) {
    const page = await cached();
    if (page) return page;
    throw error;
  }
}

/** A precached file from the cache; anything else from the network (not stored). */
async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  return hit || fetch(request);
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the network is too slow')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
