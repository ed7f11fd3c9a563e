// The app with many stored messages, in headless Chromium (issue 8, scenario 4): time to the
// first list row, scroll frame time, the search index's build, offline search. Started by
// postino-bench once per run; seeds IndexedDB directly (a fresh profile on disk each time) with
// MESSAGES generated messages, then measures. Prints one JSON line:
//
//   {"measures": [{"quantity", "unit", "contender", "value"} | {..., "failed": why}],
//    "notes": [...], "missing": [contract items the app lacks]}
//
// A measure whose correctness check fails (a wrong hit count, a list that does not show every
// message) is "failed", never a value. The exit status is non-zero only when the bench itself
// could not run (no relay, no browser).
//
// The app's side of the contract: IndexedDB `postino` with stores `summaries` and `messages`;
// `#messages` is the list's scroll container with rows `.message-row` (virtualized), and
// carries `data-total` (messages in the current view) and `data-query` (the search whose results
// are shown); `<html data-index-pending="N">` counts stored messages not yet in the search index.
//
// Environment: POSTINO_RELAY_BIN, POSTINO_DIST, MESSAGES (default 100000), CHROMIUM (default
// /usr/bin/chromium).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from '../e2e/node_modules/playwright-core/index.mjs';

import { CHROMIUM, env, startRelay } from './common.mjs';

const MESSAGES = Number(process.env.MESSAGES || 100_000);
const SEED = 0x0905_71e0;
/** Messages per IndexedDB transaction while seeding. */
const CHUNK = 5_000;
/** A word in about one message in 4,000: a search with few hits. Both counts are checked. */
const RARE = 'quetzal';
/** A word in about one message in ten: a search with many hits. */
const COMMON = 'invoice';
const CONTENDER = 'Postino app';

const APP_START_MS = 60_000;
const FIRST_ROW_MS = 300_000;
/** How long an attribute of the contract may take to appear once the list is shown. */
const CONTRACT_MS = 15_000;
/** The index must make progress at least this often, and be done within INDEX_TOTAL_MS. */
const INDEX_STALL_MS = 60_000;
const INDEX_TOTAL_MS = 1_200_000;
const SEARCH_MS = 30_000;
const SCROLL_MS = 3_000;

const began = Date.now();
/** Progress, on standard error (standard output is the result). */
const log = (what) => console.error(`app.mjs: ${((Date.now() - began) / 1000).toFixed(1)} s: ${what}`);

const measures = [];
const notes = [];
const missing = [];
const value = (quantity, unit, v) => measures.push({ quantity, unit, contender: CONTENDER, value: v });
const failed = (quantity, unit, why) =>
  measures.push({ quantity, unit, contender: CONTENDER, failed: why });
const lack = (item) => {
  if (!missing.includes(item)) missing.push(item);
  return `the app lacks contract item ${item}`;
};

// ---------------------------------------------------------------------------------------------
// The relay, serving the built app.

const { url, stop: stopRelay } = await startRelay();
const profile = mkdtempSync(path.join(os.tmpdir(), 'postino-bench-app-'));
const cleanup = () => {
  stopRelay();
  rmSync(profile, { recursive: true, force: true });
};
process.on('exit', cleanup);

// A profile on disk, as an installed app has (IndexedDB of an incognito context is in memory).
const context = await chromium.launchPersistentContext(profile, {
  ...CHROMIUM,
  viewport: { width: 1280, height: 800 },
});
try {
  const page = context.pages()[0] || (await context.newPage());
  log(`seeding ${MESSAGES} messages`);
  const hits = await seed(page);
  notes.push(
    `${MESSAGES} messages seeded into IndexedDB in ${hits.seconds.toFixed(1)} s ` +
      `(${(hits.bytes / 1e6).toFixed(0)} MB of raw mail); searched offline: "${RARE}", in ` +
      `${hits.rare} of them, and "${COMMON}", in ${hits.common}`,
  );

  // --- First list render.
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('#messages .message-row')) {
        window.__postinoFirstRow = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  log('opening the app');
  await page.goto(url, { waitUntil: 'commit', timeout: APP_START_MS });
  const FIRST = 'first list render, from navigation start';
  // Whether rows are shown at all: the later parts need no more (each checks its own result).
  let listed = false;
  try {
    const firstRow = await (
      await page.waitForFunction(() => window.__postinoFirstRow, null, { timeout: FIRST_ROW_MS, polling: 20 })
    ).jsonValue();
    listed = true;
    const check = await checkList(page, MESSAGES);
    const WHOLE = 'whole list loaded (data-total = all), from navigation start';
    if (check.error) {
      failed(FIRST, 'ms', check.error);
      failed(WHOLE, 'ms', check.error);
    } else {
      value(FIRST, 'ms', firstRow);
      value(WHOLE, 'ms', check.wholeMs);
    }
    if (check.rows !== undefined) notes.push(`${check.rows} rows in the DOM after the first render`);
  } catch (e) {
    failed(FIRST, 'ms', `no .message-row in #messages within ${FIRST_ROW_MS / 1000} s (${short(e)})`);
  }

  // --- The search index, built in the background at start.
  const INDEX = 'search index ready, from navigation start';
  log('waiting for the search index');
  const indexed = listed ? await waitForIndex(page) : { error: 'the list was not shown' };
  if (indexed.error) failed(INDEX, 'ms', indexed.error);
  else value(INDEX, 'ms', indexed.ms);

  // --- Scrolling, once the index is done (or not coming): frame times.
  const SCROLL = ['scroll frame time, median', 'scroll frame time, p95', 'scroll frame time, p99'];
  const OVER = 'scroll frames over 50 ms';
  log('scrolling');
  const scrolled = listed ? await scroll(page) : { error: 'the list was not shown' };
  if (scrolled.error) {
    for (const q of SCROLL) failed(q, 'ms', scrolled.error);
    failed(OVER, 'frames', scrolled.error);
  } else {
    value(SCROLL[0], 'ms', scrolled.median);
    value(SCROLL[1], 'ms', scrolled.p95);
    value(SCROLL[2], 'ms', scrolled.p99);
    value(OVER, 'frames', scrolled.over50);
    notes.push(
      `scrolling: ${scrolled.frames} frames in ${SCROLL_MS / 1000} s through ` +
        `${scrolled.rows} rows (${scrolled.px} px), ${scrolled.domRows} rows in the DOM at the end`,
    );
  }

  // --- Offline search.
  log('searching offline');
  await context.setOffline(true);
  let broken = listed ? null : 'the list was not shown';
  for (const [query, want] of [
    [RARE, hits.rare],
    [COMMON, hits.common],
  ]) {
    const SEARCH = `offline search "${query}"`;
    const r = broken ? { error: broken } : await search(page, query);
    log(`searched "${query}": ${JSON.stringify(r)}`);
    if (r.error) failed(SEARCH, 'ms', r.error);
    else if (r.total !== want) failed(SEARCH, 'ms', `${r.total} messages found; ${want} contain "${query}"`);
    else value(SEARCH, 'ms', r.ms);
    // A contract item that is missing stays missing: no second wait for it.
    if (r.missing) broken = r.error;
    else await showAll(page, MESSAGES);
  }
  await context.setOffline(false);
  log('done');
} finally {
  await context.close();
  cleanup();
}
console.log(JSON.stringify({ measures, notes, missing }));

// ---------------------------------------------------------------------------------------------

function short(e) {
  return String(e && e.message ? e.message : e).split('\n')[0];
}

/**
 * Opens the app once (it creates its database), then fills the database from a page of the
 * same origin where the app does not run (the relay's /healthz), CHUNK messages per
 * transaction. Returns how many messages contain RARE and COMMON.
 */
async function seed(page) {
  await page.goto(url, { timeout: APP_START_MS });
  // The app shows the account form once it read its (empty) database.
  await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
  await page.goto(new URL('/healthz', url).href, { timeout: APP_START_MS });
  const started = performance.now();
  const total = { rare: 0, common: 0, bytes: 0 };
  for (let from = 0; from < MESSAGES; from += CHUNK) {
    const r = await page.evaluate(fillChunk, {
      from,
      to: Math.min(MESSAGES, from + CHUNK),
      total: MESSAGES,
      seed: SEED,
      rare: RARE,
      common: COMMON,
      account: from === 0,
    });
    total.rare += r.rare;
    total.common += r.common;
    total.bytes += r.bytes;
  }
  return { ...total, seconds: (performance.now() - started) / 1000 };
}

/**
 * In the page: messages `from..to` of the deterministic generator, stored the way the app stores
 * them, in one transaction. Self-contained: it is sent to the page as source.
 */
async function fillChunk({ from, to, total, seed, rare, common, account }) {
  const FIRST = ['Ada', 'Bruno', 'Chiara', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas',
    'Kofi', 'Lena', 'Marek', 'Nadia', 'Oscar', 'Priya', 'Rosa', 'Sven', 'Tamar', 'Ugo', 'Vera',
    'Wen', 'Ximena', 'Yusuf', 'Zoe', 'Beatriz', 'Cyril', 'Dagny', 'Emeka', 'Fumiko'];
  const LAST = ['Albrecht', 'Bianchi', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Horvat',
    'Ivanova', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Novak', 'Okafor', 'Petrov', 'Rossi',
    'Schmidt', 'Tanaka', 'Urban', 'Varga', 'Weber', 'Yilmaz', 'Zhang', 'Lindqvist', 'Mbeki'];
  const DOMAINS = ['example.org', 'example.com', 'mail.example.net', 'lists.example.org', 'corp.example',
    'shop.example', 'uni.example.edu', 'club.example'];
  const TOPICS = ['meeting', 'report', 'schedule', 'budget', 'offer', 'update', 'review', 'draft',
    'photos', 'tickets', 'delivery', 'order', 'receipt', 'newsletter', 'reminder', 'question',
    'proposal', 'contract', 'agenda', 'notes', 'summary', 'feedback', 'holiday', 'dinner', 'project',
    'release', 'build', 'travel', 'weekend', 'garden', 'concert', 'results', 'minutes', 'plans'];
  const WORDS = ['the', 'a', 'we', 'you', 'about', 'after', 'again', 'all', 'also', 'and', 'any',
    'because', 'before', 'best', 'both', 'but', 'can', 'come', 'could', 'day', 'did', 'each',
    'early', 'even', 'few', 'find', 'first', 'for', 'from', 'good', 'great', 'had', 'have', 'help',
    'here', 'how', 'just', 'keep', 'kind', 'last', 'late', 'let', 'like', 'little', 'long', 'look',
    'make', 'many', 'may', 'more', 'most', 'much', 'must', 'need', 'never', 'new', 'next', 'now',
    'old', 'one', 'only', 'open', 'other', 'our', 'over', 'part', 'people', 'place', 'point',
    'quite', 'ready', 'right', 'room', 'same', 'see', 'send', 'should', 'since', 'small', 'some',
    'soon', 'still', 'such', 'sure', 'take', 'team', 'than', 'thanks', 'that', 'then', 'there',
    'these', 'thing', 'think', 'this', 'those', 'time', 'today', 'too', 'under', 'until', 'very',
    'want', 'was', 'week', 'well', 'what', 'when', 'where', 'which', 'while', 'will', 'with',
    'work', 'would', 'year', 'yet', 'your', 'window', 'table', 'river', 'coffee', 'paper', 'train',
    'bicycle', 'harbour', 'lantern', 'meadow', 'pencil', 'violin', 'tomato', 'glacier', 'saddle'];
  const GREETINGS = ['Hello', 'Hi', 'Dear all', 'Good morning', 'Hey', 'Thanks', 'Quick note'];

  // The searched words occur only where they are put, so that their counts are known.
  for (const w of [...FIRST, ...LAST, ...DOMAINS, ...TOPICS, ...WORDS, ...GREETINGS]) {
    const lower = w.toLowerCase();
    if (lower.includes(rare) || lower.includes(common)) {
      throw new Error(`the generator's word ${w} overlaps a searched word`);
    }
  }
  // mulberry32, one stream per message: chunks are independent of each other.
  const rng = (s) => () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const db = await new Promise((resolve, reject) => {
    // No version: opens the app's database as it is, never upgrades it.
    const request = indexedDB.open('postino');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  for (const store of ['accounts', 'summaries', 'messages']) {
    if (!db.objectStoreNames.contains(store)) {
      db.close();
      throw new Error(`IndexedDB postino (version ${db.version}) has no object store ${store}`);
    }
  }
  const tx = db.transaction(['accounts', 'summaries', 'messages'], 'readwrite');
  if (account) {
    tx.objectStore('accounts').put({
      id: 'bench',
      name: 'bench@example.org',
      relay: location.origin,
      host: 'pop.example.org',
      port: 995,
      security: 'tls',
      user: 'bench',
    });
  }
  const encoder = new TextEncoder();
  const start = Date.UTC(2015, 0, 1) / 1000;
  const span = 10 * 365 * 86400;
  const counts = { rare: 0, common: 0, bytes: 0 };
  for (let i = from; i < to; i += 1) {
    const r = rng(seed ^ Math.imul(i + 1, 0x9e3779b1));
    const pick = (list) => list[Math.floor(r() * list.length)];
    const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
    // Some senders write often: the square skews the choice towards the first ones.
    const sender = Math.floor(r() * r() * FIRST.length * LAST.length);
    const first = FIRST[sender % FIRST.length];
    const last = LAST[Math.floor(sender / FIRST.length) % LAST.length];
    const author = `${first} ${last} <${first.toLowerCase()}.${last.toLowerCase()}@${DOMAINS[sender % DOMAINS.length]}>`;
    // The searched words only in the subject and the body's first sentence (the snippet), so
    // every search that covers subject and snippet finds the same messages.
    const rareIn = r() < 1 / 4000 ? (r() < 0.5 ? 'subject' : 'body') : null;
    const commonIn = r() < 0.1 ? (r() < 0.8 ? 'subject' : 'body') : null;
    const prefix = r() < 0.3 ? pick(['Re: ', 'Fwd: ', 'Re: Re: ']) : '';
    let subject = `${prefix}${pick(TOPICS)} ${words(1 + Math.floor(r() * 4))} ${pick(TOPICS)}`;
    if (commonIn === 'subject') subject += ` ${common} ${1000 + Math.floor(r() * 9000)}`;
    if (rareIn === 'subject') subject = `${pick(TOPICS)} ${rare} ${subject}`;
    const opening = `${pick(GREETINGS)}, ${rareIn === 'body' ? `${rare} ` : ''}${commonIn === 'body' ? `${common} ` : ''}${words(4)}.`;
    const sentences = [opening];
    const n = 3 + Math.floor(r() * r() * 60);
    for (let k = 0; k < n; k += 1) {
      const s = words(5 + Math.floor(r() * 12));
      sentences.push(`${s[0].toUpperCase()}${s.slice(1)}.`);
    }
    const body = sentences.join(' ');
    // Wrapped at 72 columns.
    const lines = body.match(/.{1,72}(\s|$)/g).map((l) => l.trim());
    // Oldest first, over ten years.
    const when = start + Math.floor(((i + r()) / total) * span);
    const raw = encoder.encode(
      `From: ${author}\r\nTo: Bench <bench@example.org>\r\nSubject: ${subject}\r\n` +
        `Date: ${new Date(when * 1000).toUTCString()}\r\nMessage-ID: <${i}.${seed}@bench.example>\r\n` +
        `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${lines.join('\r\n')}\r\n`,
    );
    const id = `bench/${i}`;
    tx.objectStore('summaries').put({
      id,
      account: 'bench',
      uidl: `u${i}`,
      from: author,
      to: 'Bench <bench@example.org>',
      subject,
      date: when,
      size: raw.length,
      snippet: body.slice(0, 160).replace(/\s+\S*$/, ''),
    });
    tx.objectStore('messages').put({ id, raw });
    counts.rare += rareIn ? 1 : 0;
    counts.common += commonIn ? 1 : 0;
    counts.bytes += raw.length;
  }
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  db.close();
  return counts;
}

/**
 * After the first row: `#messages` says it holds every stored message (data-total), and the
 * list is virtualized (not every row in the DOM). Returns {rows} or {error, rows}.
 */
async function checkList(page, want) {
  // The list may fill in steps: data-total has CONTRACT_MS to reach every stored message.
  const reached = await page
    .waitForFunction((want) => Number(document.querySelector('#messages')?.dataset.total) === want, want, {
      timeout: CONTRACT_MS,
      polling: 50,
    })
    .then(() => true, () => false);
  // Polled every 50 ms: within 50 ms of the moment the whole list was there.
  const wholeMs = await page.evaluate(() => performance.now());
  const total = await page.evaluate(() => document.querySelector('#messages')?.dataset.total ?? null);
  const rows = await page.locator('#messages .message-row').count();
  if (rows >= Math.min(want, 5_000)) lack('a virtualized #messages (only visible rows in the DOM)');
  if (total === null) {
    // Without data-total, only a list that is not virtualized can be checked.
    const item = lack('#messages[data-total]');
    return rows === want ? { rows } : { rows, error: `${item}, and ${rows} rows are in the DOM for ${want} messages` };
  }
  if (!reached) {
    return { rows, error: `#messages has data-total=${total} after ${CONTRACT_MS / 1000} s; ${want} messages are stored` };
  }
  return { rows, wholeMs };
}

/** Waits until `<html data-index-pending>` is "0"; ms from navigation start. */
async function waitForIndex(page) {
  const pending = () => page.evaluate(() => document.documentElement.dataset.indexPending ?? null);
  const started = Date.now();
  let last = await pending();
  while (last === null && Date.now() - started < CONTRACT_MS) {
    await new Promise((r) => setTimeout(r, 100));
    last = await pending();
  }
  if (last === null) return { error: lack('<html data-index-pending>') };
  let progress = Date.now();
  while (last !== '0') {
    const handle = await page
      .waitForFunction(
        (before) => {
          const now = document.documentElement.dataset.indexPending;
          return now !== before ? { now, at: performance.now() } : null;
        },
        last,
        { timeout: INDEX_STALL_MS, polling: 50 },
      )
      .catch(() => null);
    if (!handle) return { error: `the search index made no progress in ${INDEX_STALL_MS / 1000} s (${last} pending)` };
    const { now, at } = await handle.jsonValue();
    last = now;
    progress = Date.now();
    if (now === '0') return { ms: at };
    if (progress - started > INDEX_TOTAL_MS) return { error: `the search index is not done after ${INDEX_TOTAL_MS / 1000} s (${now} pending)` };
  }
  // Already "0" when first seen.
  return { ms: await page.evaluate(() => performance.now()) };
}

/**
 * Scrolls #messages from the top through 80% of its height in SCROLL_MS, one position per
 * animation frame (as when dragging the scroll bar), and records the frame intervals.
 */
async function scroll(page) {
  return page.evaluate(async (duration) => {
    const list = document.querySelector('#messages');
    if (!list) return { error: 'no #messages' };
    const style = getComputedStyle(list).overflowY;
    const range = list.scrollHeight - list.clientHeight;
    if (range <= 0 || !['auto', 'scroll'].includes(style)) {
      return { notScrolling: `overflow-y ${style}, ${range} px to scroll` };
    }
    const row = list.querySelector('.message-row');
    const rowHeight = row ? row.getBoundingClientRect().height : 0;
    list.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const distance = range * 0.8;
    const intervals = [];
    await new Promise((resolve) => {
      let begin = null;
      let prev = null;
      const frame = (t) => {
        if (begin === null) begin = t;
        if (prev !== null) intervals.push(t - prev);
        prev = t;
        const progress = Math.min(1, (t - begin) / duration);
        list.scrollTop = progress * distance;
        if (progress < 1) requestAnimationFrame(frame);
        else resolve();
      };
      requestAnimationFrame(frame);
    });
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const px = list.scrollTop;
    if (px < distance * 0.9) return { error: `#messages scrolled to ${px} px of ${Math.round(distance)}` };
    // What the user sees after the scroll: a row in the middle of the list, not a blank.
    const box = list.getBoundingClientRect();
    const seen = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    if (!seen?.closest('.message-row')) return { error: 'no row is shown in the middle of #messages after scrolling' };
    const sorted = [...intervals].sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return {
      frames: intervals.length,
      median: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      over50: intervals.filter((d) => d > 50).length,
      px: Math.round(px),
      rows: rowHeight ? Math.round(px / rowHeight) : 0,
      domRows: list.querySelectorAll('.message-row').length,
    };
  }, SCROLL_MS).then((r) =>
    r.notScrolling ? { error: `${lack('#messages as the scroll container')} (${r.notScrolling})` } : r,
  );
}

/**
 * Puts `query` into #search (one input event, as a paste) and waits until #messages shows its
 * results (data-query equal to it). Returns {ms, total} or {error}.
 */
async function search(page, query) {
  const r = await page.evaluate(
    ({ query, timeout }) =>
      new Promise((resolve) => {
        const input = document.querySelector('#search');
        if (!input) {
          resolve({ noInput: true });
          return;
        }
        const shown = () => {
          const list = document.querySelector('#messages');
          return list && (list.dataset.query ?? null) === query ? list : null;
        };
        let timer = null;
        const observer = new MutationObserver(() => {
          const list = shown();
          if (list) finish(list);
        });
        const started = performance.now();
        const finish = (list) => {
          observer.disconnect();
          clearTimeout(timer);
          const total = list.dataset.total;
          resolve({ ms: performance.now() - started, total: total === undefined ? null : Number(total) });
        };
        observer.observe(document.body, {
          subtree: true,
          childList: true,
          attributes: true,
          attributeFilter: ['data-query', 'data-total'],
        });
        timer = setTimeout(() => {
          observer.disconnect();
          const list = document.querySelector('#messages');
          resolve({ timeout: true, query: list ? (list.dataset.query ?? null) : 'no #messages' });
        }, timeout);
        input.value = query;
        input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: query }));
      }),
    { query, timeout: SEARCH_MS },
  );
  if (r.timeout && r.query === null) return { missing: true, error: lack('#messages[data-query]') };
  if (r.timeout) {
    return {
      error: `#messages did not show the results for "${query}" within ${SEARCH_MS / 1000} s (data-query=${JSON.stringify(r.query)})`,
    };
  }
  if (r.noInput) return { missing: true, error: lack('#search') };
  if (r.total === null) return { missing: true, error: lack('#messages[data-total]') };
  return r;
}

/** Empties #search and waits (untimed, at most SEARCH_MS) until every message is listed again. */
async function showAll(page, want) {
  await page.fill('#search', '');
  await page
    .waitForFunction((want) => Number(document.querySelector('#messages')?.dataset.total) === want, want, {
      timeout: SEARCH_MS,
      polling: 50,
    })
    .catch(() => {});
}
