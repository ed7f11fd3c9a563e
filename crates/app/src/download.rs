//! Saving bytes as a file: a Blob, an object URL, and a click on a temporary download link.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

/// The type of every attachment saved: bytes to store, never the sender's type for the browser
/// to act on.
pub const OPAQUE: &str = "application/octet-stream";

/// Offers `bytes` to the user as file `name` of type `content_type`.
pub fn save(name: &str, content_type: &str, bytes: &[u8]) -> Result<(), String> {
    save_parts(name, content_type, &Array::of1(&Uint8Array::from(bytes)))
}

/// Offers the concatenation of `parts` (`Uint8Array`s) as file `name`.
pub fn save_parts(name: &str, content_type: &str, parts: &Array) -> Result<(), String> {
    let options = BlobPropertyBag::new();
    options.set_type(content_type);
    let blob = Blob::new_with_u8_array_sequence_and_options(parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    save_blob(name, &blob)
}

/// Offers `blob` to the user as file `name`.
pub fn save_blob(name: &str, blob: &Blob) -> Result<(), String> {
    let url = Url::create_object_url_with_blob(blob).map_err(|e| format!("{e:?}"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    link.set_href(&url);
    // A name from the message: never a path, no bidi or control characters.
    link.set_download(&postino_sync::untrusted::file_name(name));
    link.set_hidden(true);
    let body = document.body().ok_or("no body")?;
    let _ = body.append_child(&link);
    link.click();
    link.remove();
    // Revoked a little later: the download may still be reading the Blob when click returns.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url);
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(())
}
