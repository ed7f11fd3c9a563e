// End-to-end: "Sign in with Microsoft / Google" in real Chromium, against a real OAuth server
// (tests/oauth/mock.mjs, oauth2-mock-server) standing in for the providers, and a Dovecot that
// validates its tokens itself (passdb oauth2), through the real relay.
//
// - Microsoft's way: a public client (no secret); the page redeems the code and refreshes at the
//   token endpoint itself; the POP3 server is the testkit's Microsoft-like front (two-step AUTH
//   only, CAPA as Microsoft's); a recording proxy between relay and server sees only TLS.
// - Google's way: the relay holds the client and its secret, redeems the code, and returns the
//   refresh token sealed; the app refreshes through the relay.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  fixtures,
  freePort,
  launchBrowser,
  randomPassword,
  startDovecot,
  startOAuthMock,
  startRecordingProxy,
  startRelay,
  waitForSubjects,
  withResources,
  writeOAuthFile,
} from './harness.mjs';

const APP_START_MS = 60_000;
const SYNC_MS = 90_000;
const USER = 'alice@example.org';
/** Access tokens live this long; the app refreshes those with under 300 s left. */
const ACCESS_TTL = 310;

/** Clicks `button` and follows the sign-in window it opens until that window closes itself. */
async function signInThrough(page, button) {
  const [popup] = await Promise.all([
    page.context().waitForEvent('page', { timeout: 30_000 }),
    page.click(button),
  ]);
  await popup.waitForEvent('close', { timeout: 30_000 });
}

async function waitForStatus(page, pattern, timeout = SYNC_MS) {
  await page.locator('#status', { hasText: pattern }).waitFor({ timeout });
}

/** Waits until the token signed in at `since` is within the app's refresh margin. */
async function untilStale(page, since) {
  const wait = since + (ACCESS_TTL - 300) * 1000 + 6000 - Date.now();
  if (wait > 0) await page.waitForTimeout(wait);
}

test('Microsoft: sign in from the page, mail, reload keeps it, refresh ahead of expiry, refused refresh asks again', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const mock = use(await startOAuthMock({ sub: USER, accessTtl: ACCESS_TTL }), (m) => m.stop());
    const dovecot = use(
      await startDovecot({ user: USER, password: randomPassword(), oauth: mock, microsoftFront: true }),
      (d) => d.stop(),
    );
    const proxy = use(await startRecordingProxy(dovecot.ms_front_port), (p) => p.close());
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    const oauthFile = writeOAuthFile(appUrl, [{ name: 'microsoft', label: 'Microsoft', mock, public: true }]);
    const relay = use(
      await startRelay({ allow: [`127.0.0.1:${proxy.port}`], oauthFile, port }),
      (r) => r.stop(),
    );
    const browser = use(await launchBrowser(), (b) => b.close());
    const context = await browser.newContext();
    const page = usePage(await context.newPage());
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });

    // The Outlook preset offers the relay's Microsoft sign-in first; the browser talks to it.
    await page.selectOption('#preset', 'outlook');
    await page.locator('#sign-in-microsoft.primary').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#sign-in .relay-sees-tokens').count(), 0);
    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(proxy.port));
    await page.selectOption('#security', 'tls');
    let signedInAt = Date.now();
    await signInThrough(page, '#sign-in-microsoft');
    // The certificate of this test server (a provider's host never gets this prompt).
    await page.locator('#trust-cert').click({ timeout: 30_000 });
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);
    assert.equal(await page.locator('#password-prompt').count(), 0, 'no password asked');
    let stats = await mock.stats();
    assert.equal(stats.public_exchanges, 1, JSON.stringify(stats));
    assert.equal(stats.exchanges, 0, 'the relay redeemed nothing');

    // Reload: the sign-in is kept (vault); a check asks for nothing.
    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(page, mail.map((m) => m.subject), APP_START_MS);
    await untilStale(page, signedInAt);
    await page.click('#check-mail');
    await waitForStatus(page, 'No new mail');
    assert.equal(await page.locator('#sign-in-prompt, #password-prompt').count(), 0);
    stats = await mock.stats();
    assert.ok(stats.public_refreshes >= 1, `refreshed ahead of expiry: ${JSON.stringify(stats)}`);
    signedInAt = Date.now();

    // The relay and everything between it and the server saw TLS only: no token, no address.
    const toServer = proxy.toServer();
    assert.equal(toServer[0], 0x16, 'TLS from the first byte');
    for (const clear of ['AUTH', 'XOAUTH2', 'OAUTHBEARER', 'Bearer', 'eyJ', USER]) {
      assert.ok(!toServer.includes(Buffer.from(clear)), `${clear} in clear towards the server`);
    }
    assert.ok(!relay.log().includes('eyJ'), 'no token in the relay log');

    // The provider ends the sign-in (revoked; Microsoft's browser sign-ins end after 24 hours):
    // the next refresh is refused, and the app asks to sign in again, saying why.
    await mock.revoke();
    await untilStale(page, signedInAt);
    await page.click('#check-mail');
    await page.locator('#sign-in-again').waitFor({ timeout: SYNC_MS });
    const reason = await page.locator('#status .error').textContent();
    assert.match(reason, /ended the sign-in/, reason);
    assert.match(reason, /Sign in with Microsoft again/, reason);
    await signInThrough(page, '#sign-in-again');
    await waitForStatus(page, 'No new mail');
    stats = await mock.stats();
    assert.equal(stats.public_exchanges, 2, JSON.stringify(stats));
    assert.equal(await page.locator('#sign-in-prompt').count(), 0);
  });
});

test('Google: the relay redeems with its secret and keeps nothing; the app refreshes through it', async (t) => {
  await withResources(t, async (use, usePage) => {
    const mail = fixtures();
    const mock = use(await startOAuthMock({ sub: USER, accessTtl: ACCESS_TTL }), (m) => m.stop());
    const dovecot = use(
      await startDovecot({ user: USER, password: randomPassword(), oauth: mock }),
      (d) => d.stop(),
    );
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    const oauthFile = writeOAuthFile(appUrl, [{ name: 'google', label: 'Google', mock, public: false }]);
    const relay = use(
      await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`], oauthFile, port }),
      (r) => r.stop(),
    );
    const browser = use(await launchBrowser(), (b) => b.close());
    const context = await browser.newContext();
    const page = usePage(await context.newPage());
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });

    await page.selectOption('#preset', 'gmail');
    await page.locator('#sign-in-google.primary').waitFor({ timeout: 10_000 });
    // Said plainly beside the choice: this relay sees the access tokens.
    const note = await page.locator('#sign-in .relay-sees-tokens').textContent();
    assert.match(note, /sees the access token/, note);
    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(dovecot.pop3s_port));
    const signedInAt = Date.now();
    await signInThrough(page, '#sign-in-google');
    await page.locator('#trust-cert').click({ timeout: 30_000 });
    await waitForSubjects(page, mail.map((m) => m.subject), SYNC_MS);
    let stats = await mock.stats();
    assert.equal(stats.exchanges, 1, `the relay redeemed the code: ${JSON.stringify(stats)}`);
    assert.equal(stats.public_exchanges, 0);

    await page.reload({ waitUntil: 'load', timeout: APP_START_MS });
    await waitForSubjects(page, mail.map((m) => m.subject), APP_START_MS);
    await untilStale(page, signedInAt);
    await page.click('#check-mail');
    await waitForStatus(page, 'No new mail');
    stats = await mock.stats();
    assert.ok(stats.refreshes >= 1, `refreshed through the relay: ${JSON.stringify(stats)}`);
    assert.equal(stats.public_refreshes, 0);
    // The relay logs the provider and the outcome, never a token.
    assert.ok(!relay.log().includes('eyJ'), 'no token in the relay log');
  });
});
