//! The [`Store`] over IndexedDB: a download's batches (messages, summaries and ledger entries in
//! one strict transaction), reads, deletes and accounts.

use std::collections::HashSet;

use js_sys::{Array, Object, Reflect, Uint8Array};
use postino_sync::store::{Store, StoreError};
use postino_sync::{Account, Incoming, LedgerEntry, Summary};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbCursorDirection, IdbCursorWithValue, IdbKeyRange, IdbTransactionMode};

use super::{
    commit, finished, from_js, js_error, object_store, password_id, pending, to_js,
    DatabaseWithOptions, IdbStore, IndexBatch, ACCOUNTS, INDEX_MESSAGES, INDEX_TERMS, LEDGER,
    LEDGER_BY_ACCOUNT, MESSAGES, SEARCH_IDS, SECRETS, SUMMARIES, SUMMARIES_BY_DATE,
};

impl IdbStore {
    /// Messages with their summaries and ledger entries, in one readwrite transaction over the
    /// three stores: all or none.
    async fn commit_records(
        &self,
        records: &[(&LedgerEntry, &Summary, &[u8])],
    ) -> Result<(), StoreError> {
        // Everything that can fail before the transaction is prepared before it.
        let values = records
            .iter()
            .map(|(entry, summary, raw)| {
                Ok((
                    to_js(*entry)?,
                    to_js(*summary)?,
                    message_record(&entry.message_id, raw)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;

        // Strict durability: the commit is on disk when `complete` fires, and only then may the
        // messages be deleted on the server (invariant 1). Chromium defaults to relaxed.
        let options = Object::new();
        Reflect::set(&options, &"durability".into(), &"strict".into()).map_err(js_error)?;
        let names: Array = [LEDGER, SUMMARIES, MESSAGES]
            .iter()
            .map(|s| JsValue::from_str(s))
            .collect();
        let tx = self
            .db
            .unchecked_ref::<DatabaseWithOptions>()
            .transaction_with_options(&names, "readwrite", &options)
            .map_err(js_error)?;
        commit(tx, |tx| {
            let (ledger, summaries, messages) = (
                object_store(tx, LEDGER)?,
                object_store(tx, SUMMARIES)?,
                object_store(tx, MESSAGES)?,
            );
            for (entry, summary, message) in &values {
                ledger.put(entry).map_err(js_error)?;
                summaries.put(summary).map_err(js_error)?;
                messages.put(message).map_err(js_error)?;
            }
            Ok(())
        })
        .await
    }
}

impl Store for IdbStore {
    const FILLS_DIGEST: bool = true;

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let all = self.read(ACCOUNTS, |s| s.get_all()).await?;
        Array::from(&all).iter().map(from_js).collect()
    }

    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        let value = to_js(account)?;
        self.write(&[ACCOUNTS], |tx| {
            object_store(tx, ACCOUNTS)?.put(&value).map_err(js_error)?;
            Ok(())
        })
        .await
    }

    async fn ledger(&self, account: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let all = self
            .read(LEDGER, |s| {
                s.index(LEDGER_BY_ACCOUNT)?
                    .get_all_with_key(&JsValue::from_str(account))
            })
            .await?;
        Array::from(&all).iter().map(from_js).collect()
    }

    async fn ledger_uidls(&self, account: &str) -> Result<HashSet<String>, StoreError> {
        // The index's keys are the primary keys, `[account, uidl]`: no entry is deserialized.
        let keys = self
            .read(LEDGER, |s| {
                s.index(LEDGER_BY_ACCOUNT)?
                    .get_all_keys_with_key(&JsValue::from_str(account))
            })
            .await?;
        Array::from(&keys)
            .iter()
            .map(|key| {
                Reflect::get_u32(&key, 1)
                    .ok()
                    .and_then(|uidl| uidl.as_string())
                    .ok_or_else(|| StoreError::Corrupt(format!("ledger key {key:?}")))
            })
            .collect()
    }

    async fn commit_message(&self, message: &Incoming) -> Result<(), StoreError> {
        self.commit_messages(std::slice::from_ref(message)).await
    }

    /// Commits the batch, then writes its search postings from the terms parsed with the
    /// summary (the bytes are not read back). The postings go in their own transaction, not
    /// awaited: the download goes on, and a postings write that fails leaves those messages to
    /// the background indexer ([`IdbStore::unindexed`]).
    async fn commit_messages(&self, batch: &[Incoming]) -> Result<(), StoreError> {
        let entries = with_digests(batch).await?;
        let records: Vec<(&LedgerEntry, &Summary, &[u8])> = batch
            .iter()
            .zip(&entries)
            .map(|(m, entry)| (entry, &m.summary, m.raw.as_slice()))
            .collect();
        self.commit_records(&records).await?;
        let full = {
            let mut buffer = self.index_buffer.borrow_mut();
            // Without terms (the caller did not parse it), the indexer reads it later.
            buffer.extend(
                batch
                    .iter()
                    .filter(|m| !m.terms.is_empty())
                    .map(|m| (m.entry.message_id.clone(), m.terms.clone())),
            );
            let terms: usize = buffer.iter().map(|(_, t)| t.len()).sum();
            (buffer.len() >= INDEX_MESSAGES || terms >= INDEX_TERMS)
                .then(|| std::mem::take(&mut *buffer))
        };
        if let Some(messages) = full {
            drop(self.put_index(IndexBatch(messages)));
        }
        Ok(())
    }

    async fn summaries(&self) -> Result<Vec<Summary>, StoreError> {
        let all = self.read(SUMMARIES, |s| s.get_all()).await?;
        // One JSON string across the boundary instead of a crossing per field: with 100,000
        // summaries this is what the first list render waits for. Records that JSON cannot
        // carry (a lone surrogate, written by something else) fall back to field by field.
        let json = js_sys::JSON::stringify(&all)
            .ok()
            .and_then(|j| j.as_string());
        if let Some(parsed) = json.and_then(|j| serde_json::from_str::<Vec<Summary>>(&j).ok()) {
            return Ok(parsed);
        }
        Array::from(&all).iter().map(from_js).collect()
    }

    async fn raw_message(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let record = self
            .read(MESSAGES, |s| s.get(&JsValue::from_str(id)))
            .await?;
        if record.is_undefined() {
            return Ok(None);
        }
        let raw = Reflect::get(&record, &"raw".into()).map_err(js_error)?;
        match raw.dyn_into::<Uint8Array>() {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(_) => Err(StoreError::Corrupt(format!("message {id} has no bytes"))),
        }
    }

    async fn delete_message(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let entry_value = to_js(entry)?;
        let id = JsValue::from_str(&entry.message_id);
        // The ledger entry stays (marked) so the message is never downloaded again.
        self.write(&[LEDGER, SUMMARIES, MESSAGES, SEARCH_IDS], |tx| {
            object_store(tx, LEDGER)?
                .put(&entry_value)
                .map_err(js_error)?;
            for store in [SUMMARIES, MESSAGES, SEARCH_IDS] {
                object_store(tx, store)?.delete(&id).map_err(js_error)?;
            }
            Ok(())
        })
        .await?;
        self.forget_ordinals(|m| m == entry.message_id);
        Ok(())
    }
}

impl IdbStore {
    /// Removes an account; with `with_mail`, also its ledger, summaries and messages, in the same
    /// transaction. Without, its stored mail stays readable.
    pub async fn delete_account(&self, id: &str, with_mail: bool) -> Result<(), StoreError> {
        let stores: &[&str] = if with_mail {
            &[ACCOUNTS, SECRETS, LEDGER, SUMMARIES, MESSAGES, SEARCH_IDS]
        } else {
            &[ACCOUNTS, SECRETS]
        };
        self.write(stores, |tx| {
            object_store(tx, ACCOUNTS)?
                .delete(&JsValue::from_str(id))
                .map_err(js_error)?;
            object_store(tx, SECRETS)?
                .delete(&JsValue::from_str(&password_id(id)))
                .map_err(js_error)?;
            if with_mail {
                // Ledger keys are `[account, uidl]`: every array starting with `account` sorts
                // between `[account]` and `[account, []]` (arrays sort after strings).
                let lower: Array = [JsValue::from_str(id)].into_iter().collect();
                let upper: Array = [JsValue::from_str(id), Array::new().into()]
                    .into_iter()
                    .collect();
                let ledger = IdbKeyRange::bound(&lower, &upper).map_err(js_error)?;
                object_store(tx, LEDGER)?
                    .delete(&ledger)
                    .map_err(js_error)?;
                // Message ids are `account/uidl`: from `account/` up to, not including,
                // `account0` ('0' follows '/').
                let ids = IdbKeyRange::bound_with_lower_open_and_upper_open(
                    &JsValue::from_str(&format!("{id}/")),
                    &JsValue::from_str(&format!("{id}0")),
                    false,
                    true,
                )
                .map_err(js_error)?;
                for store in [SUMMARIES, MESSAGES, SEARCH_IDS] {
                    object_store(tx, store)?.delete(&ids).map_err(js_error)?;
                }
            }
            Ok(())
        })
        .await?;
        if with_mail {
            let prefix = format!("{id}/");
            self.forget_ordinals(|m| m.starts_with(&prefix));
        }
        Ok(())
    }
}

impl IdbStore {
    /// Up to `count` summaries, newest first by their Date header (messages without one are
    /// left out): the first screen of the list, before [`Store::summaries`] has read them all.
    pub async fn newest_summaries(&self, count: usize) -> Result<Vec<Summary>, StoreError> {
        let tx = self.transaction(&[SUMMARIES], IdbTransactionMode::Readonly)?;
        let index = object_store(&tx, SUMMARIES)?
            .index(SUMMARIES_BY_DATE)
            .map_err(js_error)?;
        let request = index
            .open_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev)
            .map_err(js_error)?;
        let mut out = Vec::with_capacity(count);
        // Each step is a `success` on the same request, listened for before `continue`.
        let mut step = pending(request.clone().unchecked_into());
        while out.len() < count {
            let result = finished(step).await?;
            let Some(cursor) = result.dyn_ref::<IdbCursorWithValue>() else {
                break;
            };
            out.push(from_js(cursor.value().map_err(js_error)?)?);
            step = pending(request.clone().unchecked_into());
            cursor.continue_().map_err(js_error)?;
        }
        Ok(out)
    }

    /// Replaces a stored summary (the read mark).
    pub async fn put_summary(&self, summary: &Summary) -> Result<(), StoreError> {
        let value = to_js(summary)?;
        self.write(&[SUMMARIES], |tx| {
            object_store(tx, SUMMARIES)?.put(&value).map_err(js_error)?;
            Ok(())
        })
        .await
    }
}

/// The ledger entries of `batch`, each with its digest: the SHA-256 of the bytes, by the
/// browser's WebCrypto where the session left it to the store ([`Store::FILLS_DIGEST`]). Native
/// SHA-256 (SHA extensions, off the engine's thread) instead of ring's in wasm, which was 14% of
/// the engine's time in a download. Before any transaction opens (invariant 5).
async fn with_digests(batch: &[Incoming]) -> Result<Vec<LedgerEntry>, StoreError> {
    let subtle = crate::webcrypto::subtle().map_err(StoreError::Failed)?;
    // Every digest is started before the first is awaited. WebCrypto copies the bytes when it
    // is called, so the view into wasm memory is not kept.
    let pending = batch
        .iter()
        .map(|m| match m.entry.digest.is_empty() {
            true => subtle
                .digest_with_str_and_u8_array("SHA-256", &m.raw)
                .map(Some)
                .map_err(js_error),
            false => Ok(None),
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut entries = Vec::with_capacity(batch.len());
    for (message, pending) in batch.iter().zip(pending) {
        let mut entry = message.entry.clone();
        if let Some(promise) = pending {
            let digest = wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .map_err(js_error)?;
            entry.digest = postino_sync::digest::hex(&Uint8Array::new(&digest).to_vec());
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// `{ id, raw }`, the bytes as a `Uint8Array` (serde would make an array of numbers).
fn message_record(id: &str, raw: &[u8]) -> Result<JsValue, StoreError> {
    let record = Object::new();
    Reflect::set(&record, &"id".into(), &id.into()).map_err(js_error)?;
    Reflect::set(&record, &"raw".into(), &Uint8Array::from(raw)).map_err(js_error)?;
    Ok(record.into())
}
