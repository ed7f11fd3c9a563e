// First visit on a phone (issue 13, "Figures"): how long from navigation until the stored list
// shows and until "Check mail" is usable, over a slow mobile link with a slow CPU, with a cold
// cache and with the service worker's cache warm. A benchmark: it reports figures, it never
// passes or fails on them. Exits non-zero only when it could not measure (and says why).
//
// For each build in DISTS (`label=path,label=path`, paths from the current folder):
//   1. A relay serving that build, a new Chromium profile on disk (IndexedDB and the service
//      worker survive reloads). Through the app's account form, an account on the testkit's
//      Dovecot (MESSAGES generated messages: the relay's --demo mailbox holds only five) is added
//      and every message downloaded into IndexedDB; the service worker must control the page.
//   2. Cold, RUNS times: CDP Network.clearBrowserCache and Storage.clearDataForOrigin with
//      storageTypes "cache_storage,service_workers" (IndexedDB is kept); then, throttled (below),
//      a navigation to the app, timed.
//   3. Warm, right after each cold run: unthrottled, the service worker controls the page and an
//      untimed load fills its cache; then throttled, a navigation to the app, timed.
//
// Throttling, on the page and on every worker that attaches (engine worker, service worker):
//   Network.emulateNetworkConditions {offline:false, latency:150, downloadThroughput:200000
//   (1.6 Mbit/s), uploadThroughput:93750 (750 kbit/s)}; Emulation.setCPUThrottlingRate {rate:4}
//   (a worker target without the Emulation domain is noted, not an error).
//
// Each figure is the page's own clock, performance.now() (zero at navigation start), read in the
// page by a MutationObserver plus a per-frame check installed before any script of the app:
//   first_rows_ms   the first `#messages .message-row` is in the DOM and visible (non-empty box
//                   inside the viewport, checkVisibility());  first_rows_painted_ms: the next
//                   animation frame after that;
//   check_ready_ms  `#check-mail` is usable: when it carries `data-engine`, that is "ready" and
//                   the button is not disabled; without the attribute (older builds), the button
//                   is present and not disabled. `engine_states` lists each data-engine value seen
//                   with its time.
// Bytes: the sum of Network.loadingFinished encodedDataLength over requests that went to the
// network (not answered by the service worker, the memory or the disk cache), on the page and on
// the workers' targets: `bytes_at_ready` when both figures were reached, `bytes` once the network
// was idle for 1.5 s (the engine and the service worker's precache come after the first rows);
// `bytes_by_target`: page, worker (the engine), service_worker (its precache, the page it
// fetches network first); `files`: each .wasm/.js file's transferred size in that run and when
// its download ended (`done_ms`, CDP's clock, from the document's request: close to, not
// exactly, the page's clock).
//
// The relay serves the app's files uncompressed; a deployment behind nginx or a CDN gzips them.
// GZIP=1 puts a small front (in this process) between the browser and the relay that gzips
// HTML/JS/CSS/wasm at level 9, as gzip_static would serve them; the budgets are gzipped
// sizes. Run both ways and say which.
//
// Output: one JSON object per build on stdout (median and every value of each figure), then a
// table. Progress goes to stderr. On a shared machine, other work inflates these figures: compare
// builds measured in one run, not across runs.
//
// Environment: DISTS (required), RUNS (default 3), GZIP (default off), MESSAGES (default 60),
// POSTINO_RELAY_BIN (required), POSTINO_TESTKIT_BIN (default: postino-testkit beside the relay
// binary), CHROMIUM (default /usr/bin/chromium), VIEWPORT (default 412x915, a phone),
// DEADLINE_MS (each wait, default 120000).
//
//   cargo build -p postino-relay -p postino-testkit
//   DISTS=before=target/dist-before13,now=dist RUNS=3 GZIP=1 \
//     POSTINO_RELAY_BIN=target/debug/postino-relay node tests/bench/first_load.mjs

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import zlib from 'node:zlib';

import { chromium } from '../e2e/node_modules/playwright-core/index.mjs';

import { CHROMIUM, env, startRelay } from './common.mjs';

const RUNS = Number(process.env.RUNS || 3);
const MESSAGES = Number(process.env.MESSAGES || 60);
const DEADLINE_MS = Number(process.env.DEADLINE_MS || 120_000);
const [VIEW_W, VIEW_H] = (process.env.VIEWPORT || '412x915').split('x').map(Number);
const NETWORK = { offline: false, latency: 150, downloadThroughput: 200_000, uploadThroughput: 93_750 };
const NO_NETWORK_LIMIT = { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 };
const CPU_RATE = 4;
const GZIP = ['1', 'true', 'yes'].includes(process.env.GZIP ?? '');
const USER = 'bench';
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

const log = (...a) => console.error('first_load:', ...a);
const short = (e) => String(e?.message ?? e).split('\n')[0].slice(0, 300);

/** `promise`, or an error naming `what` after `ms`. */
function within(what, promise, ms = DEADLINE_MS) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
const round = (v) => (typeof v === 'number' ? Math.round(v) : v);

// ---------------------------------------------------------------------------------------------
// What to measure.

const dists = (() => {
  const spec = env('DISTS');
  return spec.split(',').filter(Boolean).map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`DISTS: "${item}" is not label=path`);
    const label = item.slice(0, eq);
    const dir = path.resolve(item.slice(eq + 1));
    if (!existsSync(path.join(dir, 'index.html'))) throw new Error(`DISTS: ${dir} has no index.html`);
    return { label, dir };
  });
})();
const relayBin = path.resolve(env('POSTINO_RELAY_BIN'));
process.env.POSTINO_RELAY_BIN = relayBin;
const testkitBin = path.resolve(process.env.POSTINO_TESTKIT_BIN || path.join(path.dirname(relayBin), 'postino-testkit'));
for (const [name, file] of [['POSTINO_RELAY_BIN', relayBin], ['POSTINO_TESTKIT_BIN', testkitBin]]) {
  if (!existsSync(file)) throw new Error(`${name}: ${file} does not exist (cargo build -p postino-relay -p postino-testkit)`);
}
// The relay logs every request at info level on our stderr otherwise.
process.env.RUST_LOG ||= 'warn';

// ---------------------------------------------------------------------------------------------
// Cleanup: whatever happens, the browser, the relays and Dovecot go.

const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const f of cleanups.splice(0).reverse()) {
      try {
        await within('a cleanup step', Promise.resolve().then(f), 15_000);
      } catch (e) {
        log(`cleanup: ${short(e)}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    within('cleanup', cleanup(), 20_000).finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// The mailbox: generated messages in the testkit's Dovecot.

function writeMessages(dir, n) {
  const words = ['post', 'letter', 'inbox', 'relay', 'offline', 'browser', 'message', 'account',
    'download', 'ledger', 'the', 'a', 'of', 'and', 'to', 'in', 'with', 'for', 'phone', 'first'];
  let seed = 13;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let i = 1; i <= n; i++) {
    const lines = [];
    const bodyLines = 30 + (next() % 60);
    for (let l = 0; l < bodyLines; l++) {
      const len = 6 + (next() % 8);
      lines.push(Array.from({ length: len }, () => words[next() % words.length]).join(' '));
    }
    const date = new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toUTCString().replace('GMT', '+0000');
    const mail = [
      `From: Sender ${i % 7} <sender${i % 7}@example.org>`,
      `To: ${USER}@example.org`,
      `Subject: First load message ${i}`,
      `Date: ${date}`,
      `Message-ID: <first-load-${i}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      ...lines,
      '',
    ].join('\r\n');
    writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.eml`), mail);
  }
}

/** Dovecot through `postino-testkit dovecot`; its stdin stays open as a lifeline. */
async function startDovecot(fixtures) {
  const child = spawn(testkitBin, ['dovecot', '--fixtures', fixtures, '--user', USER, '--password', PASSWORD], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const tail = [];
  createInterface({ input: child.stderr }).on('line', (l) => { tail.push(l); if (tail.length > 30) tail.shift(); });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(stop);
  const info = await within('postino-testkit dovecot: its first line', new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot run ${testkitBin}: ${e.message}`)));
    exited.then((code) => reject(new Error(`postino-testkit exited (${code}): ${tail.join(' | ')}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`postino-testkit said: ${line}`));
      }
    });
  }), 60_000);
  return info;
}

// ---------------------------------------------------------------------------------------------
// GZIP=1: a front in place of a compressing web server (nginx's gzip_static), since the relay
// serves the app's files as they are. HTML, JS, CSS, JSON and wasm answers are gzipped (level
// 9, once per file); WebSockets pass through. Host and Origin are rewritten to the relay's own,
// which it requires.

async function startGzipFront(relayUrl) {
  const target = new URL(relayUrl);
  const gzipped = new Map();
  const rewrite = (headers) => {
    const h = { ...headers, host: target.host };
    if (h.origin) h.origin = target.origin;
    return h;
  };
  const server = http.createServer((req, res) => {
    const headers = rewrite(req.headers);
    delete headers['accept-encoding'];
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      const h = { ...answer.headers };
      const compressible = /javascript|wasm|html|css|json|manifest/.test(h['content-type'] ?? '');
      if (!(answer.statusCode === 200 && compressible && !h['content-encoding'] && /\bgzip\b/.test(req.headers['accept-encoding'] ?? ''))) {
        res.writeHead(answer.statusCode, h);
        answer.pipe(res);
        return;
      }
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => {
        const raw = Buffer.concat(chunks);
        const key = `${req.url}|${h.etag ?? ''}|${raw.length}`;
        let body = gzipped.get(key);
        if (!body) gzipped.set(key, (body = zlib.gzipSync(raw, { level: 9 })));
        h['content-encoding'] = 'gzip';
        h['content-length'] = String(body.length);
        h.vary = 'Accept-Encoding';
        res.writeHead(200, h);
        res.end(body);
      });
      answer.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(rewrite(req.headers))) {
        for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    const close = () => { socket.destroy(); up.destroy(); };
    up.on('error', close);
    socket.on('error', close);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const stop = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return { url: `http://127.0.0.1:${server.address().port}`, stop };
}

// ---------------------------------------------------------------------------------------------
// In the page, before any script of the app: the two figures on the page's clock.

function probe() {
  if (window !== window.top) return;
  const b = (window.__firstLoad = { rows: null, rowsPainted: null, ready: null, readyVia: null, engine: [] });
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight)) return false;
    return el.checkVisibility ? el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) : true;
  };
  let done = false;
  const check = () => {
    if (done) return;
    const now = performance.now();
    if (b.rows === null) {
      const row = document.querySelector('#messages .message-row');
      if (row && visible(row)) {
        b.rows = now;
        requestAnimationFrame(() => { b.rowsPainted = performance.now(); });
      }
    }
    const button = document.querySelector('#check-mail');
    if (button) {
      const state = button.getAttribute('data-engine');
      if (state !== null && b.engine.at(-1)?.[0] !== state) b.engine.push([state, now]);
      if (b.ready === null) {
        if (state !== null ? state === 'ready' && !button.disabled : !button.disabled) {
          b.ready = now;
          b.readyVia = state !== null ? 'data-engine' : 'enabled';
        }
      }
    }
    if (b.rows !== null && b.ready !== null && b.engine.at(-1)?.[0] !== 'loading') {
      done = true;
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {
    childList: true, subtree: true, attributes: true,
    attributeFilter: ['disabled', 'data-engine', 'class', 'style', 'hidden'],
  });
  const frame = () => { check(); if (!done) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------------------------------------
// CDP: the page's session plus its workers (auto-attached, not flattened), throttled alike;
// every request that went to the network counted.

async function instrument(context, page) {
  const cdp = await context.newCDPSession(page);
  const state = {
    throttled: false,
    requests: new Map(), // key -> { url, bytes, network, done }
    notes: new Set(),
    lastActivity: Date.now(),
    workers: new Map(), // sessionId -> type
  };
  let nextId = 1;
  const replies = new Map();
  const toWorker = (sessionId, method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => { replies.delete(id); reject(new Error(`${method}: no answer`)); }, 10_000);
      replies.set(id, (m) => {
        clearTimeout(timer);
        m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result);
      });
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
        .catch((e) => { clearTimeout(timer); replies.delete(id); reject(e); });
    });

  const onNetwork = (where, method, p) => {
    state.lastActivity = Date.now();
    const key = `${where}:${p.requestId}`;
    if (method === 'Network.requestWillBeSent') {
      // CDP's monotonic clock, shared by the page's and the workers' targets.
      if (where === 'page' && p.type === 'Document') state.navigatedAt ??= p.timestamp;
      state.requests.set(key, { url: p.request.url, bytes: 0, network: true, done: false, where });
    } else if (method === 'Network.responseReceived') {
      const r = state.requests.get(key);
      if (r && (p.response.fromServiceWorker || p.response.fromDiskCache || p.response.fromPrefetchCache)) r.network = false;
    } else if (method === 'Network.requestServedFromCache') {
      const r = state.requests.get(key);
      if (r) r.network = false;
    } else if (method === 'Network.loadingFinished') {
      const r = state.requests.get(key);
      if (r) { r.bytes = p.encodedDataLength; r.done = true; r.at = p.timestamp; }
    } else if (method === 'Network.loadingFailed') {
      const r = state.requests.get(key);
      if (r) { r.done = true; r.failed = p.errorText; }
    }
  };
  for (const m of ['Network.requestWillBeSent', 'Network.responseReceived', 'Network.dataReceived', 'Network.requestServedFromCache',
    'Network.loadingFinished', 'Network.loadingFailed']) {
    cdp.on(m, (p) => onNetwork('page', m, p));
  }

  const throttleWorker = async (sessionId) => {
    const type = state.workers.get(sessionId);
    try {
      await toWorker(sessionId, 'Network.emulateNetworkConditions', state.throttled ? NETWORK : NO_NETWORK_LIMIT);
    } catch (e) {
      // A dedicated worker's requests still go through the page's emulation (its files'
      // done_ms show the shared 1.6 Mbit/s); only the target refuses the call.
      state.notes.add(`${type}: Network.emulateNetworkConditions refused on the target (${short(e)}); ` +
        'its requests share the page\'s emulated link');
    }
    try {
      await toWorker(sessionId, 'Emulation.setCPUThrottlingRate', { rate: state.throttled ? CPU_RATE : 1 });
    } catch {
      state.notes.add(`${type}: no Emulation.setCPUThrottlingRate on this target (the page's rate applies to its process)`);
    }
  };
  cdp.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
    state.workers.set(sessionId, targetInfo.type);
    toWorker(sessionId, 'Network.enable').catch((e) => state.notes.add(`${targetInfo.type}: no Network domain (${short(e)})`));
    throttleWorker(sessionId);
  });
  cdp.on('Target.detachedFromTarget', ({ sessionId }) => state.workers.delete(sessionId));
  cdp.on('Target.receivedMessageFromTarget', ({ sessionId, message }) => {
    const m = JSON.parse(message);
    if (m.id !== undefined) {
      replies.get(m.id)?.(m);
      replies.delete(m.id);
    } else if (m.method?.startsWith('Network.')) {
      onNetwork(sessionId, m.method, m.params);
    }
  });

  await cdp.send('Network.enable');
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  return {
    cdp,
    state,
    async throttle(on) {
      state.throttled = on;
      await cdp.send('Network.emulateNetworkConditions', on ? NETWORK : NO_NETWORK_LIMIT);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: on ? CPU_RATE : 1 });
      await Promise.all([...state.workers.keys()].map(throttleWorker));
    },
    reset() { state.requests.clear(); state.navigatedAt = null; },
    /** Bytes from the network so far: in all, by target, and per .wasm/.js file. */
    bytes() {
      let total = 0;
      const files = {};
      const byTarget = {};
      for (const r of state.requests.values()) {
        if (!r.network || !r.done) continue;
        total += r.bytes;
        const target = r.where === 'page' ? 'page' : state.workers.get(r.where) ?? 'worker';
        byTarget[target] = (byTarget[target] ?? 0) + r.bytes;
        const name = new URL(r.url, 'http://x/').pathname.split('/').pop();
        if (/\.(wasm|m?js)$/.test(name)) {
          const key = target === 'page' ? name : `${name} (${target})`;
          const doneMs = state.navigatedAt != null && r.at != null ? Math.round((r.at - state.navigatedAt) * 1000) : null;
          files[key] = { bytes: (files[key]?.bytes ?? 0) + r.bytes, done_ms: doneMs };
        }
      }
      return { total, files, byTarget };
    },
    /** Resolves once no request started, received data or ended for `quietMs`. */
    async idle(quietMs = 1_500) {
      const pending = () => [...state.requests.values()].filter((r) => !r.done)
        .map((r) => `${r.where === 'page' ? 'page' : state.workers.get(r.where) ?? 'worker'} ${r.url}`).join(', ');
      await within('the network going idle', (async () => {
        while (Date.now() - state.lastActivity < quietMs) await sleep(100);
      })()).catch((e) => { throw new Error(`${e.message}; still pending: ${pending()}`); });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One build.

async function storedCount(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const open = indexedDB.open('postino');
    open.onerror = () => resolve(-1);
    open.onsuccess = () => {
      const db = open.result;
      try {
        const r = db.transaction('summaries').objectStore('summaries').count();
        r.onsuccess = () => { db.close(); resolve(r.result); };
        r.onerror = () => { db.close(); resolve(-1); };
      } catch {
        db.close();
        resolve(-1);
      }
    };
  }));
}

async function swState(page) {
  return page.evaluate(async () => ({
    controller: navigator.serviceWorker?.controller != null,
    registrations: (await navigator.serviceWorker?.getRegistrations())?.length ?? 0,
    caches: await caches.keys(),
  }));
}

async function waitController(page, what) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: DEADLINE_MS, polling: 100 })
    .catch((e) => { throw new Error(`${what}: the service worker does not control the page (${short(e)})`); });
}

async function setUp(page, url, dovecot) {
  await page.goto(url, { timeout: DEADLINE_MS });
  const form = page.locator('#account-form');
  await form.waitFor({ state: 'visible', timeout: DEADLINE_MS }).catch(() => {
    throw new Error('set-up: the account form (#account-form) did not show');
  });
  await page.fill('#host', '127.0.0.1');
  await page.fill('#port', String(dovecot.pop3s_port));
  await page.selectOption('#security', 'tls');
  await page.fill('#user', USER);
  await page.fill('#password', PASSWORD);
  await page.click('#add-account');
  const fingerprint = page.locator('#cert-prompt .fingerprint');
  await fingerprint.waitFor({ timeout: DEADLINE_MS }).catch(() => {
    throw new Error('set-up: no certificate prompt (#cert-prompt .fingerprint) for the self-signed Dovecot');
  });
  if ((await fingerprint.textContent()).trim() !== dovecot.fingerprint) {
    throw new Error('set-up: the certificate prompt shows another fingerprint than Dovecot\'s');
  }
  await page.click('#trust-cert');
  // A first check of more than 25 messages asks how much: everything.
  if (MESSAGES > 25) {
    await page.locator('#first-check-go').waitFor({ timeout: DEADLINE_MS });
    await page.check('#first-check-everything');
    await page.click('#first-check-go');
  }
  const deadline = Date.now() + DEADLINE_MS;
  let stored;
  while ((stored = await storedCount(page)) < MESSAGES) {
    if (Date.now() > deadline) {
      const status = await page.locator('#status').textContent().catch(() => null);
      throw new Error(`set-up: ${stored} of ${MESSAGES} messages stored in time (status: ${status})`);
    }
    await sleep(250);
  }
  await page.locator('#messages .message-row').first().waitFor({ timeout: DEADLINE_MS }).catch(() => {
    throw new Error('set-up: no #messages .message-row after the download');
  });
  await waitController(page, 'set-up');
  return stored;
}

/** A timed navigation: the probe's figures, and the bytes. */
async function timedLoad(page, url, net, what) {
  net.reset();
  await net.throttle(true);
  try {
    await page.goto(url, { waitUntil: 'commit', timeout: DEADLINE_MS });
    const handle = await page.waitForFunction(
      () => {
        const b = window.__firstLoad;
        return b && b.rows !== null && b.rowsPainted !== null && b.ready !== null ? b : null;
      },
      null, { timeout: DEADLINE_MS, polling: 50 },
    ).catch(async (e) => {
      const b = await page.evaluate(() => window.__firstLoad).catch(() => null);
      const status = await page.locator('#status').textContent({ timeout: 1_000 }).catch(() => null);
      throw new Error(`${what}: the first rows and a usable Check mail not within ${DEADLINE_MS / 1000} s ` +
        `(seen: ${JSON.stringify(b)}, status: ${status}; ${short(e)})`);
    });
    const seen = await handle.jsonValue();
    const atReady = net.bytes().total;
    await net.idle();
    // After the figures: the engine's states seen until the network went idle.
    const engine = await page.evaluate(() => window.__firstLoad.engine);
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return n ? { response_end_ms: n.responseEnd, dom_content_loaded_ms: n.domContentLoadedEventEnd, load_ms: n.loadEventEnd } : null;
    });
    const { total, files, byTarget } = net.bytes();
    return {
      first_rows_ms: seen.rows,
      first_rows_painted_ms: seen.rowsPainted,
      check_ready_ms: seen.ready,
      check_ready_via: seen.readyVia,
      engine_states: engine.map(([s, t]) => [s, round(t)]),
      bytes_at_ready: atReady,
      bytes: total,
      bytes_by_target: byTarget,
      files,
      navigation: nav && Object.fromEntries(Object.entries(nav).map(([k, v]) => [k, round(v)])),
    };
  } finally {
    await net.throttle(false);
  }
}

async function measureBuild({ label, dir }, dovecot) {
  process.env.POSTINO_DIST = dir;
  const relay = await startRelay(['--allow', `127.0.0.1:${dovecot.pop3s_port}`]);
  cleanups.push(relay.stop);
  let served = relay.url;
  if (GZIP) {
    const front = await startGzipFront(relay.url);
    cleanups.push(front.stop);
    served = front.url;
  }
  const origin = new URL(served).origin;
  const url = `${origin}/`;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'postino-first-load-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    ...CHROMIUM, viewport: { width: VIEW_W, height: VIEW_H },
  });
  cleanups.push(() => context.close());
  await context.addInitScript(probe);
  const page = context.pages()[0] ?? (await context.newPage());
  const net = await instrument(context, page);

  log(`${label}: setting up (${MESSAGES} messages into IndexedDB) on ${url}`);
  const stored = await setUp(page, url, dovecot);

  const cold = [];
  const warm = [];
  for (let run = 1; run <= RUNS; run++) {
    // Cold: no HTTP cache, no service worker nor its caches; IndexedDB kept.
    await net.cdp.send('Network.clearBrowserCache');
    await net.cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'cache_storage,service_workers' });
    const cleared = await swState(page);
    if (cleared.registrations !== 0 || cleared.caches.length !== 0) {
      throw new Error(`${label}: cold run ${run}: still ${cleared.registrations} service worker(s) and caches ${JSON.stringify(cleared.caches)} after clearing`);
    }
    const c = await timedLoad(page, url, net, `${label}: cold run ${run}`);
    if ((await storedCount(page)) < stored) throw new Error(`${label}: IndexedDB lost messages on clearing the caches`);
    cold.push(c);
    log(`${label}: cold ${run}: first rows ${round(c.first_rows_ms)} ms, check ready ${round(c.check_ready_ms)} ms, ${c.bytes} bytes`);

    // Warm: the service worker installed and controlling, its cache filled by an untimed load.
    await waitController(page, `${label}: warm run ${run}`);
    await page.goto(url, { waitUntil: 'load', timeout: DEADLINE_MS });
    await waitController(page, `${label}: warm run ${run}, after the untimed load`);
    await page.locator('#messages .message-row').first().waitFor({ timeout: DEADLINE_MS });
    await net.idle();
    const filled = await swState(page);
    if (!filled.caches.some((k) => k.startsWith('postino-'))) {
      throw new Error(`${label}: warm run ${run}: no postino-* cache in Cache Storage (${JSON.stringify(filled.caches)})`);
    }
    const w = await timedLoad(page, url, net, `${label}: warm run ${run}`);
    warm.push(w);
    log(`${label}: warm ${run}: first rows ${round(w.first_rows_ms)} ms, check ready ${round(w.check_ready_ms)} ms, ${w.bytes} bytes`);
  }

  const summary = (runs) => {
    const figure = (key) => ({ median: round(median(runs.map((r) => r[key]))), values: runs.map((r) => round(r[key])) });
    return {
      first_rows_ms: figure('first_rows_ms'),
      first_rows_painted_ms: figure('first_rows_painted_ms'),
      check_ready_ms: figure('check_ready_ms'),
      check_ready_via: [...new Set(runs.map((r) => r.check_ready_via))].join(','),
      bytes_at_ready: figure('bytes_at_ready'),
      bytes: figure('bytes'),
      runs: runs.map(({ engine_states, files, navigation, bytes, bytes_by_target }) =>
        ({ engine_states, bytes, bytes_by_target, files, navigation })),
    };
  };
  const result = {
    label,
    dist: dir,
    messages_stored: stored,
    runs: RUNS,
    conditions: { served: GZIP ? 'gzip level 9 (GZIP=1 front)' : 'as the relay serves them (no compression)', network: NETWORK, cpu_throttling_rate: CPU_RATE, viewport: `${VIEW_W}x${VIEW_H}`, chromium: context.browser()?.version() ?? null },
    cold: summary(cold),
    warm: summary(warm),
    notes: [...net.state.notes],
  };

  // This build's browser, profile and relay go before the next build.
  for (const f of cleanups.splice(cleanups.indexOf(relay.stop)).reverse()) await f();
  return result;
}

// ---------------------------------------------------------------------------------------------

try {
  const mail = mkdtempSync(path.join(os.tmpdir(), 'postino-first-load-mail-'));
  cleanups.push(() => rmSync(mail, { recursive: true, force: true }));
  mkdirSync(mail, { recursive: true });
  writeMessages(mail, MESSAGES);
  const dovecot = await startDovecot(mail);
  log(`Dovecot on pop3s ${dovecot.pop3s_port}, ${MESSAGES} messages`);

  const results = [];
  for (const dist of dists) {
    const result = await measureBuild(dist, dovecot);
    console.log(JSON.stringify(result));
    results.push(result);
  }

  const kb = (b) => (b == null ? '-' : `${Math.round(b / 1024)} KB`);
  const ms = (v) => (v == null ? '-' : `${v} ms`);
  const rows = [['build', 'cold first rows', 'cold check ready', 'warm first rows', 'warm check ready', 'bytes cold', 'bytes warm']];
  for (const r of results) {
    rows.push([r.label, ms(r.cold.first_rows_ms.median), ms(r.cold.check_ready_ms.median),
      ms(r.warm.first_rows_ms.median), ms(r.warm.check_ready_ms.median), kb(r.cold.bytes.median), kb(r.warm.bytes.median)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  console.log('');
  console.log(`medians of ${RUNS} run(s); 1.6 Mbit/s down, 750 kbit/s up, 150 ms latency, CPU 4x slower; ` +
    `files ${GZIP ? 'gzipped (GZIP=1)' : 'uncompressed, as the relay serves them'}`);
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
} catch (e) {
  console.error(`first_load: ${short(e)}`);
  process.exitCode = 1;
} finally {
  await within('cleanup', cleanup(), 60_000).catch((e) => console.error(`first_load: ${short(e)}`));
  // Nothing of ours may keep the process alive (a child that would not die has been killed).
  process.exit(process.exitCode ?? 0);
}
