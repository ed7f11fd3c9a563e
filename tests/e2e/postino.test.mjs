// End-to-end: real Chromium, the real relay serving the built app, real Dovecot (testkit).
// Run from the repo root: `node --test tests/e2e/` (see harness.mjs for the environment).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  FIXTURES_DIR,
  fixtures,
  launchBrowser,
  randomPassword,
  startDovecot,
  startRecordingProxy,
  startRelay,
  waitForSubjects,
  withResources,
} from './harness.mjs';

/** The wasm app may take seconds to load and start, more on a busy 2-core machine. */
const APP_START_MS = 60_000;
/** A full check of the fixtures (one of them 300 KB) over TLS in wasm. */
const SYNC_MS = 90_000;

async function openApp(use, usePage, url) {
  const browser = use(await launchBrowser(), (b) => b.close());
  const context = await browser.newContext();
  const page = usePage(await context.newPage());
  await page.goto(url, { waitUntil: 'load', timeout: APP_START_MS });
  return page;
}

async function fillAccountForm(page, { host, port, security, user, password }) {
  const form = page.locator('#account-form');
  if (!(await form.isVisible())) {
    const newAccount = page.locator('#new-account');
    if (await newAccount.isVisible()) await newAccount.click();
  }
  await form.waitFor({ state: 'visible', timeout: APP_START_MS });
  await page.fill('#host', host);
  await page.fill('#port', String(port));
  await page.selectOption('#security', security);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#add-account');
}

async function trustCertificate(page, expectedFingerprint) {
  const fingerprint = page.locator('#cert-prompt .fingerprint');
  await fingerprint.waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal((await fingerprint.textContent()).trim(), expectedFingerprint);
  // Pinning is never the default: "Don't trust" has the focus (Enter does not pin), and the
  // prompt says the relay itself could be presenting this certificate.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'distrust-cert');
  assert.match(await page.locator('#cert-prompt').textContent(), /relay that carries the connection/);
  await page.click('#trust-cert');
}

/**
 * Dovecot (user alice, a random password, `fixtures` as its mail), a relay allowed to reach its
 * pop3s port (requiring `tokens`, if any), and the app open on the relay.
 * Returns { password, dovecot, relay, page }.
 */
async function dovecotRelayAndApp(use, usePage, { fixtures: dir, tokens = [] } = {}) {
  const password = randomPassword();
  const dovecot = use(await startDovecot({ user: 'alice', password, fixtures: dir }), (d) => d.stop());
  const relay = use(await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`], tokens }), (r) => r.stop());
  const page = await openApp(use, usePage, relay.url);
  return { password, dovecot, relay, page };
}

/**
 * Adds alice's pop3s account on that Dovecot and trusts its certificate. A mailbox of more
 * than 25 messages (`firstCheck`) makes the first check ask how much: everything.
 */
async function addAccount(page, dovecot, password, { firstCheck = false } = {}) {
  await fillAccountForm(page, { host: '127.0.0.1', port: dovecot.pop3s_port, security: 'tls', user: 'alice', password });
  await trustCertificate(page, dovecot.fingerprint);
  if (firstCheck) {
    await page.locator('#first-check-go').waitFor({ timeout: SYNC_MS });
    await page.check('#first-check-everything');
    await page.click('#first-check-go');
  }
}

// Polls until the error line passes `check`: an earlier error (say, the certificate one before
// "trust") may still be on screen when the wait starts.
async function expectError(page, timeout, check) {
  const error = page.locator('#status .error');
  const deadline = Date.now() + timeout;
  let last = new Error('no error shown');
  while (Date.now() < deadline) {
    const text = (await error.allTextContents()).join(' ');
    try {
      check(text);
      return;
    } catch (e) {
      last = e;
    }
    await page.waitForTimeout(100);
  }
  throw last;
}

test('skeleton: add a pop3s account through the relay, read mail, reload, TLS end to end', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const password = randomPassword();
    const dovecot = use(await startDovecot({ user: 'alice', password }), (d) => d.stop());
    const proxy = use(await startRecordingProxy(dovecot.pop3s_port), (p) => p.close());
    const relay = use(await startRelay({ allow: [`127.0.0.1:${proxy.port}`] }), (r) => r.stop());

    const page = await openApp(use, usePage, relay.url);
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    const origin = await page.evaluate(() => location.origin);
    assert.equal(origin, relay.url.replace(/\/$/, ''));
    assert.equal(await page.inputValue('#relay'), origin, '#relay is prefilled with the page origin');

    await fillAccountForm(page, {
      host: '127.0.0.1',
      port: proxy.port,
      security: 'tls',
      user: 'alice',
      password,
    });
    await trustCertificate(page, dovecot.fingerprint);

    const subjects = mail.map((m) => m.subject);
    await waitForSubjects(page, subjects, SYNC_MS);

    // Open two messages: plain ASCII, and the one whose lines start with dots (dot-unstuffing).
    for (const file of ['01-plain.eml', '02-dot-stuffing.eml']) {
      const message = mail.find((m) => m.file === file) ?? mail[0];
      await page.locator('#messages .message-row', { hasText: message.subject }).first().click();
      await page.locator('#reader .body', { hasText: message.marker }).waitFor({ timeout: 30_000 });
      assert.equal((await page.locator('#reader .subject').textContent()).trim(), message.subject);
      if (file === '02-dot-stuffing.eml') {
        const body = await page.locator('#reader .body').innerText();
        assert.ok(body.includes('\n.a line that starts with one dot'), `dot line unstuffed: ${body}`);
        assert.ok(!body.includes('..a line that starts with one dot'), `dot line left stuffed: ${body}`);
      }
    }

    // A long plain-text body (06-large.eml: 300 KB, 3,900 lines) is all in the reader, in blocks
    // past the first laid out only as they near the screen (content-visibility: auto).
    const large = mail.find((m) => m.file === '06-large.eml');
    await page.locator('#messages .message-row', { hasText: large.subject }).first().click();
    await page.locator('#reader .body', { hasText: large.marker }).waitFor({ timeout: 30_000 });
    const long = await page.evaluate(async () => {
      const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const body = document.querySelector('#reader .body');
      const last = body.lastElementChild;
      await frames();
      // innerText is what is laid out: nothing of a block that is skipped.
      const before = [body.firstElementChild.innerText.length > 0, last.innerText];
      // Select all and copy takes the whole text, laid out or not.
      const selection = window.getSelection();
      selection.selectAllChildren(body);
      const selected = selection.toString();
      selection.removeAllRanges();
      last.scrollIntoView();
      await frames();
      return { blocks: body.children.length, text: body.textContent, before, selected, after: last.innerText };
    });
    assert.ok(long.blocks > 100, `${long.blocks} blocks`);
    assert.match(long.text, /^This message is about 300 KB of generated text\. Marker: marker-fjord\.\r?\n/);
    assert.match(long.text, /\n03928 mike oscar victor zulu yankee alpha victor tango whiskey foxtrot zulu\r?\n/);
    assert.match(long.text, /Last line of the large message: marker-fjord again\.\s*$/);
    assert.ok(long.text.split('\n').length >= 3930, 'every line is there');
    assert.deepEqual(long.before, [true, ''], 'the first block is laid out, the last not yet');
    assert.match(long.selected, /Last line of the large message: marker-fjord again\.\s*$/);
    assert.match(long.after, /marker-fjord again/, 'scrolled to, the last block is laid out');

    // Stored mail survives a reload (IndexedDB), before any new check.
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(page, subjects, APP_START_MS);

    // The relay and anything between it and the server saw ciphertext only.
    const toServer = proxy.toServer();
    const toClient = proxy.toClient();
    t.diagnostic(`proxy: ${proxy.connections} connection(s), ${toServer.length} bytes up, ${toClient.length} down`);
    assert.ok(proxy.connections >= 1, 'the app connected through the proxy');
    assert.ok(toServer.length > 300, `client sent ${toServer.length} bytes`);
    assert.ok(toClient.length > 5_000, `server sent ${toClient.length} bytes`);
    // TLS from the first byte: the first record is a ClientHello (content type 22, handshake).
    assert.equal(toServer[0], 0x16, 'the first byte the client sent is a TLS handshake record');
    const secrets = [
      password,
      'PASS ',
      '+OK Dovecot',
      ...mail.flatMap((m) => [m.subject, m.rawSubject, m.marker]),
    ];
    for (const secret of secrets) {
      for (const [direction, bytes] of [
        ['client to server', toServer],
        ['server to client', toClient],
      ]) {
        assert.ok(!bytes.includes(Buffer.from(secret, 'utf8')), `${JSON.stringify(secret)} in clear, ${direction}`);
      }
    }
  });
});

test('wrong password: the error names the password', async (t) => {
  await withResources(t, async (use, usePage) => {
    const dovecot = use(await startDovecot({ user: 'alice', password: randomPassword() }), (d) => d.stop());
    const relay = use(await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`] }), (r) => r.stop());
    const page = await openApp(use, usePage, relay.url);
    await fillAccountForm(page, {
      host: '127.0.0.1',
      port: dovecot.pop3s_port,
      security: 'tls',
      user: 'alice',
      password: 'not-the-password',
    });
    await trustCertificate(page, dovecot.fingerprint);
    await expectError(page, 20_000, (text) => {
      assert.match(text, /password/i, `error: ${text}`);
    });
  });
});

test('refused destination: the relay refuses 127.0.0.2:995 and the app says so', async (t) => {
  await withResources(t, async (use, usePage) => {
    // If we may listen on 127.0.0.2:995 (root), prove that nothing connects there.
    let connected = 0;
    const trap = net.createServer((socket) => {
      connected += 1;
      socket.destroy();
    });
    const trapped = await new Promise((resolve) => {
      trap.once('error', () => resolve(false));
      trap.listen(995, '127.0.0.2', () => resolve(true));
    });
    if (trapped) use(trap, (s) => new Promise((done) => s.close(() => done())));
    else t.diagnostic('cannot listen on 127.0.0.2:995 here; not checking for stray connections');

    const relay = use(await startRelay({ allow: [] }), (r) => r.stop());
    const page = await openApp(use, usePage, relay.url);
    await fillAccountForm(page, {
      host: '127.0.0.2',
      port: 995,
      security: 'tls',
      user: 'alice',
      password: randomPassword(),
    });
    await expectError(page, 30_000, (text) => {
      assert.match(text, /relay/i, `error: ${text}`);
      assert.match(text, /127\.0\.0\.2/, `error: ${text}`);
    });
    assert.equal(await page.locator('#cert-prompt').isVisible(), false, 'no certificate prompt');
    if (trapped) assert.equal(connected, 0, 'the relay connected to 127.0.0.2:995');
  });
});

test('demo: the relay --demo mailbox shows mail without typing anything', async (t) => {
  await withResources(t, async (use, usePage) => {
    const relay = use(await startRelay({ demo: true }), (r) => r.stop());
    const page = await openApp(use, usePage, relay.url);
    await page.waitForFunction(() => document.querySelectorAll('#messages .message-row').length >= 3, null, {
      timeout: 30_000,
      polling: 250,
    });
  });
});

/** The messages of an mbox file as Python's `mailbox` module reads them (not our parser). */
function parseMboxWithPython(file) {
  const script =
    'import json, mailbox, sys\n' +
    'box = mailbox.mbox(sys.argv[1], create=False)\n' +
    'print(json.dumps([box.get_bytes(k).decode("latin-1") for k in box.keys()]))\n';
  const out = execFileSync('python3', ['-c', script, file], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** Clicks `selector` and returns the file the page offered for download. */
async function download(page, selector) {
  const [offered] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click(selector)]);
  return { name: offered.suggestedFilename(), path: await offered.path() };
}

test('mail in and out: attachment, search, .eml, mbox export read back by Python, import in a new browser', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const { password, dovecot, relay, page } = await dovecotRelayAndApp(use, usePage);
    await addAccount(page, dovecot, password);
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);

    // An HTML message is shown from its HTML part, in the sandboxed frame.
    const html = mail.find((m) => m.file === '04-alternative.eml');
    await page.locator('#messages .message-row', { hasText: html.subject }).click();
    const frame = page.locator('#reader iframe.html-body');
    await frame.waitFor({ timeout: 30_000 });
    assert.equal(await frame.getAttribute('sandbox'), 'allow-popups allow-popups-to-escape-sandbox');
    assert.ok((await frame.getAttribute('srcdoc')).includes(html.marker), 'the HTML part is shown');
    await page.frameLocator('#reader iframe.html-body').locator('body', { hasText: html.marker }).waitFor({ timeout: 30_000 });

    // The attachment, saved: the bytes the base64 part encodes.
    const withAttachment = mail.find((m) => m.file === '05-attachment.eml');
    await page.locator('#messages .message-row', { hasText: withAttachment.subject }).click();
    const saved = await download(page, '#reader .attachment');
    assert.equal(saved.name, 'report.bin');
    const source = readFileSync(path.join(FIXTURES_DIR, withAttachment.file), 'latin1');
    const base64 = source.split('Content-Transfer-Encoding: base64\r\n\r\n')[1].split('\r\n--')[0];
    assert.deepEqual(readFileSync(saved.path), Buffer.from(base64.replace(/\s+/g, ''), 'base64'));

    // The message as it arrived, as .eml.
    const eml = await download(page, '#save-eml');
    assert.ok(eml.name.endsWith('.eml'), eml.name);
    assert.deepEqual(readFileSync(eml.path), readFileSync(path.join(FIXTURES_DIR, withAttachment.file)));

    // Search through the index (written right after the download): a word from one body only.
    await page.waitForFunction(() => document.documentElement.dataset.indexPending === '0', null, {
      timeout: 30_000,
    });
    const target = mail.find((m) => m.file === '04-alternative.eml');
    await page.fill('#search', target.marker);
    await page.waitForFunction((q) => document.querySelector('#messages')?.dataset.query === q, target.marker, {
      timeout: 30_000,
    });
    assert.equal(await page.locator('#messages').getAttribute('data-total'), '1');
    assert.deepEqual(
      (await page.locator('#messages .message-row .subject').allTextContents()).map((s) => s.trim()),
      [target.subject],
    );
    await page.fill('#search', '');
    await page.waitForFunction((n) => document.querySelector('#messages')?.dataset.total === String(n), mail.length, {
      timeout: 30_000,
    });

    // Export every message as mbox; another implementation reads back the same messages.
    const mbox = await download(page, '#export');
    assert.ok(mbox.name.endsWith('.mbox'), mbox.name);
    const parsed = parseMboxWithPython(mbox.path).sort();
    const expected = mail
      .map((m) => readFileSync(path.join(FIXTURES_DIR, m.file), 'latin1').replace(/\r\n/g, '\n'))
      .sort();
    assert.equal(parsed.length, mail.length);
    assert.deepEqual(parsed, expected);

    // A new browser with nothing stored imports the file: every message, once.
    const otherBrowser = use(await launchBrowser(), (b) => b.close());
    const other = usePage(await (await otherBrowser.newContext()).newPage());
    await other.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await other.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await other.click('#settings-toggle');
    for (const round of [1, 2]) {
      await other.setInputFiles('#import', mbox.path);
      const said = round === 1 ? `Imported ${mail.length} messages` : `Imported 0 messages; ${mail.length} were already here`;
      await other.locator('#status', { hasText: said }).waitFor({ timeout: 60_000 });
    }
    await waitForSubjects(other, mail.map((m) => m.subject), 30_000);
    assert.equal(await other.locator('#messages').getAttribute('data-total'), String(mail.length));
  });
});

test('test connection, then on the server: headers listed without downloading, a chosen message deleted on the server only', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const { password, dovecot, page } = await dovecotRelayAndApp(use, usePage);
    // "Test connection" before saving: the unknown certificate is named by its fingerprint.
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(dovecot.pop3s_port));
    await page.fill('#user', 'alice');
    await page.fill('#password', password);
    await page.click('#test-connection');
    await expectError(page, 60_000, (text) => assert.ok(text.includes(dovecot.fingerprint), text));
    await page.click('#add-account');
    await trustCertificate(page, dovecot.fingerprint);
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);

    // With the certificate pinned, the test logs in and counts, downloading nothing.
    await page.click('#settings-toggle');
    await page.click('#settings .edit-account');
    await page.click('#test-connection');
    await page
      .locator('#status', { hasText: `logged in as alice: ${mail.length} messages on the server` })
      .waitFor({ timeout: 60_000 });
    await page.click('#account-form button:has-text("Cancel")');

    if (!(await page.locator('#settings').isVisible())) await page.click('#settings-toggle');
    await page.click('#settings .triage-account');
    const rows = page.locator('#triage .triage-row');
    await rows.first().waitFor({ timeout: 60_000 });
    assert.equal(await rows.count(), mail.length);
    const listed = (await page.locator('#triage .triage-row .subject').allTextContents()).map((s) => s.trim());
    assert.deepEqual([...listed].sort(), mail.map((m) => m.subject).sort());
    for (const state of await page.locator('#triage .triage-row').evaluateAll((r) => r.map((e) => e.dataset.state))) {
      assert.equal(state, 'downloaded');
    }

    const victim = mail.find((m) => m.file === '01-plain.eml');
    await page.locator('#triage .triage-row', { hasText: victim.subject }).locator('input.pick').check();
    await page.click('#triage-delete');
    await page.click('#triage-delete-confirm');
    await page.waitForFunction((n) => document.querySelectorAll('#triage .triage-row').length === n, mail.length - 1, {
      timeout: 60_000,
    });
    const left = (await page.locator('#triage .triage-row .subject').allTextContents()).map((s) => s.trim());
    assert.ok(!left.includes(victim.subject), 'gone from the server');
    // Still stored in Postino: deleting on the server is not deleting here.
    await waitForSubjects(page, [victim.subject], 10_000);
  });
});

test('a private relay token and a remembered password: asked for once, stored encrypted, nothing asked after a reload', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const token = `tok-${randomPassword()}`;
    const { password, dovecot, page } = await dovecotRelayAndApp(use, usePage, { tokens: [token] });

    // Without the token the relay refuses, and the sentence says where the token goes.
    await fillAccountForm(page, { host: '127.0.0.1', port: dovecot.pop3s_port, security: 'tls', user: 'alice', password });
    await expectError(page, 60_000, (text) => assert.match(text, /Relay token field/));

    // Edit the account: the token, and "remember the password".
    await page.click('#settings-toggle');
    await page.click('#settings .edit-account');
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: 30_000 });
    await page.fill('#relay-token', token);
    await page.check('#remember');
    await page.fill('#password', password);
    await page.click('#add-account');
    await trustCertificate(page, dovecot.fingerprint);
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);

    // What IndexedDB holds: the password nowhere in clear, a CryptoKey that cannot be exported.
    const stored = await page.evaluate(async () => {
      const db = await new Promise((resolve, reject) => {
        const r = indexedDB.open('postino');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const all = (name) =>
        new Promise((resolve, reject) => {
          const r = db.transaction(name).objectStore(name).getAll();
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
      const secrets = await all('secrets');
      const accounts = await all('accounts');
      const key = secrets.find((s) => s.id === 'key')?.key;
      let exported = 'no key';
      try {
        await crypto.subtle.exportKey('raw', key);
        exported = 'exported';
      } catch (e) {
        exported = e.name;
      }
      db.close();
      const text = (v) => JSON.stringify(v, (_, x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : x));
      return {
        secretsText: text(secrets),
        accountsText: text(accounts),
        sealed: secrets.filter((s) => s.id.startsWith('password/')).length,
        extractable: key?.extractable,
        exported,
      };
    });
    assert.equal(stored.sealed, 1, 'one remembered password');
    assert.equal(stored.extractable, false);
    assert.equal(stored.exported, 'InvalidAccessError', 'the key cannot be read out');
    assert.ok(!stored.secretsText.includes(password), 'no clear password among the secrets');
    assert.ok(!stored.accountsText.includes(password), 'no clear password in the account');

    // A reload: Check mail works without asking for the password.
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(page, mail.map((m) => m.subject), APP_START_MS);
    await page.click('#check-mail');
    await page.locator('#status', { hasText: 'No new mail' }).waitFor({ timeout: SYNC_MS });
    assert.equal(await page.locator('#password-prompt').count(), 0, 'no password asked');
  });
});

test('Stop during a check keeps what arrived; the next check brings only the rest', async (t) => {
  await withResources(t, async (use, usePage) => {
    // 600 messages of 100 KB: long enough a download to stop in the middle.
    const COUNT = 600;
    const dir = use(mkdtempSync(path.join(os.tmpdir(), 'postino-stop-')), (d) => rmSync(d, { recursive: true, force: true }));
    const line = `${'stop test filler '.repeat(4)}\r\n`;
    for (let i = 0; i < COUNT; i += 1) {
      writeFileSync(
        path.join(dir, `${String(i).padStart(4, '0')}.eml`),
        `From: Bulk <bulk@example.org>\r\nTo: alice@example.org\r\nSubject: Stop test ${i}\r\n` +
          `Message-ID: <stop-${i}@postino.test>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\n` +
          line.repeat(1500),
      );
    }
    const { password, dovecot, page } = await dovecotRelayAndApp(use, usePage, { fixtures: dir });
    await addAccount(page, dovecot, password, { firstCheck: true });

    // Some megabytes in, press Stop.
    await page.waitForFunction(() => Number(document.querySelector('#status progress')?.value) > 5_000_000, null, {
      timeout: SYNC_MS,
      polling: 20,
    });
    await page.click('#cancel-check');
    await page.locator('#status', { hasText: 'Stopped.' }).waitFor({ timeout: SYNC_MS });
    const kept = Number(await page.locator('#messages').getAttribute('data-total'));
    t.diagnostic(`stopped with ${kept} of ${COUNT} messages stored`);
    assert.ok(kept > 0 && kept < COUNT, `${kept} of ${COUNT} stored when stopped`);

    // The next check downloads exactly the rest.
    await page.click('#check-mail');
    await page.waitForFunction((n) => document.querySelector('#messages')?.dataset.total === String(n), COUNT, {
      timeout: SYNC_MS,
    });
    await page.locator('#status .info', { hasText: `${COUNT - kept} new messages for` }).waitFor({ timeout: 30_000 });
  });
});

/**
 * A hostile relay on loopback: with `upgrade`, it accepts the WebSocket (subprotocol
 * postino.v1) and then says nothing; without, it accepts the TCP connection and never answers
 * the HTTP request. Returns { url, close() }.
 */
function startSilentRelay({ upgrade }) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    if (!upgrade) return;
    let head = '';
    socket.on('data', (chunk) => {
      if (head === null) return; // upgraded: everything the app sends is swallowed, unanswered
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: postino.v1\r\n\r\n`,
      );
      head = null;
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => {
          for (const socket of sockets) socket.destroy();
          server.close();
        },
      }),
    );
  });
}

test('a relay that goes silent: the socket must open within 30 s, a read waits at most 120 s, each said in a sentence', async (t) => {
  await withResources(t, async (use, usePage) => {
    const relay = use(await startRelay(), (r) => r.stop());
    const mute = use(await startSilentRelay({ upgrade: false }), (r) => r.close());
    const silent = use(await startSilentRelay({ upgrade: true }), (r) => r.close());
    const browser = use(await launchBrowser(), (b) => b.close());
    // Two profiles side by side, so the two deadlines run at once.
    const check = async (relayUrl, expected, timeout) => {
      const context = await browser.newContext();
      const page = usePage(await context.newPage());
      await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
      // A new profile has no account: the form opens by itself.
      await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
      await page.fill('#host', 'pop.example.org');
      await page.fill('#port', '995');
      await page.selectOption('#security', 'tls');
      await page.fill('#user', 'alice');
      await page.fill('#password', 'not sent anywhere');
      await page.fill('#relay', relayUrl);
      const started = Date.now();
      await page.click('#add-account');
      const status = page.locator('#status');
      await status.getByText(expected).waitFor({ state: 'visible', timeout });
      return (Date.now() - started) / 1000;
    };
    const [connectSecs, readSecs] = await Promise.all([
      check(mute.url, /did not answer within 30 s/, 90_000),
      check(silent.url, /sent nothing for 120 s/, 200_000),
    ]);
    t.diagnostic(`connect deadline after ${connectSecs.toFixed(0)} s, read deadline after ${readSecs.toFixed(0)} s`);
    // Not a timing test: only that neither failed before its deadline.
    assert.ok(connectSecs >= 29, `the connect deadline came early: ${connectSecs} s`);
    assert.ok(readSecs >= 119, `the read deadline came early: ${readSecs} s`);
  });
});

/** `count` messages of about `kb` KB each in a fresh folder (removed afterwards). */
function bulkFixtures(use, prefix, count, kb) {
  const dir = use(mkdtempSync(path.join(os.tmpdir(), `postino-${prefix}-`)), (d) => rmSync(d, { recursive: true, force: true }));
  const line = `${`${prefix} filler `.repeat(4)}\r\n`;
  const lines = Math.ceil((kb * 1024) / line.length);
  for (let i = 0; i < count; i += 1) {
    writeFileSync(
      path.join(dir, `${String(i).padStart(4, '0')}.eml`),
      `From: Bulk <bulk@example.org>\r\nTo: alice@example.org\r\nSubject: ${prefix} ${i}\r\n` +
        `Message-ID: <${prefix}-${i}@postino.test>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\n` +
        line.repeat(lines),
    );
  }
  return dir;
}

/** Counts of the `ledger` and `summaries` stores of the page's IndexedDB. */
function storedCounts(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('postino');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['ledger', 'summaries']);
          const ledger = tx.objectStore('ledger').count();
          const summaries = tx.objectStore('summaries').count();
          tx.oncomplete = () => {
            db.close();
            resolve({ ledger: ledger.result, summaries: summaries.result });
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

test('two tabs, one account: one downloads while the other waits, and nothing is stored twice', async (t) => {
  await withResources(t, async (use, usePage) => {
    // 100 MB: the first tab is still downloading when the second has loaded.
    const COUNT = 1000;
    const dir = bulkFixtures(use, 'tabs', COUNT, 100);
    const { password, dovecot, relay, page } = await dovecotRelayAndApp(use, usePage, { fixtures: dir });
    // The second tab: same browser profile, same origin, same IndexedDB.
    const second = usePage(await page.context().newPage());
    await page.locator('#remember').waitFor({ timeout: APP_START_MS });
    await page.locator('#remember').check();
    await addAccount(page, dovecot, password, { firstCheck: true });
    await page.waitForFunction(() => Number(document.querySelector('#status progress')?.value) > 1_000_000, null, {
      timeout: SYNC_MS,
      polling: 20,
    });

    // The first tab is downloading: the second, asked to check the same account, waits.
    await second.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await second.locator('#check-mail').click({ timeout: APP_START_MS });
    await second.locator('#status', { hasText: 'Another Postino tab is checking' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#status .error').count(), 0);

    // Stop in the waiting tab takes effect at once, not when the other tab is done.
    await second.click('#cancel-check');
    await second.locator('#status', { hasText: 'Stopped.' }).waitFor({ timeout: 10_000 });
    assert.equal(
      await page.locator('#status .info', { hasText: 'new messages for' }).count(),
      0,
      'the first tab is still downloading when the second has stopped waiting',
    );
    // Asked again, it waits again.
    await second.locator('#check-mail').click({ timeout: APP_START_MS });
    await second.locator('#status', { hasText: 'Another Postino tab is checking' }).waitFor({ timeout: 30_000 });

    // The first finishes with everything; the second then finds nothing new.
    await page.locator('#status .info', { hasText: `${COUNT} new messages for` }).waitFor({ timeout: SYNC_MS });
    await second.locator('#status .info', { hasText: 'No new mail for' }).waitFor({ timeout: SYNC_MS });
    assert.deepEqual(await storedCounts(second), { ledger: COUNT, summaries: COUNT });
    await second.waitForFunction((n) => document.querySelector('#messages')?.dataset.total === String(n), COUNT);
    // One download in all: the relay carried the mailbox's bytes to the browser once.
    const carried = [...relay.log().matchAll(/to_client=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    const mailbox = COUNT * 100 * 1024;
    t.diagnostic(`relay carried ${carried} bytes to the browsers for a ${mailbox}-byte mailbox`);
    assert.ok(carried > mailbox * 0.9 && carried < mailbox * 1.5, `${carried} bytes carried`);
  });
});

test('an engine that dies in the middle of a check loses nothing committed; the next check completes', async (t) => {
  await withResources(t, async (use, usePage) => {
    const COUNT = 600;
    const dir = bulkFixtures(use, 'crash', COUNT, 100);
    const { password, dovecot, page } = await dovecotRelayAndApp(use, usePage, { fixtures: dir });
    await addAccount(page, dovecot, password, { firstCheck: true });
    await page.waitForFunction(() => Number(document.querySelector('#status progress')?.value) > 5_000_000, null, {
      timeout: SYNC_MS,
      polling: 20,
    });
    // Terminate the engine's worker from inside, as a crash would.
    const workers = page.workers();
    assert.equal(workers.length, 1, 'one engine worker');
    await workers[0].evaluate(() => self.close()).catch(() => {});
    await expectError(page, 30_000, (text) => assert.match(text, /mail engine stopped/));
    const kept = Number(await page.locator('#messages').getAttribute('data-total'));
    t.diagnostic(`the engine died with ${kept} of ${COUNT} messages stored`);
    assert.ok(kept > 0 && kept < COUNT, `${kept} of ${COUNT} stored when the engine died`);
    const stored = await storedCounts(page);
    assert.deepEqual(stored, { ledger: kept, summaries: kept }, 'every stored message has its ledger entry');

    // A new engine took over: the next check downloads exactly the rest.
    await page.click('#check-mail');
    await page.waitForFunction((n) => document.querySelector('#messages')?.dataset.total === String(n), COUNT, {
      timeout: SYNC_MS,
    });
    await page.locator('#status .info', { hasText: `${COUNT - kept} new messages for` }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await storedCounts(page), { ledger: COUNT, summaries: COUNT });
  });
});

/** How many stored messages have a layout beside their bytes: [with, without]. */
function layoutCounts(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('postino');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const all = (name) =>
      new Promise((resolve, reject) => {
        const r = db.transaction(name).objectStore(name).getAll();
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    const [summaries, messages, packs] = [await all('summaries'), await all('messages'), await all('packs')];
    db.close();
    let found = 0;
    for (const s of summaries) {
      const layout = s.pack
        ? packs.find((p) => p.id === s.pack)?.layouts?.[s.at[0]]
        : messages.find((m) => m.id === s.id)?.layout;
      if (layout) found += 1;
    }
    return [found, summaries.length - found];
  });
}

test('mail stored before layouts were kept opens through the engine, which keeps its layout', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const { password, dovecot, page } = await dovecotRelayAndApp(use, usePage);
    await addAccount(page, dovecot, password);
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);
    assert.deepEqual(await layoutCounts(page), [mail.length, 0], 'every message stored with its layout');

    // As an older Postino stored them: bytes and summaries, no layouts.
    await page.evaluate(async () => {
      const db = await new Promise((resolve, reject) => {
        const r = indexedDB.open('postino');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const tx = db.transaction(['messages', 'packs'], 'readwrite');
      for (const name of ['messages', 'packs']) {
        tx.objectStore(name).openCursor().onsuccess = (e) => {
          const cursor = e.target.result;
          if (!cursor) return;
          const { layout, layouts, ...rest } = cursor.value;
          cursor.update(rest);
          cursor.continue();
        };
      }
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    });
    assert.deepEqual(await layoutCounts(page), [0, mail.length]);
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(page, mail.map((m) => m.subject), APP_START_MS);

    // Each opens as before: the text, the HTML part, the attachment.
    const text = mail[0];
    await page.locator('#messages .message-row', { hasText: text.subject }).first().click();
    await page.locator('#reader .body', { hasText: text.marker }).waitFor({ timeout: 30_000 });
    const html = mail.find((m) => m.file === '04-alternative.eml');
    await page.locator('#messages .message-row', { hasText: html.subject }).click();
    await page.frameLocator('#reader iframe.html-body').locator('body', { hasText: html.marker }).waitFor({ timeout: 30_000 });
    const withAttachment = mail.find((m) => m.file === '05-attachment.eml');
    await page.locator('#messages .message-row', { hasText: withAttachment.subject }).click();
    await page.locator('#reader .attachment', { hasText: 'report.bin' }).waitFor({ timeout: 30_000 });
    // The engine kept the three layouts it made: the next open needs no engine.
    assert.deepEqual(await layoutCounts(page), [3, mail.length - 3]);
  });
});

test('an engine that does not load: stored mail lists and opens, Check mail says so, and works once it loads', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    // The relay serves a copy of the build, so that the engine's wasm can be taken away.
    const dist = mkdtempSync(path.join(os.tmpdir(), 'postino-dist-'));
    use(dist, (d) => rmSync(d, { recursive: true, force: true }));
    execFileSync('cp', ['-r', `${process.env.POSTINO_DIST}/.`, dist]);
    // The wasm and the .br and .gz the relay would send in its place.
    const wasm = ['', '.br', '.gz'].map((ext) => path.join(dist, `postino-engine_bg.wasm${ext}`));
    const hide = () => wasm.forEach((f) => execFileSync('mv', [f, `${f}.hidden`]));
    const restore = () => wasm.forEach((f) => execFileSync('mv', [`${f}.hidden`, f]));

    const password = randomPassword();
    const dovecot = use(await startDovecot({ user: 'alice', password }), (d) => d.stop());
    const relay = use(await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`], dist }), (r) => r.stop());
    const browser = use(await launchBrowser(), (b) => b.close());
    // No service worker: every load of the engine asks the relay.
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = usePage(await context.newPage());
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await addAccount(page, dovecot, password);
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);

    // The engine's wasm is gone (a 404): the page loads without it.
    hide();
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(page, mail.map((m) => m.subject), APP_START_MS);
    const check = page.locator('#check-mail');
    await page.locator('#check-mail[data-engine="unavailable"]').waitFor({ timeout: APP_START_MS });

    // Stored mail opens: a text message, and an HTML one through the browser's parser.
    const text = mail[0];
    await page.locator('#messages .message-row', { hasText: text.subject }).first().click();
    await page.locator('#reader .body', { hasText: text.marker }).waitFor({ timeout: 30_000 });
    const html = mail.find((m) => m.file === '04-alternative.eml');
    await page.locator('#messages .message-row', { hasText: html.subject }).click();
    await page.frameLocator('#reader iframe.html-body').locator('body', { hasText: html.marker }).waitFor({ timeout: 30_000 });

    // Check mail says the engine is not ready, rather than failing silently or waiting forever.
    assert.equal(await check.isEnabled(), true, 'Check mail is not a dead button');
    await check.click();
    // The password was for the session before the reload: asked again, as after any reload.
    await page.locator('#prompt-password').waitFor({ timeout: 30_000 });
    await page.fill('#prompt-password', password);
    await page.click('#password-ok');
    await page.locator('#status .error', { hasText: 'mail engine is not ready' }).waitFor({ timeout: APP_START_MS });
    assert.equal(await check.getAttribute('data-engine'), 'unavailable');
    // The mbox export is the engine's too: it says so rather than saving nothing in silence.
    await page.click('#export');
    await page
      .locator('#status .error', { hasText: /could not export: .*mail engine is not ready/ })
      .waitFor({ timeout: APP_START_MS });

    // The wasm is back: the next press loads the engine and checks.
    restore();
    await check.click();
    await page.locator('#status', { hasText: 'No new mail' }).waitFor({ timeout: SYNC_MS });
    assert.equal(await check.getAttribute('data-engine'), 'ready');
  });
});
