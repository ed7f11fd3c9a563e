//! `.eml` and mbox files imported into the "Imported" mailbox, in the engine: files read a
//! slice at a time, so that a large mbox is never in one Rust buffer. The formats live in
//! `postino_sync::mbox` and `postino_sync::import`.

use js_sys::Uint8Array;
use postino_sync::import::import_messages;
use postino_sync::mbox::{self, Limits, MboxError};
use wasm_bindgen_futures::JsFuture;

use crate::check::now_unix;
use crate::idb::IdbStore;
use crate::protocol::Imported;

/// Bytes read from a file at a time while importing.
const READ_CHUNK: f64 = 8.0 * 1024.0 * 1024.0;
/// Messages committed per import call (each commits in its own batches).
const IMPORT_BATCH: usize = 256;

/// Imports `.eml` and mbox files. A file is an mbox when it starts with `From `; anything
/// else is one message.
pub async fn import_files(store: &IdbStore, files: Vec<web_sys::File>) -> Result<Imported, String> {
    let mut imported = Imported::default();
    let mut batch: Vec<Vec<u8>> = Vec::new();
    for file in files {
        let size = file.size();
        let mut offset = 0.0;
        let mut reader = mbox::Reader::new(Limits::default());
        let mut single: Option<Vec<u8>> = None;
        while offset < size {
            let end = (offset + READ_CHUNK).min(size);
            let slice = file
                .slice_with_f64_and_f64(offset, end)
                .map_err(|_| format!("{} could not be read", file.name()))?;
            let buffer = JsFuture::from(slice.array_buffer())
                .await
                .map_err(|_| format!("{} could not be read", file.name()))?;
            let bytes = Uint8Array::new(&buffer).to_vec();
            if offset == 0.0 && !bytes.starts_with(b"From ") {
                single = Some(Vec::new());
            }
            offset = end;
            if let Some(message) = single.as_mut() {
                if message.len() + bytes.len() > Limits::default().max_message {
                    imported
                        .unreadable
                        .push(format!("{} is too large for one message", file.name()));
                    single = None;
                    break;
                }
                message.extend_from_slice(&bytes);
                continue;
            }
            let mut input = &bytes[..];
            while !input.is_empty() {
                let (used, entry) = reader.feed(input);
                input = &input[used..];
                take(entry, &file, &mut batch, &mut imported)?;
                if used == 0 {
                    break;
                }
            }
            if batch.len() >= IMPORT_BATCH {
                commit(store, &mut batch, &mut imported).await?;
            }
        }
        match single {
            Some(message) => batch.push(message),
            None => {
                while let Some(entry) = reader.finish() {
                    take(Some(entry), &file, &mut batch, &mut imported)?;
                }
            }
        }
    }
    commit(store, &mut batch, &mut imported).await?;
    Ok(imported)
}

fn take(
    entry: Option<mbox::Entry>,
    file: &web_sys::File,
    batch: &mut Vec<Vec<u8>>,
    imported: &mut Imported,
) -> Result<(), String> {
    match entry {
        None => Ok(()),
        Some(Ok(message)) => {
            batch.push(message);
            Ok(())
        }
        Some(Err(MboxError::NotMbox)) => Err(format!("{} is not an mbox file", file.name())),
        Some(Err(e)) => {
            imported.unreadable.push(format!("{}: {e}", file.name()));
            Ok(())
        }
    }
}

async fn commit(
    store: &IdbStore,
    batch: &mut Vec<Vec<u8>>,
    imported: &mut Imported,
) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let report = import_messages(store, batch.drain(..), now_unix())
        .await
        .map_err(|e| e.to_string())?;
    imported.report.imported += report.imported;
    imported.report.already_there += report.already_there;
    imported.report.empty += report.empty;
    Ok(())
}
