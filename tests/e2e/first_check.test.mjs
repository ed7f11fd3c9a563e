// End-to-end: the first check of an account asks how much to download (real Chromium, the real
// relay, a real Dovecot holding 30 messages dated from 88 days ago to yesterday). "The last 30
// days" downloads exactly the ten within 30 days, in the session that asked; the other twenty
// stay on the server, listed as skipped in "On the server…", and one of them is downloaded from
// there.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  launchBrowser,
  randomPassword,
  screenshot,
  startDovecot,
  startRecordingProxy,
  startRelay,
} from './harness.mjs';

const APP_START_MS = 60_000;
const SYNC_MS = 90_000;
const DAY_MS = 86_400_000;

/** 30 messages, oldest first (as mail arrives): message i dated 88 - 3 i days ago. */
function datedFixtures() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-first-check-'));
  const subjects = [];
  for (let i = 0; i < 30; i++) {
    const daysAgo = 88 - 3 * i;
    const subject = `Dated ${daysAgo} days ago`;
    const date = new Date(Date.now() - daysAgo * DAY_MS).toUTCString().replace('GMT', '+0000');
    writeFileSync(
      path.join(dir, `${String(i).padStart(2, '0')}.eml`),
      `From: Sender <sender@example.org>\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n` +
        `Date: ${date}\r\nMessage-ID: <dated-${i}@example.org>\r\n\r\nMessage ${i}.\r\n`,
    );
    subjects.push({ subject, recent: daysAgo <= 30 });
  }
  return { dir, subjects };
}

test('first check: the last 30 days downloads exactly those; the rest is skipped and downloadable', async (t) => {
  const { dir, subjects } = datedFixtures();
  const cleanups = [() => rmSync(dir, { recursive: true, force: true })];
  let page;
  let dovecot;
  let relay;
  try {
    const password = randomPassword();
    dovecot = await startDovecot({ user: 'alice', password, fixtures: dir });
    cleanups.push(() => dovecot.stop());
    // Counts the connections to Dovecot.
    const link = await startRecordingProxy(dovecot.pop3s_port);
    cleanups.push(() => link.close());
    relay = await startRelay({ allow: [`127.0.0.1:${link.port}`] });
    cleanups.push(() => relay.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    page = await (await browser.newContext()).newPage();
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(link.port));
    await page.selectOption('#security', 'tls');
    await page.fill('#user', 'alice');
    await page.fill('#password', password);
    await page.click('#add-account');
    await page.locator('#trust-cert').click({ timeout: 30_000 });

    // The question, with what each choice brings; nothing downloaded yet.
    const question = page.locator('#first-check');
    await question.waitFor({ timeout: SYNC_MS });
    const text = await question.textContent();
    assert.match(text, /Everything \(30 messages/, text);
    assert.match(text, /The last 30 days \(10 messages/, text);
    assert.match(text, /From now on/, text);
    // 30 messages, a few kilobytes: everything is what Postino suggests.
    assert.equal(await page.isChecked('#first-check-everything'), true);
    assert.equal(await page.locator('#messages .message-row').count(), 0);
    const surveyed = link.connections;

    await page.check('#first-check-recent');
    await page.click('#first-check-go');
    const recent = subjects.filter((s) => s.recent).map((s) => s.subject);
    // The check's end ("10 new messages for …"), not its progress ("Downloading 0 of 10 new
    // messages for …", which shows before anything is stored).
    await page.locator('#status', { hasText: /^(?!.*Downloading).*10 new messages for/s }).waitFor({ timeout: SYNC_MS });
    const listed = (await page.locator('#messages .message-row .subject').allTextContents()).map((s) => s.trim());
    assert.deepEqual([...listed].sort(), [...recent].sort());
    assert.equal(await page.locator('#first-check').count(), 0);
    // The download carried on in the question's session: no second connection and login.
    assert.equal(link.connections, surveyed, 'the download opened a connection of its own');

    // "On the server…": the twenty older ones, skipped; one is downloaded from there.
    await page.click('#settings-toggle');
    await page.click('#settings .triage-account');
    const rows = page.locator('#triage .triage-row');
    await rows.first().waitFor({ timeout: 60_000 });
    assert.equal(await rows.count(), 30);
    const states = await rows.evaluateAll((r) => r.map((e) => e.dataset.state));
    assert.equal(states.filter((s) => s === 'skipped').length, 20, states.join(','));
    assert.equal(states.filter((s) => s === 'downloaded').length, 10, states.join(','));
    const older = subjects.find((s) => !s.recent).subject;
    await page.locator('#triage .triage-row', { hasText: older }).locator('input.pick').check();
    await page.click('#triage-download');
    await page.locator('#messages .message-row', { hasText: older }).waitFor({ timeout: SYNC_MS });

    // Another check brings nothing of what was left out.
    await page.click('#triage button:has-text("Close")').catch(() => {});
    await page.click('#check-mail');
    await page.locator('#status', { hasText: 'No new mail' }).waitFor({ timeout: SYNC_MS });
    assert.equal(await page.locator('#messages .message-row').count(), 11);
  } catch (e) {
    if (page) await screenshot(page, 'first-check').catch(() => {});
    for (const p of [dovecot, relay]) if (p) t.diagnostic(p.log());
    throw e;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
});

test('on a slow link, mail shows in the list as it arrives, not only when the check ends', async (t) => {
  const cleanups = [];
  let page;
  let dovecot;
  let relay;
  try {
    // 20 messages of about 100 KB (2 MB) at 200 KB/s: about 10 s. Fewer than a batch (64):
    // they show because a batch commits once its first message waited 2 s. Fewer than 26: no
    // question first.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-live-list-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const line = 'The quick brown fox jumps over the lazy dog, again and again.\r\n';
    for (let i = 0; i < 20; i++) {
      writeFileSync(
        path.join(dir, `${String(i).padStart(3, '0')}.eml`),
        `From: Sender <sender@example.org>\r\nTo: alice@example.org\r\nSubject: Live ${i}\r\n` +
          `Message-ID: <live-${i}@example.org>\r\n\r\n${line.repeat(1600)}`,
      );
    }
    const password = randomPassword();
    dovecot = await startDovecot({ user: 'alice', password, fixtures: dir });
    cleanups.push(() => dovecot.stop());
    // A slow link: Dovecot's bytes handed on at 200 KB/s.
    const link = await startRecordingProxy(dovecot.pop3s_port, '127.0.0.1', { bytesPerSecond: 200_000 });
    cleanups.push(() => link.close());
    relay = await startRelay({ allow: [`127.0.0.1:${link.port}`] });
    cleanups.push(() => relay.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    page = await (await browser.newContext()).newPage();
    // From the start: how many rows the list had when it first had some while the check still
    // ran (its cancel button shown).
    await page.addInitScript(() => {
      window.__live = { firstRows: 0 };
      new MutationObserver(() => {
        if (document.querySelector('#cancel-check')) {
          // The list is virtualized: it says how many rows it has, not all are in the page.
          const rows = Number(document.querySelector('#messages')?.dataset.total ?? 0);
          if (!window.__live.firstRows) window.__live.firstRows = rows;
        }
      }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-total'] });
    });
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(link.port));
    await page.selectOption('#security', 'tls');
    await page.fill('#user', 'alice');
    await page.fill('#password', password);
    await page.click('#add-account');
    await page.locator('#trust-cert').click({ timeout: 30_000 });
    await page.locator('#cancel-check').waitFor({ timeout: SYNC_MS });
    await page.locator('#cancel-check').waitFor({ state: 'detached', timeout: SYNC_MS });
    const status = await page.locator('#status').textContent();
    assert.match(status, /20/, status);
    const first = await page.evaluate(() => window.__live.firstRows);
    assert.ok(first > 0 && first < 20, `the list first showed ${first} rows while the check ran`);
    // Every message once, though the list was not read again at the end.
    assert.equal(await page.locator('#messages').getAttribute('data-total'), '20');
  } catch (e) {
    if (page) await screenshot(page, 'live-list').catch(() => {});
    for (const p of [dovecot, relay]) if (p) t.diagnostic(p.log());
    throw e;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
});
