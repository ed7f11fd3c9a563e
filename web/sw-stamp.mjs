// Trunk post_build hook (Trunk.toml): writes the service worker into the staged build with this
// build's id and file list, and the id into index.html (<meta name="postino-build">).
//
// The build id is a digest of every staged file, so any change to the app gives a new id, a new
// cache name and a service worker the browser sees as new. Node only, no packages: Node is
// already needed for wasm-opt. Run by hand on a built folder with
//   TRUNK_STAGING_DIR=dist TRUNK_SOURCE_DIR=. node web/sw-stamp.mjs
// (the end-to-end update test does this to make a second version).

import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const staging = process.env.TRUNK_STAGING_DIR;
const source = process.env.TRUNK_SOURCE_DIR || process.cwd();
if (!staging) {
  console.error('sw-stamp: TRUNK_STAGING_DIR is not set (run from Trunk, or set it)');
  process.exit(1);
}

const SW = 'sw.js';
const PAGE = 'index.html';
const META = /<meta name="postino-build" content="[^"]*"\s*\/?>\s*/;

/** Every file under `dir`, as '/'-separated paths relative to it, sorted. */
function files(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? files(path.join(dir, entry.name), rel) : [rel];
    })
    .sort();
}

const pagePath = path.join(staging, PAGE);
// Stamping twice (by hand, after a change) replaces the old id.
const page = readFileSync(pagePath, 'utf8').replace(META, '');
writeFileSync(pagePath, page);

/**
 * Files the relay sends compressed (tower-http's precompressed `.br`/`.gz` beside them). Not the
 * page: the relay reads it to hash its inline script into the CSP.
 */
const COMPRESSIBLE = /\.(wasm|js|css|json|webmanifest|svg)$/;
const COMPRESSED = /\.(br|gz)$/;
const shipped = files(staging).filter((f) => f !== SW && !COMPRESSED.test(f));
const digest = createHash('sha256');
for (const file of shipped) {
  digest.update(`${file}\0`);
  digest.update(readFileSync(path.join(staging, file)));
  digest.update('\0');
}
const build = digest.digest('hex').slice(0, 16);

writeFileSync(
  pagePath,
  page.replace(/<\/head>/i, `  <meta name="postino-build" content="${build}" />\n</head>`),
);

// The page is cached as '/', which is what the relay serves it as. Each file's digest is of its
// final content (the page's, with the build id in it).
const fileDigest = (file) =>
  createHash('sha256').update(readFileSync(path.join(staging, file))).digest('hex').slice(0, 32);
const precache = shipped.map((f) => ({ url: f === PAGE ? '/' : `/${f}`, digest: fileDigest(f) }));
const template = readFileSync(path.join(source, 'web', SW), 'utf8');
const stamped = template
  .replace(/^const BUILD = .*;$/m, `const BUILD = ${JSON.stringify(build)};`)
  .replace(/^const PRECACHE = .*;$/m, `const PRECACHE = ${JSON.stringify(precache)};`);
if (!stamped.includes(build)) {
  console.error('sw-stamp: web/sw.js lacks the `const BUILD = ...;` line');
  process.exit(1);
}
writeFileSync(path.join(staging, SW), stamped);
console.log(`sw-stamp: build ${build}, ${precache.length} files precached`);

// Brotli (quality 11) and gzip (level 9) of each text or wasm file, the page and sw.js included.
let saved = 0;
for (const file of [...shipped, SW].filter((f) => COMPRESSIBLE.test(f))) {
  const full = path.join(staging, file);
  const bytes = readFileSync(full);
  if (bytes.length < 1024) continue;
  const br = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
  writeFileSync(`${full}.br`, br);
  writeFileSync(`${full}.gz`, gzipSync(bytes, { level: 9 }));
  saved += bytes.length - br.length;
}
console.log(`sw-stamp: .br and .gz written (brotli saves ${Math.round(saved / 1024)} KB)`);
