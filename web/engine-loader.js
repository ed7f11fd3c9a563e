// The mail engine's worker starts here (crates/app/src/engine.rs): it loads the engine's
// script and wasm, built by Trunk beside the page (index.html, data-type="worker"). When they
// do not arrive (offline before they were cached, a blocked request, a wasm that will not
// compile), it tells the page why, in the shape of the engine's Event::Unavailable, so that
// the page says the engine is not ready instead of waiting for it forever.
'use strict';
const unavailable = (what, e) => {
  self.postMessage({ Unavailable: `its ${what} could not be loaded (${String((e && e.message) || e).slice(0, 200)})` });
  self.close();
};
try {
  importScripts('./postino-engine.js');
  wasm_bindgen('./postino-engine_bg.wasm').catch((e) => unavailable('wasm', e));
} catch (e) {
  unavailable('script', e);
}
