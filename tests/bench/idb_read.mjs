// How long a page's read of one IndexedDB record takes while a worker writes, as the app's
// reader opens a message during a download: the worker puts N records of SIZE bytes, PER to a
// readwrite transaction (DURABILITY), one transaction after another; meanwhile the page, every
// 100 ms, reads one of 20 records of READ bytes stored before (a readonly transaction over the
// written store and the read one, as the reader's spans the stores a commit writes) and times
// it from its creation to `complete`. N = 0: the page reads with nothing else going on.
//
// Usage: node tests/bench/idb_read.mjs '[[N, SIZE, PER, READ, DURABILITY], ...]'
//   e.g. '[[0,0,1,262144,"strict"],[600,262144,16,262144,"strict"],[600,262144,4,262144,"strict"]]'
// Environment: CHROMIUM. Prints a JSON line per configuration: the reads' median, p90 and max,
// and the writer's wall time.
import { BYTES_JS, workerPage } from './common.mjs';

const open = `const openDb = (name) => new Promise((res, rej) => { const o = indexedDB.open(name, 1);
  o.onupgradeneeded = () => { o.result.createObjectStore('m', { keyPath: 'id' }); o.result.createObjectStore('seed', { keyPath: 'id' }); };
  o.onsuccess = () => res(o.result); o.onerror = () => rej(o.error); });`;
const page = `<!doctype html><script>${BYTES_JS}${open}
const w = new Worker('/w.js');
window.go = async (cfg) => {
  const { name, n, read } = cfg;
  const db = await openDb(name);
  const raw = bytes(read);
  await new Promise((r) => { const tx = db.transaction('seed', 'readwrite');
    for (let i = 0; i < 20; i++) tx.objectStore('seed').put({ id: 's' + i, raw: raw.slice() }); tx.oncomplete = r; });
  const reads = [];
  let writing = n > 0;
  const done = n > 0 ? new Promise((r) => { w.onmessage = (e) => { writing = false; r(e.data); }; }) : null;
  if (n > 0) w.postMessage(cfg);
  const t0 = performance.now();
  while (writing || (n === 0 && performance.now() - t0 < 5000)) {
    await new Promise((r) => setTimeout(r, 100));
    const a = performance.now();
    const tx = db.transaction(['m', 'seed'], 'readonly');
    const got = tx.objectStore('seed').get('s' + Math.floor(Math.random() * 20));
    await new Promise((r) => { tx.oncomplete = r; });
    if (!got.result?.raw) throw new Error('no record');
    if (writing || n === 0) reads.push(performance.now() - a);
  }
  const writer = done ? await done : null;
  db.close();
  window.__done = { reads, writer };
};
</script>`;
const worker = `${BYTES_JS}${open}
onmessage = async (e) => {
  const { name, n, size, per, durability } = e.data;
  const db = await openDb(name);
  const text = bytes(size + 200);
  const t0 = performance.now();
  for (let i = 0; i < n; i += per) {
    const tx = db.transaction(['m', 'seed'], 'readwrite', { durability });
    for (let j = i; j < Math.min(n, i + per); j++) tx.objectStore('m').put({ id: 'm' + j, raw: text.slice(j % 97, j % 97 + size) });
    await new Promise((r) => { tx.oncomplete = r; });
  }
  postMessage({ ms: performance.now() - t0 });
  db.close();
};`;
const { page: p, close } = await workerPage(page, worker);
let k = 0;
for (const [n, size, per, read, durability] of JSON.parse(process.argv[2])) {
  await p.evaluate((cfg) => { window.__done = null; window.go(cfg).catch((e) => { window.__done = { error: String(e) }; }); },
    { n, size, per, read, durability, name: 'db' + k++ });
  const r = await p.waitForFunction(300_000, () => window.__done);
  if (r.error) throw new Error(r.error);
  const s = [...r.reads].sort((a, b) => a - b);
  const at = (q) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  console.log(JSON.stringify({ n, size, per, tx_MB: +(size * per / 1e6).toFixed(2), read, durability,
    reads: s.length, median_ms: at(0.5), p90_ms: at(0.9), max_ms: Math.round(s.at(-1)),
    writer_ms: r.writer ? Math.round(r.writer.ms) : null }));
}
await close();
