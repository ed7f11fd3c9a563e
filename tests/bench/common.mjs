// What the bench's browser programs (browser.mjs, app.mjs, the IndexedDB experiments) share:
// their settings from the environment, the relay serving the built app, and how Chromium is
// launched.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { launch } from './cdp.mjs';

/** Environment variable `name`; its absence is an error. */
export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

/**
 * Starts POSTINO_RELAY_BIN on a free loopback port serving POSTINO_DIST, with `args` added;
 * `stop()` kills it (also done when this process exits). Returns { url, stop }.
 */
export async function startRelay(args = []) {
  const relay = spawn(env('POSTINO_RELAY_BIN'), ['--listen', '127.0.0.1:0', '--dist', env('POSTINO_DIST'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => relay.kill('SIGKILL');
  process.on('exit', stop);
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: relay.stdout });
    lines.once('line', (line) => {
      const m = line.match(/listening on (http:\/\/\S+)/);
      m ? resolve(m[1]) : reject(new Error(`relay said: ${line}`));
    });
    relay.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { url, stop };
}

/** Launch options for CHROMIUM (default Debian's), quiet and without background traffic. */
export const CHROMIUM = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
};

/**
 * Source of `bytes(len)` for a page or a worker of the IndexedDB experiments: `len` bytes of
 * base64-like text from random bytes, in lines of 78, as attachments are.
 */
export const BYTES_JS = `const bytes = (len) => { const out = new Uint8Array(len);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const r = new Uint8Array(65536); crypto.getRandomValues(r);
  for (let i = 0; i < len; i++) out[i] = (i % 78 === 77) ? 10 : abc.charCodeAt(r[i % 65536] & 63);
  return out; };`;

/**
 * Serves `page` at / and `worker` at /w.js on 127.0.0.1, launches headless Chromium and opens
 * the page: for the IndexedDB experiments (idb_cost.mjs, idb_read.mjs). Returns { page,
 * close() }.
 */
export async function workerPage(page, worker) {
  const server = createServer((req, res) => {
    res.setHeader('content-type', req.url === '/w.js' ? 'text/javascript' : 'text/html');
    res.end(req.url === '/w.js' ? worker : page);
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const browser = await launch(CHROMIUM);
  const p = await browser.newPage();
  await p.goto(`http://127.0.0.1:${server.address().port}/`);
  return { page: p, close: async () => { await browser.close(); server.close(); } };
}
