// End-to-end: Postino as an installable, offline-capable app (issue 7). Real Chromium with a
// profile on disk, the relay serving the built app, real Dovecot.
// Run from the repo root: `node --test tests/e2e/pwa.test.mjs` (see harness.mjs).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  fixtures,
  launchPersistentBrowser,
  randomPassword,
  REPO_ROOT,
  setting,
  startDovecot,
  startRelay,
  waitForSubjects,
  withResources,
} from './harness.mjs';

/** The wasm app may take seconds to load and start, more on a busy 2-core machine. */
const APP_START_MS = 60_000;
/** A full check of the fixtures (one of them 300 KB) over TLS in wasm. */
const SYNC_MS = 90_000;
/** A change on screen after a click or a network change; generous for a busy 2-core machine. */
const UI_MS = 30_000;
/** Messages stored for the start-up figure. */
const MANY = 10_000;

async function openApp(use, usePage, url) {
  const context = use(await launchPersistentBrowser(), (c) => c.close());
  const page = usePage(await context.newPage());
  await page.goto(url, { waitUntil: 'load', timeout: APP_START_MS });
  return { context, page };
}

/** Waits until a service worker controls the page (the first install claims it). */
async function waitForServiceWorker(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, {
    timeout: APP_START_MS,
    polling: 100,
  });
}

/** The build id of the service worker that controls the page. */
function controllerBuild(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data.build);
        setTimeout(() => reject(new Error('the service worker did not answer')), 30_000);
        navigator.serviceWorker.controller.postMessage({ type: 'build' }, [channel.port2]);
      }),
  );
}

function pageBuild(page) {
  return page.evaluate(() => document.querySelector('meta[name=postino-build]')?.content ?? null);
}

/** Adds the Dovecot account through the form, trusts its certificate, waits for every fixture. */
async function downloadFixtures(page, dovecot, password) {
  const mail = fixtures();
  await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
  await page.fill('#host', '127.0.0.1');
  await page.fill('#port', String(dovecot.pop3s_port));
  await page.selectOption('#security', 'tls');
  await page.fill('#user', 'alice');
  await page.fill('#password', password);
  await page.click('#add-account');
  const fingerprint = page.locator('#cert-prompt .fingerprint');
  await fingerprint.waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal((await fingerprint.textContent()).trim(), dovecot.fingerprint);
  await page.click('#trust-cert');
  await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);
  return mail;
}

async function readMessage(page, message) {
  await page.locator('#messages .message-row', { hasText: message.subject }).first().click();
  await page.locator('#reader .body', { hasText: message.marker }).waitFor({ timeout: 30_000 });
}

/** A copy of the built app in a temporary folder, for a relay that serves it. */
function copyDist() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-dist-'));
  cpSync(setting('dist'), dir, { recursive: true });
  return dir;
}

/**
 * Turns the build in `dir` into a second version, as a new Trunk build would: the style sheet
 * changes, so it gets a new hashed name and integrity in index.html; then the build's own
 * post-build step (web/sw-stamp.mjs) stamps a new build id and file list into sw.js.
 * Returns the new style sheet's file name.
 */
function makeSecondVersion(dir) {
  const oldCss = readdirSync(dir).find((f) => /^style-[0-9a-f]+\.css$/.test(f));
  assert.ok(oldCss, 'the build has a hashed style sheet');
  const css = `${readFileSync(path.join(dir, oldCss), 'utf8')}\n:root { --postino-test-version: 2; }\n`;
  const newCss = `style-${createHash('sha256').update(css).digest('hex').slice(0, 16)}.css`;
  writeFileSync(path.join(dir, newCss), css);
  unlinkSync(path.join(dir, oldCss));
  const integrity = `sha384-${createHash('sha384').update(css).digest('base64')}`;
  const indexPath = path.join(dir, 'index.html');
  const index = readFileSync(indexPath, 'utf8').replace(
    new RegExp(`href="/${oldCss}"( integrity="[^"]*")?`),
    `href="/${newCss}" integrity="${integrity}"`,
  );
  assert.ok(index.includes(newCss), 'index.html names the new style sheet');
  writeFileSync(indexPath, index);
  execFileSync('node', [path.join(REPO_ROOT, 'web/sw-stamp.mjs')], {
    env: { ...process.env, TRUNK_STAGING_DIR: dir, TRUNK_SOURCE_DIR: REPO_ROOT },
  });
  return newCss;
}

test('installable: no installability errors, the manifest and its icons load', async (t) => {
  await withResources(t, async (use, usePage) => {
    const relay = use(await startRelay(), (r) => r.stop());
    const { context, page } = await openApp(use, usePage, relay.url);
    await waitForServiceWorker(page);

    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, [], 'Chromium finds the app installable');
    const { url, errors } = await cdp.send('Page.getAppManifest');
    assert.equal(url, `${relay.url}/manifest.webmanifest`);
    assert.deepEqual(errors, [], 'the manifest parses without errors');

    const manifest = await page.evaluate(() => fetch('/manifest.webmanifest').then((r) => r.json()));
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/');
    assert.equal(manifest.scope, '/');
    assert.deepEqual(
      manifest.shortcuts.map((s) => s.name),
      ['Check mail', 'Search'],
    );
    const pngs = manifest.icons.filter((i) => i.type === 'image/png');
    assert.ok(pngs.some((i) => i.purpose.includes('maskable')), 'a maskable icon');
    for (const wanted of ['192x192', '512x512']) {
      assert.ok(pngs.some((i) => i.sizes === wanted), `a ${wanted} PNG icon`);
    }
    for (const icon of manifest.icons) {
      const loaded = await page.evaluate(async (src) => {
        const response = await fetch(src, { cache: 'no-store' });
        const type = response.headers.get('content-type');
        // An SVG has no pixel size of its own: decode it through an <img>.
        const image = new Image();
        image.src = URL.createObjectURL(await response.blob());
        await image.decode();
        return { status: response.status, type, size: `${image.naturalWidth}x${image.naturalHeight}` };
      }, icon.src);
      assert.equal(loaded.status, 200, `${icon.src} loads`);
      assert.ok(loaded.type.startsWith(icon.type), `${icon.src} is served as ${icon.type}, not ${loaded.type}`);
      if (icon.sizes !== 'any') assert.equal(loaded.size, icon.sizes, `${icon.src} is ${icon.sizes}`);
    }

    // The Search shortcut opens the app with the search field focused.
    const search = manifest.shortcuts.find((s) => s.name === 'Search');
    await page.goto(`${relay.url}${search.url}`, { waitUntil: 'load', timeout: APP_START_MS });
    await page.waitForFunction(() => document.activeElement?.id === 'search', null, { timeout: UI_MS });
  });
});

test('offline: the app starts from the service worker and shows stored mail', async (t) => {
  await withResources(t, async (use, usePage) => {
    const password = randomPassword();
    const dovecot = use(await startDovecot({ user: 'alice', password }), (d) => d.stop());
    const relay = use(await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`] }), (r) => r.stop());
    const { context, page } = await openApp(use, usePage, relay.url);
    const mail = await downloadFixtures(page, dovecot, password);
    await waitForServiceWorker(page);

    // Persistence was asked for at the first download; settings show what the browser decided.
    await page.click('#settings-toggle');
    const persistence = await page.locator('#storage-persistence').getAttribute('data-state');
    assert.ok(['persistent', 'best-effort'].includes(persistence), `persistence: ${persistence}`);
    await page.locator('#offline-ready[data-state=ready]').waitFor({ timeout: UI_MS });

    // A real outage: the browser is offline and nothing answers at the relay's address.
    await relay.stop();
    await context.setOffline(true);
    await page.locator('#offline-indicator').waitFor({ timeout: UI_MS });
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(
      page,
      mail.map((m) => m.subject),
      APP_START_MS,
    );
    await readMessage(page, mail[0]);
    await readMessage(page, mail[mail.length - 1]);

    // Offline: said so, and Check mail is disabled with the reason.
    await page.locator('#offline-indicator').waitFor();
    assert.equal(await page.locator('#check-mail').isDisabled(), true, 'Check mail is disabled offline');
    assert.match(await page.locator('#offline-note').textContent(), /offline.*Check mail/i);
    // Searching stored mail works offline.
    await page.fill('#search', mail[0].subject);
    await page.waitForFunction(
      (subject) => {
        const rows = [...document.querySelectorAll('#messages .message-row .subject')];
        return rows.length >= 1 && rows.every((r) => r.textContent.trim() === subject);
      },
      mail[0].subject,
      { timeout: UI_MS },
    );
    await page.fill('#search', '');

    // The network returns: the indicator goes and Check mail is offered again.
    await context.setOffline(false);
    await page.locator('#offline-indicator').waitFor({ state: 'detached', timeout: UI_MS });
    assert.equal(await page.locator('#check-mail').isDisabled(), false, 'Check mail is enabled online');
    await page.locator('#status', { hasText: /back online/i }).waitFor({ timeout: UI_MS });
  });
});

test('update: a new version is offered, not swapped in, and runs once accepted', async (t) => {
  await withResources(t, async (use, usePage) => {
    const dist = use(copyDist(), (dir) => rmSync(dir, { recursive: true, force: true }));
    const password = randomPassword();
    const dovecot = use(await startDovecot({ user: 'alice', password }), (d) => d.stop());
    const relay = use(await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`], dist }), (r) => r.stop());
    const { page } = await openApp(use, usePage, relay.url);
    const mail = await downloadFixtures(page, dovecot, password);
    await waitForServiceWorker(page);
    const v1 = await controllerBuild(page);
    assert.equal(await pageBuild(page), v1, 'the page and its service worker are one build');

    const newCss = makeSecondVersion(dist);
    const v2 = readFileSync(path.join(dist, 'sw.js'), 'utf8').match(/^const BUILD = "([0-9a-f]+)";$/m)[1];
    assert.notEqual(v2, v1);

    // Reload online: the browser finds the new service worker, which waits; the user is asked.
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#update-banner').waitFor({ timeout: APP_START_MS });
    assert.match(await page.locator('#update-banner').textContent(), /update available/i);
    assert.equal(await controllerBuild(page), v1, 'the old version stays in control until the user accepts');

    // Accept: the new worker takes over and the page reloads into the new version.
    const reloaded = page.waitForEvent('load', { timeout: APP_START_MS });
    await page.click('#update-reload');
    await reloaded;
    await waitForServiceWorker(page);
    assert.equal(await controllerBuild(page), v2, 'the new service worker controls the page');
    assert.equal(await pageBuild(page), v2, 'the new page runs');
    const styles = await page.evaluate(() => [...document.styleSheets].map((s) => s.href));
    assert.ok(
      styles.some((href) => href?.endsWith(newCss)),
      `the new style sheet is used: ${styles}`,
    );
    const version = await page.evaluate(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--postino-test-version').trim(),
    );
    assert.equal(version, '2');
    await page.locator('#update-banner').waitFor({ state: 'detached', timeout: UI_MS });
    const caches = await page.evaluate(() => caches.keys());
    assert.deepEqual(caches, [`postino-${v2}`], 'the old version\'s cache is gone');
    // The update downloaded only what changed (the page and the new style sheet); both wasm
    // bundles and the scripts were taken from the old version's cache.
    const install = await page.evaluate(
      async (build) => (await (await caches.open(`postino-${build}`)).match('/postino-install.json')).json(),
      v2,
    );
    assert.deepEqual(install.fetched, ['/', `/${newCss}`].sort(), JSON.stringify(install));
    for (const kept of ['/postino-engine_bg.wasm', '/postino-engine.js', '/engine-loader.js']) {
      assert.ok(install.kept.includes(kept), `${kept} kept: ${JSON.stringify(install)}`);
    }
    assert.ok(install.kept.some((url) => /^\/postino-app-[0-9a-f]+_bg\.wasm$/.test(url)), JSON.stringify(install));
    await waitForSubjects(
      page,
      mail.map((m) => m.subject),
      APP_START_MS,
    );
    await readMessage(page, mail[0]);
  });
});

/**
 * Stores `count` messages as version 1 of the app did (crates/app/src/idb.rs), without search
 * index records, from the page: a test-only path, nothing in the app. The app indexes them at
 * its next start.
 */
function fillStore(page, count) {
  return page.evaluate(async (count) => {
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open('postino');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const tx = db.transaction(['accounts', 'summaries', 'messages'], 'readwrite');
    tx.objectStore('accounts').put({
      id: 'bulk',
      name: 'bulk@example.org',
      relay: location.origin,
      host: 'pop.example.org',
      port: 995,
      security: 'tls',
      user: 'bulk',
    });
    const encoder = new TextEncoder();
    const start = Date.UTC(2024, 0, 1) / 1000;
    for (let i = 0; i < count; i += 1) {
      const id = `bulk/${i}`;
      const subject = `Bulk message ${i}`;
      const raw = encoder.encode(
        `From: Sender ${i % 97} <s${i % 97}@example.org>\r\nTo: bulk@example.org\r\nSubject: ${subject}\r\n` +
          `Date: ${new Date((start + i * 60) * 1000).toUTCString()}\r\n\r\nBody of message ${i}.\r\n`,
      );
      tx.objectStore('summaries').put({
        id,
        account: 'bulk',
        uidl: `u${i}`,
        from: `Sender ${i % 97} <s${i % 97}@example.org>`,
        subject,
        date: start + i * 60,
        size: raw.length,
        snippet: `Body of message ${i}.`,
      });
      tx.objectStore('messages').put({ id, raw });
    }
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    db.close();
  }, count);
}

/**
 * The list is virtualized: it says it holds every message, the document holds only a screenful,
 * and scrolling to the end shows the oldest message.
 */
async function checkVirtualList(page) {
  const list = page.locator('#messages');
  // The newest screenful comes first, then every message.
  await page.waitForFunction((n) => document.querySelector('#messages')?.dataset.total === String(n), MANY, {
    timeout: UI_MS,
    polling: 50,
  });
  const rows = await page.locator('#messages .message-row').count();
  assert.ok(rows > 0 && rows < 200, `only the rows in view are in the document (${rows})`);
  await list.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await page
    .locator('#messages .message-row .subject', { hasText: /^Bulk message 0$/ })
    .waitFor({ timeout: UI_MS });
  await list.evaluate((el) => {
    el.scrollTop = 0;
  });
  await page
    .locator('#messages .message-row .subject', { hasText: new RegExp(`^Bulk message ${MANY - 1}$`) })
    .waitFor({ timeout: UI_MS });
}

/** Reloads and returns ms from navigation start to the first message row in the list. */
async function timeToList(page) {
  await page.reload({ waitUntil: 'commit', timeout: APP_START_MS });
  const handle = await page.waitForFunction(() => window.__postinoFirstRow, null, {
    timeout: APP_START_MS,
    polling: 50,
  });
  return handle.jsonValue();
}

test(`figures: navigation to first message list, ${MANY} stored messages, online and offline`, async (t) => {
  await withResources(t, async (use, usePage) => {
    const relay = use(await startRelay(), (r) => r.stop());
    const { context, page } = await openApp(use, usePage, relay.url);
    await waitForServiceWorker(page);
    // The app created its database on first start.
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await fillStore(page, MANY);
    // Records when the first row appears, in ms since navigation start.
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector('#messages .message-row')) {
          window.__postinoFirstRow = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });

    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const runs = 3;
    const online = [];
    for (let i = 0; i < runs; i += 1) online.push(await timeToList(page));
    await checkVirtualList(page);

    await relay.stop();
    await context.setOffline(true);
    const offline = [];
    for (let i = 0; i < runs; i += 1) offline.push(await timeToList(page));
    await checkVirtualList(page);

    // Messages stored without the index (as by an older version) are indexed at start, and
    // search finds them offline: message 4321's body says "Body of message 4321.".
    await page.waitForFunction(() => document.documentElement.dataset.indexPending === '0', null, {
      timeout: APP_START_MS * 3,
      polling: 200,
    });
    const searched = performance.now();
    await page.fill('#search', '4321');
    await page.waitForFunction(
      () => document.querySelector('#messages')?.dataset.query === '4321',
      null,
      { timeout: UI_MS, polling: 20 },
    );
    const searchMs = performance.now() - searched;
    assert.equal(await page.locator('#messages').getAttribute('data-total'), '1');
    assert.deepEqual(await page.locator('#messages .message-row .subject').allTextContents(), [
      'Bulk message 4321',
    ]);
    await page.fill('#search', 's7@example');
    await page.waitForFunction(
      () => document.querySelector('#messages')?.dataset.query === 's7@example',
      null,
      { timeout: UI_MS, polling: 20 },
    );
    const fromSeven = Array.from({ length: MANY }, (_, i) => i).filter((i) => i % 97 === 7).length;
    assert.equal(await page.locator('#messages').getAttribute('data-total'), String(fromSeven));

    const line = (xs) => `median ${Math.round(median(xs))} ms (${xs.map(Math.round).join(', ')})`;
    t.diagnostic(`first message list with ${MANY} stored messages: online ${line(online)}; offline ${line(offline)}; search ${Math.round(searchMs)} ms`);
    console.log(`figure: online ${line(online)}; offline ${line(offline)}; search ${Math.round(searchMs)} ms`);
  });
});
