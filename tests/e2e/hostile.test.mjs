// Hostile HTML mail (tests/fixtures/html): in headless Chromium, through the real relay and real
// Dovecot, no script in any message runs, and while remote content is blocked a local server
// standing in for every remote host receives no request. Then "Load remote content" on one
// message makes that server receive its image request, which proves the counting works.
// Run from the repo root: `node --test tests/e2e/hostile.test.mjs` (see harness.mjs).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  REPO_ROOT,
  fixtures,
  launchBrowser,
  randomPassword,
  screenshot,
  startDovecot,
  startRelay,
} from './harness.mjs';

const HOSTILE_DIR = path.join(REPO_ROOT, 'tests/fixtures/html');
const APP_START_MS = 60_000;
const SYNC_MS = 90_000;

/** A self-signed certificate for 127.0.0.1, made with the openssl command line tool. */
function selfSignedCertificate(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** An HTTP or HTTPS server on 127.0.0.1 that records every request path and answers 1x1 GIFs. */
function startCountingServer(tls) {
  const requests = [];
  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
  const handler = (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'image/gif', 'access-control-allow-origin': '*' });
    res.end(gif);
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        origin: `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      }),
    );
  });
}

test('hostile HTML: no script runs, nothing remote loads until allowed', async (t) => {
  const cleanups = [];
  const use = (resource, stop) => {
    cleanups.push(() => stop(resource));
    return resource;
  };
  let page;
  const logs = [];
  try {
    const tmp = use(mkdtempSync(path.join(os.tmpdir(), 'postino-hostile-')), (d) =>
      rmSync(d, { recursive: true, force: true }),
    );
    const secure = use(await startCountingServer(selfSignedCertificate(tmp)), (s) => s.close());
    const plain = use(await startCountingServer(null), (s) => s.close());
    const all = () => [...secure.requests.map((r) => `https ${r}`), ...plain.requests.map((r) => `http ${r}`)];

    // The fixtures with their remote host pointed at the counting servers.
    const seeded = path.join(tmp, 'mail');
    execFileSync('mkdir', ['-p', seeded]);
    for (const file of readdirSync(HOSTILE_DIR).filter((f) => f.endsWith('.eml'))) {
      const text = readFileSync(path.join(HOSTILE_DIR, file), 'utf8')
        .replaceAll('https://remote.postino.invalid', secure.origin)
        .replaceAll('http://remote.postino.invalid', plain.origin)
        .replaceAll('//remote.postino.invalid', `//${secure.origin.slice('https://'.length)}`);
      writeFileSync(path.join(seeded, file), text);
    }
    const mail = fixtures(seeded);

    const password = randomPassword();
    const dovecot = use(await startDovecot({ user: 'alice', password, fixtures: seeded }), (d) => d.stop());
    logs.push(dovecot.log);
    const relay = use(await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`] }), (r) => r.stop());
    logs.push(relay.log);
    // The counting server's certificate is self-signed: without this Chromium would refuse the
    // request and the last step could not see it.
    const browser = use(await launchBrowser({ args: ['--ignore-certificate-errors'] }), (b) => b.close());
    const context = await browser.newContext();
    page = await context.newPage();
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    const popups = [];
    page.on('popup', (p) => popups.push(p.url()));
    await page.addInitScript(() => {
      window.__postinoMessages = [];
      window.addEventListener('message', (e) => window.__postinoMessages.push(String(e.data)));
    });
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });

    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(dovecot.pop3s_port));
    await page.selectOption('#security', 'tls');
    await page.fill('#user', 'alice');
    await page.fill('#password', password);
    await page.click('#add-account');
    await page.locator('#cert-prompt .fingerprint').waitFor({ state: 'visible', timeout: 30_000 });
    await page.click('#trust-cert');
    await page.waitForFunction(
      (expected) => {
        const listed = [...document.querySelectorAll('#messages .message-row .subject')].map((e) => e.textContent.trim());
        return expected.every((s) => listed.includes(s));
      },
      mail.map((m) => m.subject),
      { timeout: SYNC_MS, polling: 250 },
    );
    const title = await page.title();

    for (const message of mail) {
      await page.locator('#messages .message-row', { hasText: message.subject }).first().click();
      const frame = page.frameLocator('#reader iframe.html-body');
      await frame.locator('body', { hasText: message.marker }).waitFor({ timeout: 30_000 });
      // Let anything that would load or run have its chance: hover, click and focus inside.
      const body = frame.locator('body');
      await body.hover().catch(() => {});
      for (const link of await frame.locator('a, button').all()) await link.click({ timeout: 2_000 }).catch(() => {});
      await page.waitForTimeout(300);
      assert.deepEqual(all(), [], `requests after opening ${message.file}`);
      const sandbox = await page.locator('#reader iframe.html-body').getAttribute('sandbox');
      assert.ok(!/allow-scripts|allow-same-origin/.test(sandbox), `sandbox: ${sandbox}`);
    }
    await page.waitForTimeout(1_500);

    assert.deepEqual(all(), [], 'no request reached the remote server while remote content was blocked');
    assert.equal(await page.title(), title, 'the page title is unchanged');
    assert.equal(await page.evaluate(() => window.name), '', 'window.name is unchanged');
    assert.deepEqual(await page.evaluate(() => window.__postinoMessages), [], 'no message was posted to the app');
    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(popups.filter((u) => u.includes('127.0.0.1')), [], 'no popup reached the remote server');

    // The newsletter: its two images are counted as blocked, and load once the user allows them.
    const newsletter = mail.find((m) => m.file === 'h09-tracking.eml');
    await page.locator('#messages .message-row', { hasText: newsletter.subject }).first().click();
    await page.frameLocator('#reader iframe.html-body').locator('body', { hasText: newsletter.marker }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#remote-blocked').getAttribute('data-count'), '2');
    assert.deepEqual(all(), []);
    await page.click('#load-remote');
    const deadline = Date.now() + 20_000;
    while (!secure.requests.some((r) => r.includes('/h09-image.png')) && Date.now() < deadline) {
      await page.waitForTimeout(100);
    }
    t.diagnostic(`after "Load remote content": ${JSON.stringify(all())}`);
    assert.ok(secure.requests.some((r) => r.includes('/h09-image.png')), 'the allowed image was requested');
    assert.ok(all().every((r) => r.includes('/h09-')), `only the allowed message loaded: ${all()}`);
    assert.ok(!all().some((r) => r.includes('script-ran')), 'no script ran');
  } catch (error) {
    if (page) {
      const file = await screenshot(page, t.name);
      if (file) t.diagnostic(`screenshot: ${file}`);
    }
    for (const log of logs) t.diagnostic(log());
    throw error;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (e) {
        t.diagnostic(`cleanup failed: ${e.message}`);
      }
    }
  }
});
