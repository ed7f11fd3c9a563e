// Trunk post_build hook (Trunk.toml): writes the service worker into the staged build with this
// build's id and file list, and the id into index.html (<meta name="postino-build">).
//
// The build id is a digest of every staged file, so any change to the app gives a new id, a new
// cache name and a service worker the browser sees as new. Node only, no packages: Node is
// already needed for wasm-opt. Run by hand on a built folder with
//   TRUNK_STAGING_DIR=dist TRUNK_SOURCE_DIR=. node web/sw-stamp.mjs
// (the end-to-end update test does this to make a second version).

import { createHash } from 'node:crypto';
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

const shipped = files(staging).filter((f) => f !== SW);
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

// The page is cached as '/', which is what the relay serves it as.
const precache = shipped.map((f) => (f === PAGE ? '/' : `/${f}`));
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
