// End-to-end: the UI in the browser's language (issue 18). Chromium runs with --lang=it-IT in an
// it-IT context: the account form, the certificate question, the message list with mail from a
// real Dovecot, the reader and the settings speak Italian with no English sentence of the UI
// left (mail content aside), axe-core finds nothing; German chosen in Settings applies at once,
// sets <html lang>, and is kept after a reload.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { fixtures, launchBrowser, randomPassword, screenshot, startDovecot, startRelay } from './harness.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const APP_START_MS = 60_000;
const SYNC_MS = 90_000;

/** Sentences and words of the English UI; none may show in another language. */
const ENGLISH = [
  'Check mail', 'Add account', 'Settings', 'Search stored mail', 'Newest first', 'By sender',
  'Largest first', 'Export', 'Add a POP3 account', 'Other: type the server below', 'Security',
  'port 995', 'User name', 'Remember the password', 'Login method', 'Automatic', 'Relay token',
  'Mail on the server', 'Delete from the server', 'Never', 'Headers only', 'At most per check',
  'Check automatically', 'Add and check mail', 'Test connection', 'Cancel', 'Messages', 'No messages',
  'attachment', 'attachments', 'Unread', 'View source', 'Save', 'Delete', 'Close', 'Accounts', 'Import',
  'Storage', 'Persistent', 'Ready', 'Not yet', 'Edit', 'Remove', 'On the server',
  'new messages', 'new message', 'No new mail', 'Trust', 'certificate', "Don't", 'Loading', 'Sign in',
  'Language', 'the server', 'Stop', 'Checking', 'Downloading', 'Sender', 'verified', 'remote',
  'Subject', 'From', 'To', 'Date', 'Message', 'Mailbox', 'Sort messages',
];

/**
 * The UI's own text on the page: visible text and the labels people hear (aria-label, title,
 * placeholder), without what comes from the mail (subjects, senders, bodies, headers) or from
 * the user (inputs, the fingerprint, the server's own words).
 */
async function uiText(page) {
  return page.evaluate(() => {
    const MAIL = [
      '#messages .subject', '#messages .snippet', '#messages .from', '#reader .subject', '#reader dd',
      '#reader pre', '#reader .attachments .name', '#reader .attachments .type', 'code', '#status .detail',
      '#settings .account .name', 'option[lang]', '#mailbox option', 'h1',
    ].join(',');
    const parts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || el.closest(MAIL) || el.closest('script,style')) continue;
      if (!el.checkVisibility()) continue;
      parts.push(node.textContent);
    }
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]')) {
      if (el.closest(MAIL) || !el.checkVisibility()) continue;
      for (const a of ['aria-label', 'title', 'placeholder']) {
        const v = el.getAttribute(a);
        if (v) parts.push(v);
      }
    }
    return parts.join('\n');
  });
}

/** The English of the UI found in `text`, as whole words. */
function english(text) {
  return ENGLISH.filter((e) => new RegExp(`(^|[^\\p{L}'])${e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}'])`, 'u').test(text));
}

async function violations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`,
  );
}

/** The view speaks Italian: the `expected` sentences are there, no English is, axe is clean. */
async function italian(page, t, view, expected) {
  const text = await uiText(page);
  for (const sentence of expected) assert.ok(text.includes(sentence), `${view}: "${sentence}" missing in:\n${text}`);
  assert.deepEqual(english(text), [], `${view}: English left in:\n${text}`);
  const found = await violations(page);
  if (found.length) t.diagnostic(`${view}: ${found.join('\n')}`);
  assert.deepEqual(found, [], `${view}: axe-core`);
}

test('the UI in Italian for a browser in it-IT, German from Settings, no English left, axe clean', async (t) => {
  const cleanups = [];
  let page;
  try {
    const password = randomPassword();
    const dovecot = await startDovecot({ user: 'alice', password });
    cleanups.push(() => dovecot.stop());
    const relay = await startRelay({ allow: [`127.0.0.1:${dovecot.pop3s_port}`] });
    cleanups.push(() => relay.stop());
    const browser = await launchBrowser({ args: ['--lang=it-IT'] });
    cleanups.push(() => browser.close());
    // The page's CSP allows only its own scripts: the context bypasses CSP for axe alone.
    const context = await browser.newContext({ locale: 'it-IT', bypassCSP: true });
    page = await context.newPage();
    await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
    await page.locator('#account-form').waitFor({ state: 'visible', timeout: APP_START_MS });
    assert.equal(await page.getAttribute('html', 'lang'), 'it');
    await italian(page, t, 'account form', [
      'Aggiungi un account POP3', 'Nome utente', 'Ricorda la password su questo dispositivo',
      'Prova connessione', 'Aggiungi e controlla la posta', 'Posta sul server',
    ]);

    // A mistake in the form is said in Italian.
    await page.click('#add-account');
    await page.locator('#account-form .error', { hasText: 'Compila server, nome utente e password.' }).waitFor({ timeout: 10_000 });

    await page.fill('#host', '127.0.0.1');
    await page.fill('#port', String(dovecot.pop3s_port));
    await page.selectOption('#security', 'tls');
    await page.fill('#user', 'alice');
    await page.fill('#password', password);
    await page.click('#add-account');

    // The certificate question: Dovecot's certificate is self-signed. The engine worker says
    // what is wrong with it in Italian too.
    await page.locator('#cert-prompt').waitFor({ timeout: SYNC_MS });
    await italian(page, t, 'certificate question', [
      'Considerare affidabile il certificato di questo server?', 'il certificato del server',
      'Fidati e controlla la posta',
    ]);
    await page.click('#trust-cert');

    const subjects = fixtures().map((f) => f.subject);
    await page.locator('#status .info', { hasText: `${subjects.length} nuovi messaggi per alice@` }).waitFor({ timeout: SYNC_MS });
    assert.equal(await page.locator('#messages .message-row').count(), subjects.length);
    await italian(page, t, 'message list', ['Controlla posta', 'Cerca nella posta salvata (/)', 'Impostazioni']);

    // The reader, on the message with an attachment: its size with a decimal comma or in KB.
    const withAttachment = fixtures().find((f) => f.file.startsWith('05-')).subject;
    await page.locator('#messages .message-row', { hasText: withAttachment }).first().click();
    await page.locator('#reader').waitFor({ timeout: 30_000 });
    await italian(page, t, 'reader', ['Da', 'Data', 'Mostra sorgente', 'Salva .eml', 'Elimina', 'Allegati']);
    // The date in Italian (Intl.DateTimeFormat): a weekday or month name of it-IT.
    const date = await page.textContent('#reader dd.date');
    assert.match(date, /lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre/, date);
    await page.click('#reader .close');

    await page.click('#settings-toggle');
    await page.locator('#settings').waitFor({ timeout: 30_000 });
    await italian(page, t, 'settings', ['Impostazioni', 'Lingua', 'Account', 'Importa', 'Chiudi']);
    assert.equal(await page.inputValue('#language'), 'it');

    // German, at once, everywhere, and kept.
    await page.selectOption('#language', 'de');
    await page.locator('#settings-title', { hasText: 'Einstellungen' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal((await page.textContent('#check-mail')).trim(), 'E-Mails abrufen');
    assert.equal(await page.getAttribute('#search', 'placeholder'), 'Gespeicherte Mails durchsuchen (/)');
    const german = await uiText(page);
    assert.deepEqual(english(german), [], `German: English left in:\n${german}`);
    assert.deepEqual(await violations(page), [], 'German settings: axe-core');
    await page.reload({ waitUntil: 'load' });
    await page.locator('#check-mail', { hasText: 'E-Mails abrufen' }).waitFor({ timeout: APP_START_MS });
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
  } catch (error) {
    const file = page && (await screenshot(page, 'i18n'));
    if (file) t.diagnostic(`screenshot: ${file}`);
    throw error;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
});
