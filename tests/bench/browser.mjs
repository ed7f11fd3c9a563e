// Postino in headless Chromium: the real app, through the real relay, TLS in wasm, into
// IndexedDB. Started by postino-bench as one contender; prints one JSON line:
//
//   {"messages":N,"seconds":S,              S runs from "trust this certificate" (the download
//                                           starts) until IndexedDB holds N more summaries
//    "longest_task_ms":T,"long_tasks":C,    main-thread tasks of the page during the download
//                                           (PerformanceObserver 'longtask': over 50 ms each)
//    "long_task_list":[[s,ms],..],          each: seconds from the start, its length
//    "open_ms":{"median","max","tries"},    click on a stored message's row -> the reader shows
//                                           it and a frame went by, while the download runs
//    "open_list":[[s,ms],..],               each open in turn: seconds from the start to its click
//    "peak_memory_mb":{"total","page_js_heap","page_wasm","worker_js_heap","worker_wasm"},
//    "memory_samples":K, "seed":M, "errors":[..]}
//
// The reader opens messages stored before the timed download: first an untimed "seed" account
// (the same mailbox as `localhost`, at most SEED messages per check) stores a few; the timed
// account (`127.0.0.1`) then downloads all N while the list shows the seed's mailbox, whose
// rows are what the reader opens (the new mail shows in the unified inbox as it arrives). The timed download is the same as
// without the seed: a new account, every message new to it.
//
// What the measurements cost the download: the longtask observer is free (the browser records
// long tasks anyway); the memory sample every 500 ms is two CDP calls (Runtime.getHeapUsage of
// page and worker, no GC) and two tiny evaluates (the wasm memories' byteLength), well under
// 1 ms of either thread each time; each open is one real click, one message read from
// IndexedDB and rendered, and one close, OPEN_TRIES times, one second apart.
//
// Chromium is driven through the DevTools protocol alone (cdp.mjs), not Playwright, whose
// Network domain in the worker would copy every WebSocket frame to this process.
//
// Environment: POSTINO_RELAY_BIN, POSTINO_DIST, POP_PORT, POP_USER, POP_PASSWORD, FINGERPRINT,
// MESSAGES, CHROMIUM (default /usr/bin/chromium), SEED (default 12), OPEN_TRIES (default 7);
// for finding where an open's time goes (not set by the bench): PAGE_PROFILE (a path prefix:
// PREFIX-MESSAGES.cpuprofile, a CPU profile of the page's main thread during the timed
// download, 500 µs sampling) and OPEN_DETAIL=1 (each open's read transaction: from the click
// to its creation, to its `complete`, and from there to the reader shown, then each get in it:
// its store, and when it was asked and answered from the transaction's creation; as
// "open_detail" in the JSON line), PAGE_TRACE (a path prefix: PREFIX-MESSAGES.trace.json, a
// Chromium trace of every process during the timed download, with the timeline categories
// that DevTools' Performance panel shows: what the page's long tasks are made of).

import { writeFileSync } from 'node:fs';
import { launch } from './cdp.mjs';
import { CHROMIUM, env, startRelay } from './common.mjs';
const messages = Number(env('MESSAGES'));
const port = env('POP_PORT');
// Not more than the mailbox holds (a seed account stores at most that).
const SEED = Math.min(Number(process.env.SEED ?? 12), messages);
const OPEN_TRIES = Number(process.env.OPEN_TRIES ?? 7);
const errors = [];
const short = (e) => String(e?.message ?? e).split('\n')[0].slice(0, 160);

const { url, stop: stopRelay } = await startRelay([
  '--allow', `127.0.0.1:${port}`, '--allow', `localhost:${port}`,
]);

const browser = await launch(CHROMIUM);
try {
  const page = await browser.newPage();
  // Before any script of the app: long tasks from the start (buffered), and the page's wasm
  // exports (Trunk's loader hands them to this event; `window.wasmBindings` has no memory).
  await page.addInitScript(() => {
    window.__bench = { tasks: [], wasm: null };
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__bench.tasks.push([e.startTime, e.duration]);
      }).observe({ type: 'longtask', buffered: true });
    } catch (e) {
      window.__bench.observerError = String(e);
    }
    addEventListener('TrunkApplicationStarted', (e) => {
      window.__bench.wasm = e.detail?.wasm ?? null;
    });
    // The hardware time stamp of the latest real click: an open is timed from there, so that
    // a click waiting behind a busy main thread counts.
    addEventListener('click', (e) => { window.__bench.clickAt = e.timeStamp; }, true);
  });
  const OPEN_DETAIL = process.env.OPEN_DETAIL === '1';
  if (OPEN_DETAIL) {
    // The page's readonly transactions over `packs` (the reader's reads): created, completed.
    await page.addInitScript(() => {
      window.__bench.reads = [];
      const transaction = IDBDatabase.prototype.transaction;
      IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
        const tx = transaction.call(this, stores, mode, ...rest);
        const names = [].concat(stores);
        if ((mode ?? 'readonly') === 'readonly' && names.includes('packs')) {
          const read = [performance.now(), null, []];
          window.__bench.reads.push(read);
          tx.__read = read;
          tx.addEventListener('complete', () => { read[1] = performance.now(); });
        }
        return tx;
      };
      // Each get of such a transaction: its store, when asked, when answered.
      const get = IDBObjectStore.prototype.get;
      IDBObjectStore.prototype.get = function (...args) {
        const request = get.apply(this, args);
        const read = this.transaction.__read;
        if (read) {
          const one = [this.name, performance.now(), null];
          read[2].push(one);
          request.addEventListener('success', () => { one[2] = performance.now(); });
        }
        return request;
      };
    });
  }
  // The engine's worker (the page's session auto-attaches to its workers): started from
  // web/engine-loader.js (Trunk's postino-engine_loader.js in older builds).
  const engine = () => page.worker(/engine-loader|postino-engine/);
  let workerSeen = false;

  const count = () =>
    page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open('postino');
          open.onerror = () => resolve(0);
          open.onsuccess = () => {
            const db = open.result;
            try {
              const request = db.transaction('summaries').objectStore('summaries').count();
              request.onsuccess = () => {
                db.close();
                resolve(request.result);
              };
              request.onerror = () => {
                db.close();
                resolve(0);
              };
            } catch {
              db.close();
              resolve(0);
            }
          };
        }),
    );
  // The timed download runs; when its first check's question showed (the survey's share of
  // the time) and when its first message was stored.
  let downloading = false;
  let askedAt = null;
  let firstStoredAt = null;
  const waitStored = async (want, what, ms = 1_800_000) => {
    const deadline = Date.now() + ms;
    let stored;
    while ((stored = await count()) < want) {
      if (stored > seed && firstStoredAt === null && downloading) firstStoredAt = performance.now();
      if (Date.now() > deadline) throw new Error(`${what}: only ${stored} of ${want} stored in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return stored;
  };

  // Fills the account form and asks for the server's certificate; returns once it is shown.
  const addAccount = async (host, maxPerSession) => {
    await page.waitFor('#account-form');
    await page.fill('#host', host);
    await page.fill('#port', port);
    await page.select('#security', 'tls');
    await page.fill('#user', env('POP_USER'));
    await page.fill('#password', env('POP_PASSWORD'));
    // In a folded part of the form: set as the form reads it (the value on submit).
    await page.evaluate((n) => {
      const input = document.querySelector('#max-per-session');
      if (input) input.value = n;
    }, maxPerSession);
    await page.click('#add-account');
    await page.waitFor('#cert-prompt .fingerprint');
    if ((await page.textContent('#cert-prompt .fingerprint')).trim() !== env('FINGERPRINT')) {
      throw new Error('the certificate prompt shows another fingerprint');
    }
  };

  // The first check of a mailbox of more than 25 messages asks how much: everything (the
  // question and the listing it needs are timed with the download).
  const everything = async (shown = () => {}) => {
    await page.waitFor('#first-check-go', 300_000);
    shown();
    await page.check('#first-check-everything');
    await page.click('#first-check-go');
  };

  await page.goto(url);
  let seed = 0;
  if (SEED > 0) {
    await addAccount('localhost', String(SEED));
    await page.click('#trust-cert');
    // The question counts the mailbox, not the account's limit per check.
    if (messages > 25) await everything();
    seed = await waitStored(SEED, 'the seed account', 300_000);
    console.error(`browser.mjs: ${seed} messages stored by the seed account`);
    await page.waitFor('#messages .message-row');
    await page.click('#new-account');
  }
  await addAccount('127.0.0.1', '');
  console.error('browser.mjs: the timed download starts');

  downloading = true;
  if (process.env.PAGE_PROFILE) {
    await page.send('Profiler.enable');
    await page.send('Profiler.setSamplingInterval', { interval: 500 });
    await page.send('Profiler.start');
  }
  if (process.env.PAGE_TRACE) {
    await browser.startTracing([
      'toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute',
      'blink.user_timing', 'loading',
    ]);
  }
  const since = await page.evaluate(() => performance.now());
  const started = performance.now();
  await page.click('#trust-cert');
  if (messages > 25) {
    everything(() => { askedAt = performance.now(); })
      .catch((e) => errors.push(`first check: ${short(e)}`));
  }

  // Memory, every 500 ms: each part's peak and the peak of their sum.
  const peak = { total: 0, page_js_heap: 0, page_wasm: 0, worker_js_heap: 0, worker_wasm: 0 };
  const failedParts = new Set();
  let samples = 0;
  const MB = 1024 * 1024;
  const sampler = (async () => {
    while (downloading) {
      const part = async (name, f) => {
        try {
          const v = (await f()) ?? 0;
          peak[name] = Math.max(peak[name], v / MB);
          return v;
        } catch (e) {
          if (!failedParts.has(name)) errors.push(`${name}: ${short(e)}`);
          failedParts.add(name);
          return 0;
        }
      };
      const worker = engine();
      workerSeen ||= !!worker;
      const parts = await Promise.all([
        part('page_js_heap', async () => (await page.send('Runtime.getHeapUsage')).usedSize),
        part('page_wasm', () => page.evaluate(() => window.__bench.wasm?.memory?.buffer.byteLength ?? 0)),
        part('worker_js_heap', async () => (worker ? (await worker.send('Runtime.getHeapUsage')).usedSize : 0)),
        // The no-modules bindings hand back the instance's exports once loaded.
        part('worker_wasm', async () =>
          worker ? worker.evaluate(async () => (await wasm_bindgen()).memory.buffer.byteLength) : 0),
      ]);
      samples++;
      peak.total = Math.max(peak.total, parts.reduce((a, b) => a + b, 0) / MB);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();

  // Opens a stored message's row with a real click, OPEN_TRIES times during the download.
  const opens = [];
  const openAt = [];
  const openDetail = [];
  const opener = (async () => {
    try {
      // The seed account's mailbox only. New mail now shows in the list while it downloads, so
      // the first rows of the unified inbox are the newest of the timed download, 1-4 MB ones
      // among them; opening those would time the reader on a large message, where the figure
      // is about the page staying responsive (and compares with runs before that change).
      if (SEED > 0) {
        await page.evaluate(() => {
          const select = document.querySelector('#mailbox');
          const seed = [...(select?.options ?? [])].find((o) => /localhost/.test(o.textContent));
          if (!seed) throw new Error('no mailbox of the seed account to choose');
          select.value = seed.value;
          select.dispatchEvent(new Event('change', { bubbles: true }));
        });
      }
      const rows = '#messages .message-row';
      for (let i = 0; i < OPEN_TRIES && downloading; i++) {
        await new Promise((r) => setTimeout(r, 1_000));
        if (!downloading) break;
        const n = await page.count(rows);
        if (n === 0) throw new Error('no .message-row in #messages during the download');
        // Armed before the click: notes when #reader shows this row's subject, then a frame.
        await page.evaluate((s, nth) => {
          const el = document.querySelectorAll(s)[nth];
          const want = el.querySelector('.subject')?.textContent;
          window.__bench.opened = null;
          window.__bench.clickAt = null;
          const shown = () => document.querySelector('#reader .subject')?.textContent === want;
          const done = () => {
            observer.disconnect();
            requestAnimationFrame(() => setTimeout(() => { window.__bench.opened = performance.now(); }));
          };
          const observer = new MutationObserver(() => shown() && done());
          observer.observe(document.body, { childList: true, subtree: true, characterData: true });
        }, rows, i % n);
        await page.click(rows, 30_000, i % n);
        const value = await page.waitForFunction(30_000,
          () => window.__bench.opened != null && window.__bench.clickAt != null
            && window.__bench.opened - window.__bench.clickAt);
        if (!downloading) break; // the download ended meanwhile: not "during"
        opens.push(value);
        openAt.push((await page.evaluate(() => window.__bench.clickAt) - since) / 1000);
        if (OPEN_DETAIL) {
          // The first read after the click: [click to created, created to complete, complete
          // to shown, [[store, asked, answered] of each get, from created]], milliseconds.
          openDetail.push(await page.evaluate(() => {
            const b = window.__bench;
            const read = b.reads.find(([created]) => created >= b.clickAt);
            if (!read || read[1] === null) return null;
            const ms = (v) => Math.round(v - read[0]);
            return [read[0] - b.clickAt, read[1] - read[0], b.opened - read[1]].map((v) => Math.round(v))
              .concat([read[2].map(([store, asked, answered]) => [store, ms(asked), answered === null ? null : ms(answered)])]);
          }));
        }
        await page.click('#reader button.close', 30_000);
        await page.waitFor('#reader', 30_000, true);
      }
    } catch (e) {
      if (downloading) errors.push(`open a message: ${short(e)}`);
    }
  })();

  let stored;
  try {
    stored = await waitStored(seed + messages, 'the download');
  } finally {
    downloading = false;
  }
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([sampler, opener]);
  if (process.env.PAGE_PROFILE) {
    const { profile } = await page.send('Profiler.stop');
    writeFileSync(`${process.env.PAGE_PROFILE}-${messages}.cpuprofile`, JSON.stringify(profile));
  }
  if (process.env.PAGE_TRACE) {
    const traceEvents = await browser.stopTracing();
    writeFileSync(`${process.env.PAGE_TRACE}-${messages}.trace.json`, JSON.stringify({ traceEvents }));
  }
  const tasks = await page.evaluate((since) => {
    if (window.__bench.observerError) return { error: window.__bench.observerError };
    return { list: window.__bench.tasks.filter(([start, duration]) => start + duration >= since) };
  }, since);
  if (tasks.error) errors.push(`longtask observer: ${tasks.error}`);
  const durations = (tasks.list ?? []).map(([, d]) => d);
  const sorted = [...opens].sort((a, b) => a - b);
  const round = (v) => Math.round(v * 10) / 10;
  if (!workerSeen) peak.worker_js_heap = peak.worker_wasm = 0; // no engine worker (an older app)
  console.log(JSON.stringify({
    messages: stored - seed,
    seconds,
    seed,
    // Seconds from the start: the first check's question shown, the first message stored.
    asked_s: askedAt === null ? null : round((askedAt - started) / 1000),
    first_stored_s: firstStoredAt === null ? null : round((firstStoredAt - started) / 1000),
    longest_task_ms: tasks.error ? null : round(Math.max(0, ...durations)),
    long_tasks: tasks.error ? null : durations.length,
    // Each long task: seconds from the start, and milliseconds.
    long_task_list: tasks.error ? null : (tasks.list ?? []).map(([start, d]) => [round((start - since) / 1000), round(d)]),
    // Each open in turn: seconds from the start to its click, and milliseconds.
    open_list: opens.map((ms, i) => [round(openAt[i]), round(ms)]),
    ...(OPEN_DETAIL ? { open_detail: openDetail } : {}),
    open_ms: sorted.length
      ? { median: round(sorted[Math.floor(sorted.length / 2)]), max: round(sorted.at(-1)), tries: sorted.map(round) }
      : null,
    peak_memory_mb: Object.fromEntries(
      Object.entries(peak).map(([k, v]) => [k, failedParts.has(k) ? null : round(v)])),
    worker: workerSeen,
    memory_samples: samples,
    errors,
  }));
} catch (e) {
  // One line last on standard error: the bench shows the tail of a failed run.
  console.error(`browser.mjs: ${short(e)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  stopRelay();
}
