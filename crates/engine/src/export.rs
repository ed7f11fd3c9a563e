//! Stored messages as one mbox file (mboxrd), made here rather than in the page: writing the
//! `From ` lines parses each message's headers (its envelope sender), and the page's bundle
//! carries no mail parser (issue 13); a large export also keeps the page's thread free. The
//! file is written a chunk at a time into a `Blob`, never one Rust buffer, and the Blob crosses
//! to the page, which saves it. The format lives in `postino_sync::mbox`.

use js_sys::{Array, Uint8Array};
use postino_sync::mbox;
use web_sys::{Blob, BlobPropertyBag};

use crate::check::now_unix;
use crate::idb::IdbStore;

/// Messages read from IndexedDB per transaction while exporting.
const EXPORT_CHUNK: usize = 256;

/// `messages` (id, date) as an mbox file; how many were written (a message deleted meanwhile
/// is left out).
pub async fn export_mbox(
    store: &IdbStore,
    messages: &[(String, Option<i64>)],
) -> Result<(usize, Blob), String> {
    let now = now_unix();
    let parts = Array::new();
    let mut written = 0;
    for chunk in messages.chunks(EXPORT_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
        let raws = store.raw_messages(&ids).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for (id, raw) in &raws {
            let when = chunk
                .iter()
                .find(|(i, _)| i == id)
                .and_then(|(_, date)| *date)
                .unwrap_or(now);
            mbox::write_entry(&mut out, raw, None, when);
        }
        written += raws.len();
        parts.push(&Uint8Array::from(&out[..]));
    }
    let options = BlobPropertyBag::new();
    options.set_type("application/mbox");
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    Ok((written, blob))
}
