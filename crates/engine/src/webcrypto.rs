//! The browser's WebCrypto, in the page or in the worker: for the vault's key and passwords,
//! the sign-in's PKCE, and the ledger's digests.

use wasm_bindgen::JsCast;
use web_sys::SubtleCrypto;

/// `crypto` of the page or of the worker.
pub(crate) fn crypto() -> Result<web_sys::Crypto, String> {
    js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .ok()
        .and_then(|c| c.dyn_into::<web_sys::Crypto>().ok())
        .ok_or_else(|| "this browser has no WebCrypto".to_string())
}

pub(crate) fn subtle() -> Result<SubtleCrypto, String> {
    Ok(crypto()?.subtle())
}
