// A CPU profile of the engine worker (and of the page's main thread) during one real download:
// Dovecot (postino-testkit) with the .eml files of MAIL, the relay serving DIST, headless
// Chromium, a new account over TLS; CDP's Profiler runs in the worker and in the page from just
// before "trust this certificate" until the worker has committed every message.
//
// Besides the profiles, the worker is instrumented (through CDP, before the download; nothing in
// the app is changed): every readwrite IndexedDB transaction (stores, durability, puts per store,
// time from creation to `complete`), WebSocket messages and bytes received and the time spent in
// their handler, and postMessage calls to the page.
//
// For readable wasm frames, DIST must hold an engine built without stripping names:
//   CARGO_TARGET_DIR=target/hprof cargo build -p postino-engine --bin postino-engine \
//     --profile wasm-release --target wasm32-unknown-unknown
//   wasm-bindgen --target no-modules --keep-debug --out-dir OUT_BG .../postino-engine.wasm
// then a copy of dist/ with those two files in place of postino-engine.js / _bg.wasm (and their
// .br/.gz removed, or the relay serves those). Open the .cpuprofile files in DevTools.
// Also reported, from /proc (Linux): CPU seconds and seconds runnable-but-waiting-for-a-CPU of
// every thread of this process's descendants (Chromium, relay, Dovecot), and the machine's.
//
// Usage: node tests/bench/profile_worker.mjs   (from the repository root; MAIL from
//   `target/release/postino-bench --write-mail target/mail3000 3000`, the bench's own mailbox)
// Environment: MAIL (folder of .eml, required), DIST (default dist), OUT (default
// target/profile-worker), NAME (file prefix, default "run"), INTERVAL_US (sampling, default 200),
// CPU (1: profile, 0: only time and instrument), INSTRUMENT (light | full, see below),
// DURABILITY (strict | relaxed: overrides what the app asks, an experiment), RELAY_BIN and
// TESTKIT_BIN (default target/debug/...), CHROMIUM, CHROMIUM_ARGS (more flags, an experiment),
// DELAY_MS (see below), TAIL_MS (see below), PROBE_MS (see below), TRACE (Chromium trace categories, e.g.
// "toplevel,ipc,mojom": a trace of every process during the download, OUT/NAME.trace.json, and
// a table of the longest-running task sources per thread).
// Writes OUT/NAME.worker.cpuprofile, OUT/NAME.page.cpuprofile and OUT/NAME.json; prints a summary.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chromium } from '../e2e/node_modules/playwright-core/index.mjs';
import { launch } from './cdp.mjs';
import { CHROMIUM } from './common.mjs';

const MAIL = process.env.MAIL;
if (!MAIL) throw new Error('MAIL (a folder of .eml files) is not set');
const DIST = process.env.DIST || 'dist';
const OUT = process.env.OUT || 'target/profile-worker';
const NAME = process.env.NAME || 'run';
const INTERVAL_US = Number(process.env.INTERVAL_US || 200);
const CPU = process.env.CPU !== '0';
// INSTRUMENT=full also wraps every put and the WebSocket handler (costs the worker ~5%: use it for
// the IndexedDB figures, not for the profile); light wraps transactions and postMessage only.
const FULL = process.env.INSTRUMENT === 'full';
const TRACE = process.env.TRACE || '';
const MESSAGES = readdirSync(MAIL).filter((f) => f.endsWith('.eml')).length;
mkdirSync(OUT, { recursive: true });

// CPU time of every thread of the given processes and their descendants (schedstat: ns on a CPU
// and ns runnable but waiting for one), to see who else was busy and how much the machine's other
// load delayed them.
const procSnapshot = (roots) => {
  const ppid = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      ppid.set(Number(d), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const set = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, pp] of ppid) if (set.has(pp) && !set.has(pid)) { set.add(pid); grew = true; }
  }
  const threads = new Map();
  for (const pid of set) {
    let pcomm = '?';
    try { pcomm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { continue; }
    let cmd = '';
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch {}
    const type = (cmd.match(/--type=([a-z-]+)/) || [])[1] || (cmd.match(/--utility-sub-type=([\w.]+)/) || [])[1];
    const pname = type ? `${pcomm} (${type}${/network/i.test(cmd) ? ' network' : ''})` : pcomm;
    let tids = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        threads.set(`${pid}/${tid}`, { pname, comm, run, wait });
      } catch {}
    }
  }
  return threads;
};
const machine = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
const cpuDelta = (a, b, seconds) => {
  const byProc = new Map();
  const byThread = [];
  for (const [k, t] of b) {
    const o = a.get(k) || { run: 0, wait: 0 };
    const run = (t.run - o.run) / 1e9, wait = (t.wait - o.wait) / 1e9;
    if (run < 0.005 && wait < 0.005) continue;
    const p = byProc.get(t.pname) || { cpu_s: 0, runnable_wait_s: 0 };
    p.cpu_s += run; p.runnable_wait_s += wait;
    byProc.set(t.pname, p);
    byThread.push({ process: t.pname, thread: t.comm, cpu_s: +run.toFixed(2), runnable_wait_s: +wait.toFixed(2) });
  }
  byThread.sort((x, y) => y.cpu_s - x.cpu_s);
  return {
    processes: Object.fromEntries([...byProc].sort((x, y) => y[1].cpu_s - x[1].cpu_s)
      .map(([k, v]) => [k, { cpu_s: +v.cpu_s.toFixed(2), runnable_wait_s: +v.runnable_wait_s.toFixed(2) }])),
    threads: byThread.slice(0, 15),
  };
};

const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
/** Spawns `bin args`, resolves with the first stdout line matching `re` (its match). */
const start = (bin, args, re, keepStdin = false) => new Promise((resolve, reject) => {
  const child = spawn(bin, args, { stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => { const m = line.match(re); if (m) resolve({ child, m }); });
  child.once('exit', (code) => reject(new Error(`${bin} exited with ${code}`)));
});

const password = randomBytes(9).toString('base64url');
const dovecot = await start(process.env.TESTKIT_BIN || 'target/debug/postino-testkit',
  ['dovecot', '--fixtures', MAIL, '--user', 'alice', '--password', password], /^(\{.*\})$/, true);
const pop = JSON.parse(dovecot.m[1]);
// DELAY_MS: a proxy between the relay and Dovecot that delays every chunk by this much each way
// (the bench's 50 ms round trip is DELAY_MS=25), for a timeline of round trips.
const DELAY_MS = Number(process.env.DELAY_MS || 0);
let popPort = pop.pop3s_port;
if (DELAY_MS > 0) {
  const { createServer, connect } = await import('node:net');
  // Bytes and the end of each direction are delayed alike, so nothing sent before an end is lost.
  const delayed = (from, to) => {
    from.on('data', (chunk) => setTimeout(() => to.write(chunk), DELAY_MS));
    from.on('end', () => setTimeout(() => to.end(), DELAY_MS));
  };
  const proxy = createServer((client) => {
    const server = connect(pop.pop3s_port, '127.0.0.1');
    client.setNoDelay(true);
    server.setNoDelay(true);
    delayed(client, server);
    delayed(server, client);
    const broken = () => { client.destroy(); server.destroy(); };
    client.on('error', broken);
    server.on('error', broken);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  popPort = proxy.address().port;
  proxy.unref();
}
const relay = await start(process.env.RELAY_BIN || 'target/debug/postino-relay',
  ['--listen', '127.0.0.1:0', '--dist', DIST, '--allow', `127.0.0.1:${popPort}`],
  /listening on (http:\/\/\S+)/);
const url = relay.m[1].replace(/\/$/, '');

// Runs in the worker (Runtime.evaluate) before the download.
function instrument(full, durability) {
  const p = (self.__prof = {
    tx: [], puts: {}, ws: { messages: 0, bytes: 0, handlerMs: 0, maxMessage: 0, sent: 0 },
    posts: 0, summariesCommitted: 0, messageCommits: 0, lastCommit: 0,
    // INSTRUMENT=full: [time, 'send' | 'recv' | 'tx', bytes or stores] of every WebSocket
    // frame and readwrite transaction, in NAME.json (a timeline of round trips and commits).
    timeline: [],
  });
  const now = () => performance.timeOrigin + performance.now();
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, options) {
    // An experiment, not a change of the app: DURABILITY=relaxed|strict overrides what it asks.
    if (durability && mode === 'readwrite') options = { ...options, durability };
    const tx = transaction.call(this, stores, mode, options);
    if (mode === 'readwrite') {
      const rec = { stores: [].concat(stores).join(','), durability: options?.durability ?? 'default',
        start: now(), puts: 0, summaries: 0, firstPutAt: 0, lastPutAt: 0, ms: -1 };
      tx.__rec = rec;
      p.tx.push(rec);
      p.timeline.push([rec.start, 'tx', rec.stores]);
      tx.addEventListener('complete', () => {
        rec.end = now();
        rec.ms = rec.end - rec.start;
        p.summariesCommitted += rec.summaries;
        if (rec.stores.startsWith('ledger,summaries,messages')) { p.messageCommits++; p.lastCommit = rec.end; }
      });
    }
    return tx;
  };
  if (!full) return true;
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function () {
    const rec = this.transaction.__rec;
    const t0 = now();
    try { return put.apply(this, arguments); } finally {
      const t1 = now();
      const s = (p.puts[this.name] ??= { n: 0, ms: 0 });
      s.n++; s.ms += t1 - t0;
      if (rec) {
        rec.puts++; if (this.name === 'summaries') rec.summaries++;
        rec.firstPutAt ||= t0; rec.lastPutAt = t1;
      }
    }
  };
  const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    get() { return d.get.call(this); },
    set(h) {
      d.set.call(this, h && function (ev) {
        const n = ev.data?.byteLength ?? 0;
        p.ws.messages++; p.ws.bytes += n; p.ws.maxMessage = Math.max(p.ws.maxMessage, n);
        p.timeline.push([now(), 'recv', n]);
        const t0 = performance.now();
        try { return h.call(this, ev); } finally { p.ws.handlerMs += performance.now() - t0; }
      });
    },
  });
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    p.ws.sent++;
    p.timeline.push([now(), 'send', data?.byteLength ?? 0]);
    return send.apply(this, arguments);
  };
  // A [Global] interface's operations live on the global object itself, not its prototype.
  const post = self.postMessage;
  self.postMessage = function () { p.posts++; return post.apply(this, arguments); };
  return true;
}

// The same small API (cdp.mjs) over Playwright.
async function playwrightBrowser() {
  const browser = await chromium.launch(launchOptions);
  return {
    async newPage() {
      const page = await browser.newPage();
      const cdp = await page.context().newCDPSession(page);
      return {
        send: (m, p) => cdp.send(m, p),
        goto: (url) => page.goto(url),
        addInitScript: (f) => page.addInitScript(f),
        waitFor: (s, ms = 60_000) => page.locator(s).waitFor({ timeout: ms }),
        fill: (s, v) => page.fill(s, v),
        select: (s, v) => page.selectOption(s, v),
        click: (s) => page.click(s),
        check: (s) => page.check(s),
        textContent: (s) => page.locator(s).textContent(),
        evaluate: (f, ...a) => page.evaluate(f, ...a),
        worker: (pattern) => {
          const w = page.workers().find((w) => pattern.test(w.url()));
          return w && { evaluate: (e) => w.evaluate(e), send: () => { throw new Error('not with PLAYWRIGHT=1'); } };
        },
      };
    },
    startTracing: (categories) => browser.startTracing(undefined, { categories }),
    stopTracing: async () => { const t = JSON.parse((await browser.stopTracing()).toString()); return t.traceEvents ?? t; },
    close: () => browser.close(),
  };
}

// Per thread, the task sources that ran longest: top-level tasks (complete events of the
// "toplevel" category) by where they were posted from.
function traceTasks(events) {
  const names = new Map();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}/${e.tid}`, e.args.name);
    if (e.ph === 'M' && e.name === 'process_name') names.set(`${e.pid}`, e.args.name);
  }
  const by = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !String(e.cat).includes('toplevel') || !e.dur) continue;
    const thread = `${names.get(`${e.pid}`) ?? e.pid}/${names.get(`${e.pid}/${e.tid}`) ?? e.tid}`;
    const from = e.args?.src_file ? `${e.args.src_file}:${e.args.src_func ?? ''}`
      : e.args?.task?.posted_from?.file_name ?? e.name;
    const t = by.get(thread) ?? new Map();
    by.set(thread, t);
    t.set(from, (t.get(from) ?? 0) + (e.tdur ?? e.dur) / 1e6);
  }
  return [...by].map(([thread, t]) => ({
    thread, seconds: +[...t.values()].reduce((a, b) => a + b, 0).toFixed(2),
    top: [...t].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${v.toFixed(2)} ${k}`),
  })).sort((a, b) => b.seconds - a.seconds).slice(0, 12);
}

// PLAYWRIGHT=1 drives the page with Playwright instead (as this script did before): to measure
// what its Network instrumentation of the worker costs a download.
// CHROMIUM_ARGS: more command-line flags for Chromium, an experiment (e.g. a feature off).
const launchOptions = { ...CHROMIUM, args: [...CHROMIUM.args, ...(process.env.CHROMIUM_ARGS || '').split(' ').filter(Boolean)] };
const browser = process.env.PLAYWRIGHT === '1' ? await playwrightBrowser() : await launch(launchOptions);
const result = { messages: MESSAGES, interval_us: INTERVAL_US, cpu: CPU, dist: DIST, durability_override: process.env.DURABILITY || null, driver: process.env.PLAYWRIGHT === '1' ? 'playwright' : 'cdp' };
let page;
try {
  page = await browser.newPage();
  const worker = async () => {
    for (let i = 0; i < 100; i++) {
      const w = page.worker(/engine/);
      if (w) return w;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no engine worker attached');
  };
  const inWorker = async (method, params = {}, ms = 120_000) => (await worker()).send(method, params, ms);
  const workerEval = async (expression) => (await worker()).evaluate(expression);

  const storedCount = () => page.evaluate(() => new Promise((resolve) => {
    const open = indexedDB.open('postino');
    open.onsuccess = () => {
      const db = open.result;
      const r = db.transaction('summaries').objectStore('summaries').count();
      r.onsuccess = () => { db.close(); resolve(r.result); };
    };
  }));
  // The page's long tasks (over 50 ms), from the start: [start, duration] in ms since the
  // click, in NAME.json.
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push([performance.timeOrigin + e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(url);
  await page.waitFor('#account-form');
  await page.fill('#host', '127.0.0.1');
  await page.fill('#port', String(popPort));
  await page.select('#security', 'tls');
  await page.fill('#user', 'alice');
  await page.fill('#password', password);
  await page.click('#add-account');
  await page.waitFor('#cert-prompt .fingerprint');
  if ((await page.textContent('#cert-prompt .fingerprint')).trim() !== pop.fingerprint) throw new Error('another fingerprint');
  await workerEval(`(${instrument})(${FULL}, ${JSON.stringify(process.env.DURABILITY || '')})`);

  if (CPU) {
    for (const send of [(m, p) => page.send(m, p), (m, p) => inWorker(m, p)]) {
      await send('Profiler.enable');
      await send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
    }
    await Promise.all([page.send('Profiler.start'), inWorker('Profiler.start')]);
  }
  if (TRACE) await browser.startTracing(TRACE.split(','));
  const roots = [process.pid]; // this driver, Chromium, the relay, Dovecot: all its descendants
  const [proc0, machine0] = [procSnapshot(roots), machine()];
  // PROBE_MS: every PROBE_MS from the page, one read of the stores a reader opens a message
  // from (a key that is not there: the read itself costs nothing), timed from the request to
  // its success: how long the page's reads wait behind the engine's commits.
  const PROBE_MS = Number(process.env.PROBE_MS || 0);
  if (PROBE_MS) {
    await page.evaluate((every) => {
      window.__probe = [];
      const open = indexedDB.open('postino');
      open.onsuccess = () => {
        const db = open.result;
        const tick = () => {
          if (window.__probeStop) return db.close();
          const t0 = performance.now();
          const r = db.transaction(['summaries', 'packs', 'messages']).objectStore('packs').get('none');
          r.onsuccess = () => { window.__probe.push([t0, performance.now() - t0]); setTimeout(tick, every); };
          r.onerror = () => setTimeout(tick, every);
        };
        tick();
      };
    }, PROBE_MS);
  }
  const clickAt = await page.evaluate(() => performance.timeOrigin + performance.now());
  await page.click('#trust-cert');
  // A first check of more than 25 messages asks how much: everything.
  await page.waitFor("#first-check-go", Number(process.env.ASK_MS || 300_000));
  await page.check('#first-check-everything');
  await page.click('#first-check-go');
  // Done when the worker saw `complete` of transactions holding every summary (no IndexedDB
  // reads of our own that would queue behind or in front of the engine's writes).
  const deadline = Date.now() + 1_800_000;
  let committed = 0;
  let seenCommits = 0;
  for (;;) {
    if (FULL) {
      committed = await workerEval('self.__prof.summariesCommitted');
    } else {
      // Counted in IndexedDB only after a new commit completed: few reads of our own.
      const commits = await workerEval('self.__prof.messageCommits');
      if (commits !== seenCommits) { seenCommits = commits; committed = await storedCount(); }
    }
    if (committed >= MESSAGES) break;
    if (Date.now() > deadline) throw new Error(`only ${committed} of ${MESSAGES} committed in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stoppedAt = Date.now();
  if (PROBE_MS) {
    // The reads made while messages were being committed (after the first commit began).
    const firstCommit = await workerEval(
      "Math.min(...self.__prof.tx.filter((t) => t.stores.startsWith('ledger,summaries,messages')).map((t) => t.start))");
    const probe = await page.evaluate((since) => {
      window.__probeStop = true;
      return window.__probe.filter(([t0]) => performance.timeOrigin + t0 >= since).map(([, ms]) => ms);
    }, firstCommit);
    const sorted = [...probe].sort((a, b) => a - b);
    const at = (q) => +sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))].toFixed(1);
    result.page_read_wait_ms = { reads: sorted.length, median: at(0.5), p90: at(0.9), max: at(1) };
  }
  // TAIL_MS: go on (profiling) this long after the last commit, to see the check's end in the
  // page (the list read again and rendered).
  await new Promise((r) => setTimeout(r, Number(process.env.TAIL_MS || 0)));
  const [proc1, machine1] = [procSnapshot(roots), machine()];
  let profiles = [];
  if (CPU) {
    profiles = await Promise.all([inWorker('Profiler.stop'), page.send('Profiler.stop')]);
  }
  if (TRACE) {
    const events = await browser.stopTracing();
    writeFileSync(`${OUT}/${NAME}.trace.json`, JSON.stringify(events));
    result.trace_tasks = traceTasks(events);
  }
  const prof = await workerEval('self.__prof');
  result.seconds = (prof.lastCommit - clickAt) / 1000;
  result.poll_lag_ms = Math.round(stoppedAt - prof.lastCommit);
  const rw = prof.tx.filter((t) => t.start >= clickAt);
  const commits = rw.filter((t) => t.stores.startsWith('ledger,summaries,messages'));
  const ms = commits.map((t) => t.ms).sort((a, b) => a - b);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  // Time with at least one message commit in flight (union of their intervals).
  let covered = 0, until = 0;
  for (const t of [...commits].sort((a, b) => a.start - b.start)) {
    const s = Math.max(t.start, until);
    if (t.end > s) { covered += t.end - s; until = t.end; }
  }
  result.commits = {
    transactions: commits.length, messages_per_tx: +(MESSAGES / commits.length).toFixed(1),
    stores: [...new Set(commits.map((t) => t.stores))], durability: [...new Set(commits.map((t) => t.durability))],
    ms_median: +ms[ms.length >> 1].toFixed(1), ms_p90: +ms[Math.floor(ms.length * 0.9)].toFixed(1),
    ms_max: +ms.at(-1).toFixed(1), ms_total: Math.round(sum(ms)),
    puts_issue_ms_total: Math.round(sum(commits.map((t) => t.lastPutAt - t.firstPutAt))),
    seconds_with_a_commit_in_flight: +(covered / 1000).toFixed(2),
  };
  const others = rw.filter((t) => !t.stores.startsWith('ledger,summaries,messages'));
  result.other_readwrite = {
    transactions: others.length, stores: [...new Set(others.map((t) => t.stores))],
    ms_total: Math.round(sum(others.map((t) => Math.max(t.ms, 0)))),
  };
  result.puts = prof.puts;
  result.websocket = { ...prof.ws, handlerMs: Math.round(prof.ws.handlerMs), mean_message: Math.round(prof.ws.bytes / prof.ws.messages) };
  result.posts_to_page = prof.posts;
  result.stored = await storedCount();
  result.page_long_tasks = (await page.evaluate(() => window.__longTasks))
    .filter(([start]) => start >= clickAt)
    .map(([start, ms]) => [+((start - clickAt) / 1000).toFixed(3), Math.round(ms)]);
  result.cpu_seconds = cpuDelta(proc0, proc1, result.seconds);
  // /proc/stat: user nice system idle iowait irq softirq steal, in USER_HZ (100/s).
  const d = machine1.map((v, i) => (v - machine0[i]) / 100);
  result.machine = { busy_cpu_s: +(d[0] + d[1] + d[2] + d[5] + d[6]).toFixed(1), idle_cpu_s: +(d[3] + d[4]).toFixed(1) };
  if (CPU) {
    writeFileSync(`${OUT}/${NAME}.worker.cpuprofile`, JSON.stringify(profiles[0].profile));
    writeFileSync(`${OUT}/${NAME}.page.cpuprofile`, JSON.stringify(profiles[1].profile));
    result.profile_seconds = { worker: (profiles[0].profile.endTime - profiles[0].profile.startTime) / 1e6,
      page: (profiles[1].profile.endTime - profiles[1].profile.startTime) / 1e6 };
  }
  writeFileSync(`${OUT}/${NAME}.json`, JSON.stringify({ ...result, tx: rw,
    timeline: prof.timeline.map(([t, what, n]) => [+((t - clickAt) / 1000).toFixed(4), what, n]) }, null, 1));
  console.log(JSON.stringify(result, null, 1));
} catch (e) {
  // What the page said, to tell a broken run from a slow one.
  const said = await page?.evaluate(() => document.body.innerText.slice(0, 600)).catch(() => '');
  console.error(`profile_worker.mjs: ${e.message}\nthe page said: ${said}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  relay.child.kill('SIGTERM');
  // The testkit stops Dovecot when its stdin ends: wait for that, or Dovecot outlives us.
  const stopped = new Promise((r) => { dovecot.child.once('exit', r); setTimeout(r, 10_000); });
  dovecot.child.stdin.end();
  if (dovecot.child.exitCode === null) await stopped;
}
