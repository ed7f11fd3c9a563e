//! The `Store` over IndexedDB: a thin wrapper over web-sys, with one future per request or
//! transaction.
//!
//! Database layout:
//! - `accounts`: `Account` values, key path `id`.
//! - `ledger`: `LedgerEntry` values, key path `[account, uidl]`, index `account` on `account`.
//! - `summaries`: `Summary` values, key path `id`.
//! - `messages`: `{ id, raw: Uint8Array }`, key path `id`; kept apart from the summaries so that
//!   the message list loads without the bytes.
//! - `search_ids` and `postings` (version 3): the offline search index (`postino_sync::search`).
//!   Each indexed message gets a number, its ordinal (`search_ids`: `{ id, n }`; the record
//!   `"\0next"` holds the next one). Each indexing batch writes, per term found in the batch, one
//!   record `{ term, first, ords: Uint32Array }` with key `[term, first]` (`first`: the batch's
//!   first ordinal): a term's postings are the records with that term, found by a key range.
//!   Version 2 kept one multi-entry index entry per term per message: 20,000 small messages
//!   took 95 MB of index for 22 MB of mail, and writing it made downloads 40% slower. Postings
//!   are written after the messages, not in their transaction (`unindexed`, `index_records`,
//!   `put_index`). Deleting a message deletes its ordinal; its postings stay until the ordinal
//!   is looked up, and a search never returns a message that is no longer stored.
//! - `secrets` (version 2): key path `id`; the remembered passwords, encrypted, and the
//!   non-extractable key that encrypts them (`crate::vault`).
//!
//! DESIGN.md invariant 5: nothing awaits anything but IndexedDB inside a transaction. Every
//! request of a transaction is issued synchronously, then only the transaction's own events are
//! awaited.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_channel::oneshot;
use js_sys::{Array, Object, Reflect, Uint32Array, Uint8Array};
use postino_sync::search::{self, Query};
use postino_sync::store::{Store, StoreError};
use postino_sync::{Account, Incoming, LedgerEntry, Summary};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    DomException, Event, EventTarget, IdbCursorDirection, IdbCursorWithValue, IdbDatabase,
    IdbFactory, IdbKeyRange, IdbObjectStore, IdbObjectStoreParameters, IdbOpenDbRequest,
    IdbRequest, IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent,
};

const VERSION: u32 = 3;
const ACCOUNTS: &str = "accounts";
const LEDGER: &str = "ledger";
const LEDGER_BY_ACCOUNT: &str = "account";
const SUMMARIES: &str = "summaries";
const SUMMARIES_BY_DATE: &str = "date";
const MESSAGES: &str = "messages";
/// Version 2's search store (a multi-entry index of terms); version 3 drops it.
const OLD_SEARCH: &str = "search";
const SEARCH_IDS: &str = "search_ids";
const POSTINGS: &str = "postings";
/// The `search_ids` record holding the next ordinal. No message id starts with NUL.
const NEXT_ORDINAL: &str = "\u{0}next";
const SECRETS: &str = "secrets";

#[wasm_bindgen]
extern "C" {
    /// An `IDBDatabase` seen through the one method web-sys has only behind
    /// `web_sys_unstable_apis`.
    type DatabaseWithOptions;

    /// `IDBDatabase.transaction(stores, mode, options)`; browsers that do not know `durability`
    /// ignore it.
    #[wasm_bindgen(catch, method, js_name = transaction)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        stores: &Array,
        mode: &str,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;
}

/// A Postino database, open. Closing happens on drop, or when another connection wants to
/// upgrade or delete the database (`versionchange`).
pub struct IdbStore {
    db: IdbDatabase,
    _on_versionchange: Closure<dyn FnMut(Event)>,
    /// Ordinal to message id, loaded on the first search and extended by each index write.
    ordinals: Ordinals,
    /// Committed messages' terms not yet written to the search index: written together, every
    /// [`INDEX_MESSAGES`] messages (or [`INDEX_TERMS`] terms) and when a check ends
    /// ([`IdbStore::flush_index`]). A profile of a download found one postings put per term
    /// per commit batch to be a sixth of the engine's time; a term common to many batches is
    /// now one put per flush. What a stopped engine leaves here the indexer reads back later.
    index_buffer: RefCell<Vec<(String, Vec<String>)>>,
}

/// Messages whose terms are written to the search index at once.
const INDEX_MESSAGES: usize = 1024;
/// Terms held before they are written, whatever the count of messages.
const INDEX_TERMS: usize = 256 * 1024;

/// `ordinals[n]` is the id of the message with ordinal `n`, if it is still indexed.
type Ordinals = Rc<RefCell<Option<Vec<Option<String>>>>>;

impl IdbStore {
    /// Opens database `name`, creating it and its object stores on first use.
    pub async fn open(name: &str) -> Result<IdbStore, StoreError> {
        let request = factory()?.open_with_u32(name, VERSION).map_err(js_error)?;

        // The stores must be created while `upgradeneeded` is being dispatched: the version
        // change transaction is active only then, so this runs inside the event handler.
        let upgrade_error: Rc<RefCell<Option<StoreError>>> = Rc::default();
        let on_upgrade = {
            let request = request.clone();
            let upgrade_error = upgrade_error.clone();
            Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let old_version = event
                    .dyn_ref::<IdbVersionChangeEvent>()
                    .map_or(0.0, |e| e.old_version());
                if let Err(error) = create_stores(&request, old_version) {
                    *upgrade_error.borrow_mut() = Some(error);
                    if let Some(tx) = request.transaction() {
                        let _ = tx.abort();
                    }
                }
            })
        };
        request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        let outcome = NextEvent::new(&request, &["success", "error"]).await;
        request.set_onupgradeneeded(None);
        drop(on_upgrade);

        if let Some(error) = upgrade_error.borrow_mut().take() {
            return Err(error);
        }
        if outcome != "success" {
            return Err(request_error(&request));
        }
        let db: IdbDatabase = request.result().map_err(js_error)?.unchecked_into();
        let on_versionchange = {
            let db = db.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| db.close())
        };
        db.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        Ok(IdbStore {
            db,
            _on_versionchange: on_versionchange,
            ordinals: Rc::default(),
            index_buffer: RefCell::default(),
        })
    }

    fn transaction(
        &self,
        stores: &[&str],
        mode: IdbTransactionMode,
    ) -> Result<IdbTransaction, StoreError> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        self.db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(js_error)
    }

    /// One readwrite transaction over `stores` with the requests `requests` issues, committed.
    async fn write(
        &self,
        stores: &[&str],
        requests: impl FnOnce(&IdbTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        commit(
            self.transaction(stores, IdbTransactionMode::Readwrite)?,
            requests,
        )
        .await
    }

    /// Runs one read request in its own read-only transaction and returns its result.
    async fn read(
        &self,
        store: &str,
        request: impl FnOnce(&IdbObjectStore) -> Result<IdbRequest, JsValue>,
    ) -> Result<JsValue, StoreError> {
        let tx = self.transaction(&[store], IdbTransactionMode::Readonly)?;
        let request = request(&object_store(&tx, store)?).map_err(js_error)?;
        let outcome = NextEvent::new(&request, &["success", "error"]).await;
        if outcome == "success" {
            request.result().map_err(js_error)
        } else {
            Err(request_error(&request))
        }
    }
}

impl Drop for IdbStore {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }
}

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
                .delete(&JsValue::from_str(&crate::vault::record_id(id)))
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
    /// The ids of the messages that `query` finds, through the index only.
    pub async fn search(&self, query: &Query) -> Result<HashSet<String>, StoreError> {
        let tx = self.transaction(&[POSTINGS], IdbTransactionMode::Readonly)?;
        let postings = object_store(&tx, POSTINGS)?;
        // A term's records have keys [term, first]: from [term] (a prefix sorts first) to
        // [term, []] (arrays sort after numbers); a prefix's, from [prefix] to [prefix_end].
        let key = |parts: &[JsValue]| -> JsValue { parts.iter().collect::<Array>().into() };
        let mut ranges = Vec::new();
        for term in &query.exact {
            let t = JsValue::from_str(term);
            ranges.push((
                key(std::slice::from_ref(&t)),
                key(&[t, Array::new().into()]),
            ));
        }
        if let Some(prefix) = &query.prefix {
            ranges.push((
                key(&[JsValue::from_str(prefix)]),
                key(&[JsValue::from_str(&search::prefix_end(prefix))]),
            ));
        }
        // Every request first, then their results (invariant 5).
        let requests = ranges
            .iter()
            .map(|(lower, upper)| {
                let range =
                    IdbKeyRange::bound_with_lower_open_and_upper_open(lower, upper, false, true)
                        .map_err(js_error)?;
                postings
                    .get_all_with_key(&range)
                    .map(pending)
                    .map_err(js_error)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut sets = Vec::with_capacity(requests.len());
        for request in requests {
            let mut set = HashSet::new();
            for record in Array::from(&finished(request).await?).iter() {
                let ords = Reflect::get(&record, &"ords".into()).map_err(js_error)?;
                let ords = ords
                    .dyn_into::<Uint32Array>()
                    .map_err(|_| StoreError::Corrupt("a search posting has no ordinals".into()))?;
                set.extend(ords.to_vec());
            }
            sets.push(set);
        }
        sets.sort_by_key(HashSet::len);
        let mut sets = sets.into_iter();
        let Some(mut found) = sets.next() else {
            return Ok(HashSet::new());
        };
        for set in sets {
            found.retain(|n| set.contains(n));
        }
        self.ids_of(&found).await
    }

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

    /// Loads what a search needs besides the postings (the ordinal table), so that the first
    /// search does not wait for it.
    pub async fn prepare_search(&self) -> Result<(), StoreError> {
        if self.ordinals.borrow().is_none() {
            let table = self.load_ordinals().await?;
            self.ordinals.borrow_mut().get_or_insert(table);
        }
        Ok(())
    }

    /// Drops the ordinals of deleted messages from the loaded table: a search does not return
    /// them even though their postings remain.
    fn forget_ordinals(&self, deleted: impl Fn(&str) -> bool) {
        if let Some(table) = self.ordinals.borrow_mut().as_mut() {
            for slot in table.iter_mut() {
                if slot.as_deref().is_some_and(&deleted) {
                    *slot = None;
                }
            }
        }
    }

    /// The ids of ordinals `found`, loading the table once more if one is not in it (another
    /// tab indexed it).
    async fn ids_of(&self, found: &HashSet<u32>) -> Result<HashSet<String>, StoreError> {
        let known = |table: &Vec<Option<String>>| found.iter().all(|&n| (n as usize) < table.len());
        let loaded = self.ordinals.borrow().as_ref().is_some_and(known);
        if !loaded {
            let table = self.load_ordinals().await?;
            *self.ordinals.borrow_mut() = Some(table);
        }
        let table = self.ordinals.borrow();
        let table = table.as_ref().map(Vec::as_slice).unwrap_or_default();
        Ok(found
            .iter()
            .filter_map(|&n| table.get(n as usize).cloned().flatten())
            .collect())
    }

    async fn load_ordinals(&self) -> Result<Vec<Option<String>>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Entry {
            id: String,
            n: u32,
        }
        let all = self.read(SEARCH_IDS, |s| s.get_all()).await?;
        let json = js_sys::JSON::stringify(&all)
            .map_err(js_error)?
            .as_string()
            .unwrap_or_default();
        let entries: Vec<Entry> =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut table = Vec::new();
        for e in entries.into_iter().filter(|e| e.id != NEXT_ORDINAL) {
            place(&mut table, e.n as usize, e.id);
        }
        Ok(table)
    }

    /// Ids of stored messages the search index does not hold yet: new mail, and mail stored
    /// before the index existed.
    pub async fn unindexed(&self) -> Result<Vec<String>, StoreError> {
        let tx = self.transaction(&[MESSAGES, SEARCH_IDS], IdbTransactionMode::Readonly)?;
        let stored = pending(
            object_store(&tx, MESSAGES)?
                .get_all_keys()
                .map_err(js_error)?,
        );
        let indexed = pending(
            object_store(&tx, SEARCH_IDS)?
                .get_all_keys()
                .map_err(js_error)?,
        );
        let mut keys = Vec::new();
        for request in [stored, indexed] {
            keys.push(Array::from(&finished(request).await?));
        }
        let indexed: HashSet<String> = keys[1].iter().filter_map(|k| k.as_string()).collect();
        Ok(keys[0]
            .iter()
            .filter_map(|k| k.as_string())
            .filter(|id| !indexed.contains(id))
            .collect())
    }

    /// The stored bytes of messages `ids`, read in one transaction; ids no longer stored are
    /// left out.
    pub async fn raw_messages(&self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let tx = self.transaction(&[MESSAGES], IdbTransactionMode::Readonly)?;
        let messages = object_store(&tx, MESSAGES)?;
        let requests = ids
            .iter()
            .map(|id| {
                messages
                    .get(&JsValue::from_str(id))
                    .map(pending)
                    .map_err(js_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, request) in ids.iter().zip(requests) {
            let record = finished(request).await?;
            if record.is_undefined() {
                continue;
            }
            let raw = Reflect::get(&record, &"raw".into()).map_err(js_error)?;
            let raw = raw
                .dyn_into::<Uint8Array>()
                .map_err(|_| StoreError::Corrupt(format!("message {id} has no bytes")))?;
            out.push((id.clone(), raw.to_vec()));
        }
        Ok(out)
    }

    /// The terms of messages `ids` (read in one transaction), for [`IdbStore::put_index`]; ids
    /// no longer stored are left out.
    pub async fn index_records(&self, ids: &[String]) -> Result<IndexBatch, StoreError> {
        Ok(IndexBatch(
            self.raw_messages(ids)
                .await?
                .into_iter()
                .map(|(id, raw)| {
                    let terms = search::message_terms(&raw);
                    (id, terms)
                })
                .collect(),
        ))
    }

    /// Writes a batch into the index in one transaction: reads the next ordinal, gives one to
    /// each message, and writes one postings record per term of the batch. It runs on its own
    /// (the transaction must not wait for anything but IndexedDB), so the caller can prepare
    /// the next batch meanwhile; the future says how it ended.
    pub fn put_index(&self, batch: IndexBatch) -> impl Future<Output = Result<(), StoreError>> {
        let (done, outcome) = oneshot::channel();
        let (db, ordinals) = (self.db.clone(), self.ordinals.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = done.send(write_index(&db, &ordinals, batch).await);
        });
        async move {
            outcome
                .await
                .unwrap_or_else(|_| Err(StoreError::Failed("indexing stopped".into())))
        }
    }

    /// Writes the terms held since the last index write (a check ended).
    pub async fn flush_index(&self) -> Result<(), StoreError> {
        let messages = std::mem::take(&mut *self.index_buffer.borrow_mut());
        if messages.is_empty() {
            return Ok(());
        }
        self.put_index(IndexBatch(messages)).await
    }

    /// The record `id` of the `secrets` store, `undefined` if there is none.
    pub async fn secret(&self, id: &str) -> Result<JsValue, StoreError> {
        self.read(SECRETS, |s| s.get(&JsValue::from_str(id))).await
    }

    /// Writes `record` (it has its `id`) to the `secrets` store; with `only_if_new`, fails
    /// rather than replace one with the same id.
    pub async fn put_secret(&self, record: &JsValue, only_if_new: bool) -> Result<(), StoreError> {
        self.write(&[SECRETS], |tx| {
            let store = object_store(tx, SECRETS)?;
            if only_if_new {
                store.add(record)
            } else {
                store.put(record)
            }
            .map_err(js_error)?;
            Ok(())
        })
        .await
    }

    pub async fn delete_secret(&self, id: &str) -> Result<(), StoreError> {
        self.write(&[SECRETS], |tx| {
            object_store(tx, SECRETS)?
                .delete(&JsValue::from_str(id))
                .map_err(js_error)?;
            Ok(())
        })
        .await
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

/// Messages with their search terms, ready for [`IdbStore::put_index`].
pub struct IndexBatch(Vec<(String, Vec<String>)>);

async fn write_index(
    db: &IdbDatabase,
    ordinals: &Ordinals,
    IndexBatch(messages): IndexBatch,
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let names: Array = [SEARCH_IDS, POSTINGS]
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect();
    let tx = db
        .transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite)
        .map_err(js_error)?;
    let completion = Completion::new(&tx);
    let ids = object_store(&tx, SEARCH_IDS)?;
    // The counter is read inside the transaction: two tabs indexing at once get different
    // ordinals. Only IndexedDB is awaited here (invariant 5).
    let counter = ids
        .get(&JsValue::from_str(NEXT_ORDINAL))
        .map(pending)
        .map_err(js_error)?;
    let first = match finished(counter).await {
        Ok(record) => Reflect::get(&record, &"n".into())
            .ok()
            .and_then(|n| n.as_f64())
            .unwrap_or(0.0) as u32,
        Err(e) => {
            let _ = tx.abort();
            return Err(e);
        }
    };
    let mut postings: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
    let puts = (|| {
        let postings_store = object_store(&tx, POSTINGS)?;
        for (i, (id, terms)) in messages.iter().enumerate() {
            let n = first + i as u32;
            ids.put(&ordinal_record(id, n)?).map_err(js_error)?;
            for term in terms {
                postings.entry(term).or_default().push(n);
            }
        }
        ids.put(&ordinal_record(
            NEXT_ORDINAL,
            first + messages.len() as u32,
        )?)
        .map_err(js_error)?;
        for (term, ords) in &postings {
            let record = Object::new();
            Reflect::set(&record, &"term".into(), &JsValue::from_str(term)).map_err(js_error)?;
            Reflect::set(&record, &"first".into(), &JsValue::from(first)).map_err(js_error)?;
            Reflect::set(&record, &"ords".into(), &Uint32Array::from(&ords[..]))
                .map_err(js_error)?;
            postings_store.put(&record).map_err(js_error)?;
        }
        Ok(())
    })();
    if let Err(error) = puts {
        let _ = tx.abort();
        return Err(error);
    }
    completion.await?;
    if let Some(table) = ordinals.borrow_mut().as_mut() {
        for (i, (id, _)) in messages.into_iter().enumerate() {
            place(table, first as usize + i, id);
        }
    }
    Ok(())
}

/// Records that ordinal `n` is message `id`.
fn place(table: &mut Vec<Option<String>>, n: usize, id: String) {
    if table.len() <= n {
        table.resize(n + 1, None);
    }
    table[n] = Some(id);
}

fn ordinal_record(id: &str, n: u32) -> Result<JsValue, StoreError> {
    let record = Object::new();
    Reflect::set(&record, &"id".into(), &id.into()).map_err(js_error)?;
    Reflect::set(&record, &"n".into(), &JsValue::from(n)).map_err(js_error)?;
    Ok(record.into())
}

/// A request with its outcome listened for from the moment it was issued: requests of one
/// transaction finish while earlier ones are awaited, and a listener added later would miss it.
fn pending(request: IdbRequest) -> (IdbRequest, NextEvent) {
    let event = NextEvent::new(&request, &["success", "error"]);
    (request, event)
}

async fn finished((request, event): (IdbRequest, NextEvent)) -> Result<JsValue, StoreError> {
    if event.await == "success" {
        request.result().map_err(js_error)
    } else {
        Err(request_error(&request))
    }
}

/// Deletes database `name`. Waits until every connection to it is closed (drop the `IdbStore`s
/// first).
pub async fn delete_database(name: &str) -> Result<(), StoreError> {
    let request = factory()?.delete_database(name).map_err(js_error)?;
    if NextEvent::new(&request, &["success", "error"]).await == "success" {
        Ok(())
    } else {
        Err(request_error(&request))
    }
}

/// `indexedDB` of the page or of the worker.
fn factory() -> Result<IdbFactory, StoreError> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into()).map_err(js_error)?;
    factory
        .dyn_into::<IdbFactory>()
        .map_err(|_| StoreError::Failed("IndexedDB is not available in this browser".into()))
}

/// Creates what versions after `old_version` added.
fn create_stores(request: &IdbOpenDbRequest, old_version: f64) -> Result<(), StoreError> {
    let db: IdbDatabase = request.result().map_err(js_error)?.unchecked_into();
    let by_id = IdbObjectStoreParameters::new();
    by_id.set_key_path(&"id".into());
    if old_version < 1.0 {
        for store in [ACCOUNTS, SUMMARIES, MESSAGES] {
            db.create_object_store_with_optional_parameters(store, &by_id)
                .map_err(js_error)?;
        }
        let by_account_and_uidl = IdbObjectStoreParameters::new();
        let key_path: Array = ["account", "uidl"]
            .iter()
            .map(|s| JsValue::from_str(s))
            .collect();
        by_account_and_uidl.set_key_path(&key_path);
        db.create_object_store_with_optional_parameters(LEDGER, &by_account_and_uidl)
            .map_err(js_error)?
            .create_index_with_str(LEDGER_BY_ACCOUNT, "account")
            .map_err(js_error)?;
    }
    if old_version < 2.0 {
        db.create_object_store_with_optional_parameters(SECRETS, &by_id)
            .map_err(js_error)?;
    }
    if old_version < 3.0 {
        if db.object_store_names().contains(OLD_SEARCH) {
            db.delete_object_store(OLD_SEARCH).map_err(js_error)?;
        }
        db.create_object_store_with_optional_parameters(SEARCH_IDS, &by_id)
            .map_err(js_error)?;
        let by_term_and_batch = IdbObjectStoreParameters::new();
        let key_path: Array = ["term", "first"]
            .iter()
            .map(|s| JsValue::from_str(s))
            .collect();
        by_term_and_batch.set_key_path(&key_path);
        db.create_object_store_with_optional_parameters(POSTINGS, &by_term_and_batch)
            .map_err(js_error)?;
        // The newest messages first, for the first screen (`newest_summaries`).
        let upgrade = request
            .transaction()
            .ok_or_else(|| StoreError::Failed("no upgrade transaction".into()))?;
        object_store(&upgrade, SUMMARIES)?
            .create_index_with_str(SUMMARIES_BY_DATE, "date")
            .map_err(js_error)?;
    }
    Ok(())
}

fn object_store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, StoreError> {
    tx.object_store(name).map_err(js_error)
}

/// The ledger entries of `batch`, each with its digest: the SHA-256 of the bytes, by the
/// browser's WebCrypto where the session left it to the store ([`Store::FILLS_DIGEST`]). Native
/// SHA-256 (SHA extensions, off the engine's thread) instead of ring's in wasm, which was 14% of
/// the engine's time in a download. Before any transaction opens (invariant 5).
async fn with_digests(batch: &[Incoming]) -> Result<Vec<LedgerEntry>, StoreError> {
    let subtle = crate::vault::subtle().map_err(StoreError::Failed)?;
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

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| StoreError::Failed(e.to_string()))
}

fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, StoreError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A thrown value or an `error` attribute, as a `StoreError`. A full disk or an exhausted quota
/// is the one the user can act on.
fn js_error(error: JsValue) -> StoreError {
    match error.dyn_ref::<DomException>() {
        Some(e) if e.name() == "QuotaExceededError" => StoreError::QuotaExceeded,
        Some(e) => StoreError::Failed(format!("{}: {}", e.name(), e.message())),
        None => StoreError::Failed(error.as_string().unwrap_or_else(|| format!("{error:?}"))),
    }
}

fn request_error(request: &IdbRequest) -> StoreError {
    match request.error() {
        Ok(Some(e)) => js_error(e.into()),
        Ok(None) => StoreError::Failed("request failed".into()),
        Err(e) => js_error(e),
    }
}

/// Issues `requests` on `tx`, every one synchronously, then waits only for the transaction's
/// own events (invariant 5): resolves when it commits. A request that cannot be issued aborts it.
async fn commit(
    tx: IdbTransaction,
    requests: impl FnOnce(&IdbTransaction) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let completion = Completion::new(&tx);
    if let Err(error) = requests(&tx) {
        let _ = tx.abort();
        return Err(error);
    }
    completion.await
}

/// Resolves when the transaction commits (`complete`), or fails with the reason it aborted.
struct Completion {
    tx: IdbTransaction,
    event: NextEvent,
}

impl Completion {
    fn new(tx: &IdbTransaction) -> Self {
        // A failed request aborts the transaction (nobody calls `preventDefault` on its error),
        // so `abort` follows every `error` and carries it in `tx.error`.
        Completion {
            tx: tx.clone(),
            event: NextEvent::new(tx, &["complete", "abort"]),
        }
    }
}

impl Future for Completion {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let name = match Pin::new(&mut self.event).poll(cx) {
            Poll::Ready(name) => name,
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(if name == "complete" {
            Ok(())
        } else {
            match self.tx.error() {
                Some(e) => Err(js_error(e.into())),
                None => Err(StoreError::Failed("transaction aborted".into())),
            }
        })
    }
}

type Listener = Closure<dyn FnMut(Event)>;

/// The first of some events on a target: resolves with its name. Its listeners live exactly as
/// long as it does and are removed on drop, so a late event finds no destroyed closure.
struct NextEvent {
    target: EventTarget,
    listeners: Vec<(&'static str, Listener)>,
    fired: oneshot::Receiver<&'static str>,
}

impl NextEvent {
    fn new(target: &EventTarget, names: &[&'static str]) -> Self {
        let (sender, fired) = oneshot::channel();
        let sender = Rc::new(RefCell::new(Some(sender)));
        let listeners = names
            .iter()
            .map(|&name| {
                let sender = sender.clone();
                let listener = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                    if let Some(sender) = sender.borrow_mut().take() {
                        let _ = sender.send(name);
                    }
                });
                // Cannot fail for a function listener on a live target.
                let _ = target
                    .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
                (name, listener)
            })
            .collect();
        NextEvent {
            target: target.clone(),
            listeners,
            fired,
        }
    }
}

impl Future for NextEvent {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        // The sender lives in the listeners, which live in `self`: it is never dropped unsent
        // while this future is polled.
        Pin::new(&mut self.fired)
            .poll(cx)
            .map(|fired| fired.unwrap_or("canceled"))
    }
}

impl Drop for NextEvent {
    fn drop(&mut self) {
        for (name, listener) in &self.listeners {
            let _ = self
                .target
                .remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}
