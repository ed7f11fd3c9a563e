// Accessibility: axe-core's WCAG 2 A and AA rules on every view of the app (message list,
// reader, account form, settings), in light and dark, on a desktop and a phone viewport.
// The demo relay fills the app with mail without any server.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { launchBrowser, screenshot, startRelay } from './harness.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const APP_START_MS = 60_000;

/** axe's violations on the page as it is now, as readable lines. */
async function violations(page) {
  // The page's CSP allows only its own scripts: the context bypasses CSP for axe alone.
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`,
  );
}

for (const [scheme, viewport] of [
  ['light', { width: 1280, height: 800 }],
  ['dark', { width: 390, height: 800 }],
]) {
  test(`accessibility: no WCAG 2 A/AA violations in any view, ${scheme}, ${viewport.width}px wide`, async (t) => {
    const relay = await startRelay({ demo: true });
    const browser = await launchBrowser();
    const context = await browser.newContext({ viewport, colorScheme: scheme, bypassCSP: true });
    const page = await context.newPage();
    try {
      await page.goto(relay.url, { waitUntil: 'load', timeout: APP_START_MS });
      await page.locator('#messages .message-row').first().waitFor({ timeout: APP_START_MS });
      const found = {};
      found.list = await violations(page);
      await page.locator('#messages .message-row').first().click();
      await page.locator('#reader').waitFor({ timeout: 30_000 });
      found.reader = await violations(page);
      await page.click('#reader .close');
      await page.click('#new-account');
      await page.locator('#account-form').waitFor({ timeout: 30_000 });
      found.form = await violations(page);
      await page.click('#settings-toggle');
      await page.locator('#settings').waitFor({ timeout: 30_000 });
      found.settings = await violations(page);
      for (const [view, list] of Object.entries(found)) {
        if (list.length) t.diagnostic(`${view}: ${list.join('\n')}`);
      }
      assert.deepEqual(found, { list: [], reader: [], form: [], settings: [] });
    } catch (error) {
      const file = await screenshot(page, `a11y-${scheme}`);
      if (file) t.diagnostic(`screenshot: ${file}`);
      throw error;
    } finally {
      await browser.close();
      await relay.stop();
    }
  });
}
