// Postino in headless Chromium: the real app, through the real relay, TLS in wasm, into
// IndexedDB. Started by postino-bench as one contender; prints {"messages":N,"seconds":S} where
// S runs from "trust this certificate" (the download starts) until IndexedDB holds N summaries.
//
// Environment: POSTINO_RELAY_BIN, POSTINO_DIST, POP_PORT, POP_USER, POP_PASSWORD, FINGERPRINT,
// MESSAGES, CHROMIUM (default /usr/bin/chromium).

import { chromium } from '../e2e/node_modules/playwright-core/index.mjs';

import { CHROMIUM, env, startRelay } from './common.mjs';
const messages = Number(env('MESSAGES'));
const port = env('POP_PORT');

const { url, stop: stopRelay } = await startRelay(['--allow', `127.0.0.1:${port}`]);

const browser = await chromium.launch(CHROMIUM);
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator('#account-form').waitFor({ timeout: 60_000 });
  await page.fill('#host', '127.0.0.1');
  await page.fill('#port', port);
  await page.selectOption('#security', 'tls');
  await page.fill('#user', env('POP_USER'));
  await page.fill('#password', env('POP_PASSWORD'));
  await page.click('#add-account');
  const fingerprint = page.locator('#cert-prompt .fingerprint');
  await fingerprint.waitFor({ timeout: 60_000 });
  if ((await fingerprint.textContent()).trim() !== env('FINGERPRINT')) {
    throw new Error('the certificate prompt shows another fingerprint');
  }
  const started = performance.now();
  await page.click('#trust-cert');
  // Polled from here: page.evaluate awaits the count's promise.
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
  const deadline = Date.now() + 1_800_000;
  let stored = 0;
  while ((stored = await count()) < messages) {
    if (Date.now() > deadline) throw new Error(`only ${stored} of ${messages} stored in time`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ messages: stored, seconds }));
} finally {
  await browser.close();
  stopRelay();
}
