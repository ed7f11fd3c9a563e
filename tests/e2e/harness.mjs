// Shared helpers for the end-to-end tests: spawn the testkit's Dovecot and the relay (and kill
// them whatever happens), a recording TCP proxy, Chromium through playwright-core, the fixtures.
//
// Environment:
//   POSTINO_RELAY_BIN    the relay binary     (default: target/debug/postino-relay)
//   POSTINO_TESTKIT_BIN  the testkit binary   (default: target/debug/postino-testkit)
//   POSTINO_DIST         the built app folder (default: dist)
//   CHROMIUM             the browser          (default: /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = path.join(REPO_ROOT, 'tests/fixtures/mail');
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'target/e2e');

/** How long a spawned process may take to print its first line. */
const STARTUP_TIMEOUT_MS = 30_000;
/** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

const SETTINGS = {
  relayBin: ['POSTINO_RELAY_BIN', 'target/debug/postino-relay'],
  testkitBin: ['POSTINO_TESTKIT_BIN', 'target/debug/postino-testkit'],
  dist: ['POSTINO_DIST', 'dist'],
  chromium: ['CHROMIUM', '/usr/bin/chromium'],
};

/**
 * One setting ('relayBin', 'testkitBin', 'dist' or 'chromium') from the environment, relative
 * paths taken from the repo root; fails clearly when the file or folder does not exist.
 */
export function setting(key) {
  const [name, fallback] = SETTINGS[key];
  const value = process.env[name] || fallback;
  const file = path.isAbsolute(value) ? value : path.join(REPO_ROOT, value);
  if (!existsSync(file)) {
    throw new Error(`${name}: ${file} does not exist (build it first, or set ${name})`);
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed on exit, even when a test fails or throws.

const children = new Set();

function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * Spawns `bin args`, resolves with the first stdout line once it matches `firstLine` (a RegExp),
 * and returns { child, match, log(), stop() }. Later output is kept (the tail) for diagnostics.
 */
export function spawnTracked(name, bin, args, firstLine, { keepStdinOpen = false, env } = {}) {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : undefined });
  children.add(child);
  const output = [];
  const remember = (stream) => (line) => {
    output.push(`[${name} ${stream}] ${line}`);
    if (output.length > 200) output.shift();
  };
  createInterface({ input: child.stderr }).on('line', remember('stderr'));
  if (!keepStdinOpen) child.stdin.end();
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));

  const log = () => output.join('\n');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      stop().finally(() => reject(new Error(`${name}: ${why}\n${log()}`)));
    };
    const timer = setTimeout(() => fail(`no first line within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    child.once('error', (e) => fail(`cannot run ${bin}: ${e.message}`));
    exited.then(({ code, signal }) => fail(`exited (code ${code}, signal ${signal}) before its first line`));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (settled) {
        remember('stdout')(line);
        return;
      }
      clearTimeout(timer);
      const match = firstLine.exec(line);
      if (!match) {
        fail(`unexpected first line: ${JSON.stringify(line)}`);
        return;
      }
      settled = true;
      resolve({ child, match, log, stop });
    });
  });
}

/**
 * Starts Dovecot through `postino-testkit dovecot`. Its stdin stays open as a lifeline: if this
 * Node process dies, the testkit sees EOF and stops Dovecot.
 * Returns { pop3s_port, pop3_port, fingerprint, user, password, dir, log(), stop() }.
 */
export async function startDovecot({
  user = 'alice',
  password = randomPassword(),
  fixtures = FIXTURES_DIR,
  oauth = null,
  microsoftFront = false,
} = {}) {
  const testkitBin = setting('testkitBin');
  const args = ['dovecot', '--fixtures', fixtures, '--user', user, '--password', password];
  if (oauth) {
    // Dovecot takes the stand-in's access tokens too (`oauth`: a startOAuthMock() result).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-oauth-key-'));
    const keyFile = path.join(dir, 'mock.pem');
    writeFileSync(keyFile, oauth.public_key_pem);
    args.push('--oauth-issuer', oauth.url, '--oauth-kid', oauth.kid, '--oauth-public-key', keyFile);
  }
  if (microsoftFront) args.push('--microsoft-front');
  const proc = await spawnTracked(
    'testkit',
    testkitBin,
    args,
    /^(\{.*\})$/,
    { keepStdinOpen: true },
  );
  return { ...JSON.parse(proc.match[1]), log: proc.log, stop: proc.stop };
}

/**
 * Starts the relay on a free port serving the built app (`dist`: another folder than the built
 * one, e.g. a copy made into a second version). `tokens`: access tokens the relay requires
 * (written to a tokens file for `--tokens-file`).
 * Returns { url ('http://127.0.0.1:PORT'), port, log(), stop() }.
 */
export async function startRelay({
  allow = [],
  demo = false,
  dist = setting('dist'),
  tokens = [],
  oauthFile = null,
  port = 0,
  dnsServer = null,
} = {}) {
  const relayBin = setting('relayBin');
  const args = ['--listen', `127.0.0.1:${port}`, '--dist', dist];
  if (oauthFile) args.push('--oauth-file', oauthFile);
  if (dnsServer) args.push('--dns-server', dnsServer);
  for (const destination of allow) args.push('--allow', destination);
  if (demo) args.push('--demo');
  if (tokens.length > 0) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-tokens-'));
    const file = path.join(dir, 'tokens');
    writeFileSync(file, `${tokens.join('\n')}\n`, { mode: 0o600 });
    args.push('--tokens-file', file);
  }
  const proc = await spawnTracked(
    'relay',
    relayBin,
    args,
    /^postino-relay listening on (http:\/\/127\.0\.0\.1:(\d+))\/?\s*$/,
  );
  return { url: proc.match[1], port: Number(proc.match[2]), log: proc.log, stop: proc.stop };
}

/**
 * dnsmasq (Debian `dnsmasq-base`, installed by `cargo xtask setup`) as a local DNS server on
 * 127.0.0.1 and a free port, answering only from `records` (dnsmasq settings lines such as
 * `srv-host=_pop3s._tcp.example.test,localhost,995` or `address=/localhost/127.0.0.1`).
 * Returns { address ('127.0.0.1:PORT'), log(), stop() }.
 */
export async function startDnsmasq(records) {
  const binary = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => existsSync(p));
  if (!binary) throw new Error('dnsmasq is not installed (Debian: dnsmasq-base; cargo xtask setup)');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-dnsmasq-'));
  const conf = path.join(dir, 'dnsmasq.conf');
  writeFileSync(
    conf,
    [`port=${port}`, 'listen-address=127.0.0.1', 'bind-interfaces', 'no-resolv', 'no-hosts', 'local=/test/', ...records]
      .join('\n') + '\n',
  );
  const child = spawn(binary, ['--keep-in-foreground', `--conf-file=${conf}`, '--pid-file', '--log-facility=-'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  const output = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    output.push(`[dnsmasq] ${l}`);
    if (output.length > 100) output.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => children.delete(child));
  // Ready when it answers a query (probe.test A) over UDP, within 10 s.
  const { createSocket } = await import('node:dgram');
  const query = Buffer.from('0001010000010000000000000570726f6265047465737400000100 01'.replace(/ /g, ''), 'hex');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited:\n${output.join('\n')}`);
    const answered = await new Promise((resolve) => {
      const socket = createSocket('udp4');
      const timer = setTimeout(() => {
        socket.close();
        resolve(false);
      }, 100);
      socket.once('message', () => {
        clearTimeout(timer);
        socket.close();
        resolve(true);
      });
      socket.send(query, port, '127.0.0.1');
    });
    if (answered) break;
    if (Date.now() > deadline) throw new Error(`dnsmasq not ready in 10 s:\n${output.join('\n')}`);
  }
  return {
    address: `127.0.0.1:${port}`,
    log: () => output.join('\n'),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port free on 127.0.0.1 right now (for a relay whose address must be known first). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The OAuth 2.0 stand-in for Microsoft and Google (tests/oauth/mock.mjs, oauth2-mock-server):
 * `clientId`/`clientSecret` a confidential client (the relay's), `publicClientId` a public one
 * (the page's), tokens for `sub` living `accessTtl` seconds.
 * Returns { url, kid, public_key_pem, stats(), revoke(), log(), stop() }.
 */
export async function startOAuthMock({
  clientId = 'relay-client',
  clientSecret = randomPassword(),
  publicClientId = 'spa-client',
  sub = 'alice@example.org',
  accessTtl = 3600,
} = {}) {
  const proc = await spawnTracked(
    'oauth-mock',
    process.execPath,
    [path.join(REPO_ROOT, 'tests/oauth/mock.mjs')],
    /^(\{.*\})$/,
    {
      keepStdinOpen: true,
      env: {
        MOCK_CLIENT_ID: clientId,
        MOCK_CLIENT_SECRET: clientSecret,
        MOCK_PUBLIC_CLIENT_ID: publicClientId,
        MOCK_SUB: sub,
        MOCK_ACCESS_TTL: String(accessTtl),
      },
    },
  );
  const info = JSON.parse(proc.match[1]);
  const url = info.url.replace(/\/$/, '');
  return {
    ...info,
    url,
    clientId,
    clientSecret,
    publicClientId,
    stats: async () => (await fetch(`${url}/test/stats`)).json(),
    revoke: async () => {
      const answer = await fetch(`${url}/test/revoke`, { method: 'POST' });
      if (answer.status !== 204) throw new Error(`revoke: HTTP ${answer.status}`);
    },
    log: proc.log,
    stop: proc.stop,
  };
}

/**
 * The relay's `--oauth-file` for `providers` ([{name, label, mock, public}]): a public client
 * (no secret: the page redeems) or the mock's confidential one (the relay redeems with the
 * secret), redirecting back to `appUrl`'s oauth-return.html. Returns the file's path.
 */
export function writeOAuthFile(appUrl, providers) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postino-oauth-file-'));
  let text = 'key_file = "oauth.key"\n';
  for (const p of providers) {
    text += `
[[provider]]
name = "${p.name}"
label = "${p.label}"
authorize_url = "${p.mock.url}/authorize"
token_url = "${p.mock.url}/token"
client_id = "${p.public ? p.mock.publicClientId : p.mock.clientId}"
redirect_uris = ["${appUrl}/oauth-return.html"]
scopes = ["openid", "email", "offline_access", "mail"]
`;
    if (!p.public) {
      writeFileSync(path.join(dir, `${p.name}.secret`), `${p.mock.clientSecret}\n`, { mode: 0o600 });
      text += `client_secret_file = "${p.name}.secret"\n`;
    }
  }
  const file = path.join(dir, 'oauth.toml');
  writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Recording proxy: listens on 127.0.0.1, forwards to a target, keeps every byte both ways.

/**
 * Returns { port, connections, toServer(), toClient(), close() }; `toServer()` and `toClient()`
 * concatenate the bytes of all connections in that direction.
 */
export function startRecordingProxy(targetPort, targetHost = '127.0.0.1', { bytesPerSecond } = {}) {
  const clientToServer = [];
  const serverToClient = [];
  const sockets = new Set();
  let connections = 0;
  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect({ host: targetHost, port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => {
      clientToServer.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      serverToClient.push(Buffer.from(chunk));
      client.write(chunk);
      // A slow link: the server's bytes go on at `bytesPerSecond`.
      if (bytesPerSecond) {
        upstream.pause();
        setTimeout(() => upstream.resume(), (1000 * chunk.length) / bytesPerSecond);
      }
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        get connections() {
          return connections;
        },
        toServer: () => Buffer.concat(clientToServer),
        toClient: () => Buffer.concat(serverToClient),
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Browser.

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchBrowser({ args = [] } = {}) {
  const executablePath = setting('chromium');
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * Chromium with a profile on disk (a temporary folder, removed by `close()`), as an installed
 * app has: Chromium reports "in-incognito" as an installability error for `browser.newContext()`.
 * Returns the playwright BrowserContext.
 */
export async function launchPersistentBrowser() {
  const executablePath = setting('chromium');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'postino-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, args: CHROMIUM_ARGS });
  const close = context.close.bind(context);
  context.close = async () => {
    try {
      await close();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  };
  return context;
}

/** Writes target/e2e/NAME.png of the page; never throws (it runs while a failure is reported). */
export async function screenshot(page, name) {
  try {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9_-]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
    return file;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: the subjects (decoded) and body markers of tests/fixtures/mail/*.eml.

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) in a header value. */
export function decodeEncodedWords(value) {
  // Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset, encoding, text) => {
    const bytes =
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          );
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  });
}

/** [{ file, subject (decoded), rawSubject, marker }] for every fixture, in name order. */
export function fixtures(dir = FIXTURES_DIR) {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.eml'))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(dir, file), 'latin1');
      const headerEnd = text.search(/\r?\n\r?\n/);
      const headers = text.slice(0, headerEnd).replace(/\r?\n[ \t]+/g, ' ');
      const rawSubject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1].trim() ?? '';
      const marker = /marker-[a-z]+/.exec(text.slice(headerEnd))?.[0];
      if (!rawSubject || !marker) throw new Error(`fixture ${file} lacks a Subject or a marker-word`);
      return { file, subject: decodeEncodedWords(rawSubject), rawSubject, marker };
    });
}

export function randomPassword() {
  return `pw-${randomBytes(12).toString('hex')}`;
}

/** Waits until every subject is listed in #messages. */
export async function waitForSubjects(page, subjects, timeout) {
  await page
    .waitForFunction(
      (expected) => {
        const listed = [...document.querySelectorAll('#messages .message-row .subject')].map((e) =>
          e.textContent.trim(),
        );
        return expected.every((subject) => listed.includes(subject));
      },
      subjects,
      { timeout, polling: 250 },
    )
    .catch(async (error) => {
      const listed = await page.locator('#messages .message-row .subject').allTextContents();
      const status = await page.locator('#status').textContent().catch(() => null);
      throw new Error(
        `not every subject listed within ${timeout} ms\nexpected: ${JSON.stringify(subjects)}\n` +
          `listed: ${JSON.stringify(listed)}\nstatus: ${status}\n${error.message}`,
      );
    });
}

/**
 * Runs `body(use)` where `use(resource, stop)` registers a cleanup; cleanups run in reverse
 * order whatever happens, and a failing test leaves target/e2e/NAME.png of every open page.
 */
export async function withResources(t, body) {
  const cleanups = [];
  const pages = [];
  const logs = [];
  const use = (resource, stop) => {
    cleanups.push(() => stop(resource));
    if (typeof resource.log === 'function') logs.push(resource.log);
    return resource;
  };
  const usePage = (page) => {
    pages.push(page);
    page.on('console', (m) => m.type() === 'error' && t.diagnostic(`console: ${m.text()}`));
    return page;
  };
  try {
    await body(use, usePage);
  } catch (error) {
    for (const [index, page] of pages.entries()) {
      const file = await screenshot(page, `${t.name}${pages.length > 1 ? `-${index}` : ''}`);
      if (file) t.diagnostic(`screenshot: ${file}`);
    }
    for (const log of logs) {
      const text = log();
      if (text) t.diagnostic(text);
    }
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
}
