//! Stored messages saved as one mbox file (mboxrd), written a chunk at a time so that the
//! mailbox is never in one Rust buffer. The format lives in `postino_sync::mbox`; importing
//! runs in the engine worker (`postino_engine::import`).

use js_sys::{Array, Uint8Array};
use postino_engine::check::now_unix;
use postino_engine::idb::IdbStore;
use postino_sync::mbox;

use crate::download;

/// Messages read from IndexedDB per transaction while exporting.
const EXPORT_CHUNK: usize = 256;

/// Saves `messages` (id, date) as mbox file `name`. Returns how many were written.
pub async fn export_mbox(
    store: &IdbStore,
    messages: &[(String, Option<i64>)],
    name: &str,
) -> Result<usize, String> {
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
    download::save_parts(name, "application/mbox", &parts)?;
    Ok(written)
}
