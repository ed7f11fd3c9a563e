// Chromium driven through the DevTools protocol alone, over a pipe, for the benchmarks that time
// a download: nothing but what a script here asks for is enabled.
//
// Why not Playwright here: it enables the Network domain in every page and worker it attaches
// to, so each WebSocket frame the engine receives is also base64-encoded by Chromium, sent over
// the DevTools pipe and parsed by node. Measured on a 3,000-message download (144 MB in 8,600
// frames): 197 MB of protocol traffic, on a two-core machine where the browser, the engine,
// Dovecot and the relay already compete for CPU. A person's browser has no DevTools attached,
// so a benchmark must not either. The end-to-end tests keep Playwright.
//
// The page API is the little the benchmarks need: waitFor, fill, select, check, click (real
// input events through Input.dispatchMouseEvent), evaluate, and the engine worker's session.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CDP connection over Chromium's --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-framed). */
class Connection {
  constructor(input, output) {
    this.input = input;
    this.nextId = 1;
    this.replies = new Map();
    this.listeners = new Map();
    let pending = '';
    output.setEncoding('utf8');
    output.on('data', (chunk) => {
      pending += chunk;
      let end;
      while ((end = pending.indexOf('\0')) >= 0) {
        const message = JSON.parse(pending.slice(0, end));
        pending = pending.slice(end + 1);
        this.dispatch(message);
      }
    });
    output.on('close', () => {
      for (const { reject } of this.replies.values()) reject(new Error('Chromium closed the pipe'));
      this.replies.clear();
    });
  }

  dispatch(message) {
    if (message.id !== undefined) {
      const reply = this.replies.get(message.id);
      this.replies.delete(message.id);
      if (!reply) return;
      if (message.error) reply.reject(new Error(`${reply.method}: ${message.error.message}`));
      else reply.resolve(message.result);
      return;
    }
    // A copy: a `once` listener removes itself while this runs.
    for (const listener of [...(this.listeners.get(message.method) ?? [])]) {
      listener(message.params, message.sessionId);
    }
  }

  /** Sends `method` (to `sessionId`, a flattened target session, if given); its result. */
  send(method, params = {}, sessionId, ms = 60_000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`${method}: no answer in ${ms} ms`));
      }, ms);
      this.replies.set(id, {
        method,
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.input.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });
  }

  on(method, listener) {
    const list = this.listeners.get(method) ?? [];
    list.push(listener);
    this.listeners.set(method, list);
  }

  /** The next `method` event for which `accept(params, sessionId)` holds: its params. */
  once(method, accept = () => true) {
    return new Promise((resolve) => {
      const listener = (params, sessionId) => {
        if (!accept(params, sessionId)) return;
        const list = this.listeners.get(method);
        list.splice(list.indexOf(listener), 1);
        resolve(params);
      };
      this.on(method, listener);
    });
  }
}

/** One target's session: `send`, and `evaluate` of an expression or a function with arguments. */
class Session {
  constructor(connection, sessionId) {
    this.connection = connection;
    this.sessionId = sessionId;
  }

  send(method, params = {}, ms) {
    return this.connection.send(method, params, this.sessionId, ms);
  }

  /** The value of `f(...args)` (a function, its source sent) or of an expression string. */
  async evaluate(f, ...args) {
    const expression = typeof f === 'function'
      ? `(${f})(...${JSON.stringify(args)})`
      : f;
    const { result, exceptionDetails } = await this.send('Runtime.evaluate', {
      expression, returnByValue: true, awaitPromise: true,
    });
    if (exceptionDetails) {
      throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    }
    return result.value;
  }
}

/** A page: the little of Playwright's Page the benchmarks use. */
class Page extends Session {
  constructor(connection, sessionId) {
    super(connection, sessionId);
    this.workers = new Map(); // url -> Session
    connection.on('Target.attachedToTarget', ({ sessionId: id, targetInfo }, parent) => {
      if (parent !== this.sessionId || targetInfo.type !== 'worker') return;
      this.workers.set(targetInfo.url, new Session(connection, id));
      // Attached paused (waitForDebuggerOnStart, so that nothing runs unobserved): go on.
      connection.send('Runtime.runIfWaitingForDebugger', {}, id).catch(() => {});
    });
    connection.on('Target.detachedFromTarget', ({ sessionId: id }) => {
      for (const [url, worker] of this.workers) if (worker.sessionId === id) this.workers.delete(url);
    });
  }

  /** The session of the first worker whose URL matches `pattern`, or null. */
  worker(pattern) {
    for (const [url, worker] of this.workers) if (pattern.test(url)) return worker;
    return null;
  }

  async goto(url) {
    const loaded = this.connection.once('Page.loadEventFired', (_, id) => id === this.sessionId);
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /**
   * Waits until `selector` matches an element (visible: with a box), or with `gone` until none
   * does; throws after `ms`.
   */
  async waitFor(selector, ms = 60_000, gone = false) {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = await this.evaluate((s) => {
        const el = document.querySelector(s);
        return !!el && el.getClientRects().length > 0;
      }, selector);
      if (found !== gone) return;
      if (Date.now() > deadline) throw new Error(`${selector}: not ${gone ? 'gone' : 'shown'} in ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until `f(...args)` in the page is truthy (polled every 50 ms); its value. */
  async waitForFunction(ms, f, ...args) {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await this.evaluate(f, ...args);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`no answer in ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** How many elements match `selector`. */
  count(selector) {
    return this.evaluate((s) => document.querySelectorAll(s).length, selector);
  }

  /** Sets an input's value as typing would end: `input` then `change` events. */
  async fill(selector, value) {
    await this.waitFor(selector);
    await this.evaluate((s, v) => {
      const el = document.querySelector(s);
      el.focus();
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, selector, value);
  }

  select(selector, value) {
    return this.fill(selector, value);
  }

  /**
   * A real click (mouse events through the input pipeline) at the middle of the element, the
   * `nth` that `selector` matches.
   */
  async click(selector, ms, nth = 0) {
    await this.waitFor(selector, ms);
    const box = await this.evaluate((s, n) => {
      const el = document.querySelectorAll(s)[n];
      el.scrollIntoView({ block: 'nearest' });
      const r = el.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    }, selector, nth);
    for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
      await this.send('Input.dispatchMouseEvent', {
        type, x: box.x, y: box.y, button: 'left', clickCount: type === 'mouseMoved' ? 0 : 1,
      });
    }
  }

  /** Clicks a checkbox or radio unless it is checked already. */
  async check(selector) {
    await this.waitFor(selector);
    if (!(await this.evaluate((s) => document.querySelector(s).checked, selector))) {
      await this.click(selector);
    }
  }

  textContent(selector) {
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
  }

  /** `f` runs in every new document before its own scripts. */
  addInitScript(f) {
    return this.send('Page.addScriptToEvaluateOnNewDocument', { source: `(${f})()` });
  }
}

/**
 * Launches Chromium (`options` as for Playwright's launch: executablePath, args) headless with
 * a fresh profile; returns { newPage(), close() }. Pages see their workers (auto-attach) and
 * nothing else is enabled.
 */
export async function launch(options) {
  const profile = mkdtempSync(join(tmpdir(), 'postino-cdp-'));
  const child = spawn(options.executablePath, [
    '--headless=new', '--remote-debugging-pipe', `--user-data-dir=${profile}`,
    '--no-default-browser-check', '--password-store=basic', '--use-mock-keychain',
    ...(options.args ?? []), 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const connection = new Connection(child.stdio[3], child.stdio[4]);
  const close = async () => {
    try {
      await connection.send('Browser.close', {}, undefined, 5_000);
    } catch {}
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  };
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  await connection.send('Browser.getVersion');
  return {
    connection,
    pid: child.pid,
    async newPage() {
      const { targetId } = await connection.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await connection.send('Target.attachToTarget', { targetId, flatten: true });
      const page = new Page(connection, sessionId);
      await page.send('Page.enable');
      await page.send('Runtime.enable');
      await page.send('Target.setAutoAttach', {
        autoAttach: true, waitForDebuggerOnStart: true, flatten: true,
      });
      return page;
    },
    close,
    /** Starts a trace of every process with these categories. */
    startTracing(categories) {
      return connection.send('Tracing.start', {
        transferMode: 'ReturnAsStream',
        traceConfig: { includedCategories: categories, recordMode: 'recordAsMuchAsPossible' },
      });
    },
    /** Ends the trace; its events. */
    async stopTracing() {
      const complete = connection.once('Tracing.tracingComplete');
      await connection.send('Tracing.end');
      const { stream } = await complete;
      let text = '';
      for (;;) {
        const { data, eof, base64Encoded } = await connection.send('IO.read', { handle: stream, size: 1 << 20 });
        text += base64Encoded ? Buffer.from(data, 'base64').toString('utf8') : data;
        if (eof) break;
      }
      await connection.send('IO.close', { handle: stream });
      const trace = JSON.parse(text);
      return trace.traceEvents ?? trace;
    },
  };
}
