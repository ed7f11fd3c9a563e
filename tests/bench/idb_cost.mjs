// What IndexedDB costs per record and per byte in this Chromium: a worker puts N records of SIZE
// bytes (base64-like text from random bytes, as attachments are), PER to a strict readwrite
// transaction (57: the app's batch), each whole (`{id, raw}`, raw a Uint8Array, or a Blob with
// MODE "blob") or, with CHUNK, split into CHUNK-byte parts in a second store; prints the wall
// time, the time spent in put() calls (a Blob's making included), the CPU seconds of every
// Chromium process and the origin's storage use after it.
//
// Usage: node tests/bench/idb_cost.mjs '[[SIZE, CHUNK, N, PER, MODE], ...]'
//   e.g. '[[262144,0,200,57,"array"],[262144,0,200,57,"blob"],[300,0,9000,57]]'
// Environment: CHROMIUM.
//
// Measured on the 2-core machine, 2026-11-28 (Chromium 156), 60 MB each, with lorem-ipsum text
// then: records of 20-60 KB took 1.0-1.9 s and 1.5-3.6 CPU-s; records over 64 KiB (66 KB,
// 70 KB, 100 KB, 200 KB, 2 MB) 0.32-0.48 s and 0.5-0.8 CPU-s: Chromium stores a value over
// 64 KiB apart from its database (wrapped), and that path is about three times cheaper per
// byte. Splitting 200 KB records into 60 KB parts made them three times dearer. 9,000 records
// of 300 bytes took 1.4-1.9 s and 2.2-3.5 CPU-s whether 57, 171 or 1,000 went to a
// transaction: a cost per record of about 0.2 ms of wall time, which a download pays three
// times per message (ledger entry, summary, message).
//
// 2026-11-29, random base64, 200 records of 256 KiB (52 MB; the app's packs), three runs turn
// about: a Uint8Array 837-1,102 ms (put() 445-682 ms, 1.16-2.4 CPU-s), a Blob 624-706 ms
// (273-295 ms, 0.88-1.08 CPU-s); 60 records of 1 MB: 644-758 ms (374-436) against 523-540 ms
// (202-220). Storage use grew by the same 52.5 MB either way. 1,000 records of 40 KB were the
// other way round (array 716 ms, put() 210; Blob 1,421, 813). In the app, though, packs and
// large messages as Blobs made a 3,000-message download slower (profile_worker.mjs, five runs
// each, turn about: 9.15-10.21 s against 7.99-9.33 s; the browser process 3.8-4.4 CPU-s against
// 2.9-3.6), although the engine's put() time fell from about 1.1 s to 0.1 s: the Blob's bytes
// cross to the browser process apart from the transaction, at more cost in total than the
// wrapping Chromium does itself, on a machine whose two cores are already full. Left as arrays.
import { BYTES_JS, workerPage } from './common.mjs';
import { readFileSync, readdirSync } from 'node:fs';
const page = `<!doctype html><script>
const w = new Worker('/w.js'); w.onmessage = (e) => { window.__done = e.data; };
window.go = (cfg) => { window.__done = null; w.postMessage(cfg); };
</script>`;
const worker = `${BYTES_JS}
onmessage = async (e) => {
  const { n, size, chunk, name, per = 57, mode = 'array' } = e.data;
  const db = await new Promise((res, rej) => { const o = indexedDB.open(name, 1);
    o.onupgradeneeded = () => { o.result.createObjectStore('m', { keyPath: 'id' }); o.result.createObjectStore('p'); };
    o.onsuccess = () => res(o.result); o.onerror = () => rej(o.error); });
  const text = bytes(size + 200);
  const t0 = performance.now(); let putMs = 0;
  for (let i = 0; i < n; i += per) {
    const tx = db.transaction(['m', 'p'], 'readwrite', { durability: 'strict' });
    const m = tx.objectStore('m'), p = tx.objectStore('p');
    for (let j = i; j < Math.min(n, i + per); j++) {
      const raw = text.slice(j % 97, j % 97 + size);
      const a = performance.now();
      if (chunk && size > chunk) {
        m.put({ id: 'm' + j, parts: Math.ceil(size / chunk) });
        for (let k = 0; k * chunk < size; k++) p.put(raw.subarray(k * chunk, (k + 1) * chunk).slice(), ['m' + j, k]);
      } else if (mode === 'blob') m.put({ id: 'm' + j, raw: new Blob([raw]) }); else m.put({ id: 'm' + j, raw });
      putMs += performance.now() - a;
    }
    await new Promise((r) => { tx.oncomplete = r; });
  }
  const ms = performance.now() - t0; db.close(); await new Promise((r) => setTimeout(r, 2000)); const est = await navigator.storage.estimate();
  postMessage({ ms, putMs, usage: est.usage });
};`;
const { page: p, close } = await workerPage(page, worker);
// CPU seconds of every Chromium process (utime + stime; ticks of 1/100 s).
const cpu = () => {
  let t = 0; for (const d of readdirSync('/proc')) { if (!/^\d+$/.test(d)) continue;
    try { const st = readFileSync(`/proc/${d}/stat`, 'utf8'); if (!st.includes('(chromium)')) continue;
      const f = st.slice(st.lastIndexOf(')') + 2).split(' '); t += +f[11] + +f[12]; } catch {} }
  return t / 100; };
let k = 0;
for (const [size, chunk, n, per, mode] of JSON.parse(process.argv[2])) {
  const c0 = cpu();
  await p.evaluate((cfg) => window.go(cfg), { n, size, chunk, per, mode, name: "db" + k++ });
  const r = await p.waitForFunction(120000, () => window.__done);
  console.log(JSON.stringify({ mode, size, chunk, n, per, MB: +(n * size / 1e6).toFixed(1), ms: Math.round(r.ms), putMs: Math.round(r.putMs), chromiumCpuS: +(cpu() - c0).toFixed(2), usageMB: +(r.usage / 1e6).toFixed(1) }));
}
await close();
