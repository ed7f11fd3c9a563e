// End-to-end: address-first account setup (real Chromium, the real relay, a real Dovecot, and
// dnsmasq as the DNS server the relay asks). The user types the address; the relay finds the
// POP3 server in the domain's SRV records (RFC 6186); the form says what it found and where
// from; the account is added and mail arrives.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  fixtures,
  launchBrowser,
  randomPassword,
  screenshot,
  startDnsmasq,
  startDovecot,
  startRelay,
  waitForSubjects,
} from './harness.mjs';

const APP_START_MS = 60_000;
const SYNC_MS = 90_000;

test('address first: the server found through SRV records, said where from, mail downloaded', async (t) => {
  const cleanups = [];
  let page;
  const logs = [];
  try {
    const address = 'alice@example.test';
    const password = randomPassword();
    const dovecot = await startDovecot({ user: address, password });
    cleanups.push(() => dovecot.stop());
    logs.push(dovecot.log);
    // The domain publishes its POP3 server (TLS) as localhost on Dovecot's port.
    const dns = await startDnsmasq([
      `srv-host=_pop3s._tcp.example.test,localhost,${dovecot.pop3s_port},0,0`,
      'address=/localhost/127.0.0.1',
    ]);
    cleanups.push(() => dns.stop());
    logs.push(dns.log);
    const relay = await startRelay({
      allow: [`localhost:${dovecot.pop3s_port}`],
      dnsServer: dns.address,
    });
    cleanups.push(() => relay.stop());
    logs.push(relay.log);
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    page = await (await browser.newContext()).newPage();
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });

    await page.fill('#address', address);
    await page.fill('#password', password);
    await page.click('#find-server');
    const found = page.locator('#found-server', { hasText: 'Found' });
    await found.waitFor({ timeout: 30_000 });
    const sentence = await found.textContent();
    assert.match(sentence, new RegExp(`localhost:${dovecot.pop3s_port}`), sentence);
    assert.match(sentence, /SRV/, sentence);
    assert.equal(await page.inputValue('#host'), 'localhost');
    assert.equal(await page.inputValue('#port'), String(dovecot.pop3s_port));
    assert.equal(await page.inputValue('#security'), 'tls');
    assert.equal(await page.inputValue('#user'), address, 'the address is the user name');

    await page.click('#add-account');
    await page.locator('#trust-cert').click({ timeout: 30_000 });
    await waitForSubjects(page, fixtures().map((m) => m.subject), SYNC_MS);
  } catch (e) {
    if (page) await screenshot(page, 'address-first').catch(() => {});
    for (const log of logs) t.diagnostic(log());
    throw e;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
});

test('address first: nothing published, the usual names are guessed and the form stays editable', async (t) => {
  const cleanups = [];
  let page;
  try {
    const dns = await startDnsmasq([]);
    cleanups.push(() => dns.stop());
    const relay = await startRelay({ dnsServer: dns.address });
    cleanups.push(() => relay.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    page = await (await browser.newContext()).newPage();
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    await page.fill('#address', 'bob@nothing.test');
    await page.click('#find-server');
    await page.locator('#found-server', { hasText: /no server|usual name/ }).waitFor({ timeout: 30_000 });
    assert.equal(await page.inputValue('#user'), 'bob@nothing.test');
    // A bad address is said so, and nothing is asked of the relay.
    await page.fill('#address', 'bob');
    await page.click('#find-server');
    await page.locator('#found-server', { hasText: 'whole e-mail address' }).waitFor({ timeout: 5_000 });
  } catch (e) {
    if (page) await screenshot(page, 'address-first-nothing').catch(() => {});
    throw e;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
});
