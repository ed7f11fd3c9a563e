//! The `Store` over IndexedDB: a thin wrapper over web-sys, with one future per request or
//! transaction.
//!
//! Database layout:
//! - `accounts`: `Account` values, key path `id`.
//! - `ledger`: `LedgerEntry` values, key path `[account, uidl]`, index `account` on `account`.
//! - `summaries`: `Summary` values, key path `id`.
//! - `messages`: `{ id, raw: Uint8Array }`, key path `id`; kept apart from the summaries so that
//!   the message list loads without the bytes. Messages of [`PACK_FROM`] bytes or more only.
//! - `packs` (version 4): `{ id, raw: Uint8Array, live }`, key path `id` (the id of its first
//!   message, `#` and a random number). The smaller messages of a committed batch, one after
//!   the other, in records of about [`PACK_BYTES`]; a packed message's summary says where
//!   (`pack`, `at: [offset, length]`). Chromium stores a value over 64 KiB apart from its LevelDB, and measured
//!   (`tests/bench/idb_cost.mjs`) such values cost a third as much per byte, and each record
//!   costs about 0.2 ms whatever its size. Deleting a packed message zeroes its bytes in the
//!   pack and counts down `live`; the pack goes with its last message. Reads follow the
//!   summary's place, else `messages` (large messages, and those stored before version 4).
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
//! The code: this module opens the database, creates its stores and holds the futures over
//! IndexedDB's events; `store` is the [`postino_sync::Store`] (accounts, ledger, summaries,
//! messages, in the transactions that keep mail safe); `search_index` the offline index (ordinals and
//! postings); `secrets` the `secrets` store that `crate::vault` keeps its key and passwords in.
//!
//! DESIGN.md invariant 5: nothing awaits anything but IndexedDB inside a transaction. Every
//! request of a transaction is issued synchronously, then only the transaction's own events are
//! awaited.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_channel::oneshot;
use js_sys::{Array, Object, Reflect};
use postino_sync::store::StoreError;
use postino_sync::Summary;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    DomException, Event, EventTarget, IdbDatabase, IdbFactory, IdbObjectStore,
    IdbObjectStoreParameters, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode,
    IdbVersionChangeEvent,
};

mod search_index;
mod secrets;
mod store;

pub use search_index::IndexBatch;
pub use secrets::password_id;
pub use store::Opened;

const VERSION: u32 = 4;
const ACCOUNTS: &str = "accounts";
const LEDGER: &str = "ledger";
const LEDGER_BY_ACCOUNT: &str = "account";
const SUMMARIES: &str = "summaries";
const SUMMARIES_BY_DATE: &str = "date";
const MESSAGES: &str = "messages";
const PACKS: &str = "packs";
/// Messages smaller than this are stored in packs: Chromium keeps values of 64 KiB and more
/// outside its LevelDB, where a byte costs a third as much.
const PACK_FROM: usize = 64 * 1024;
/// A pack is closed once it holds this many bytes: big enough to be stored apart, small
/// enough that opening one message reads little else.
const PACK_BYTES: usize = 256 * 1024;
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
    /// Summaries of the messages committed since [`IdbStore::take_stored`] last took them: the
    /// engine tells the page, whose list shows new mail as it arrives.
    stored: RefCell<Vec<Summary>>,
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
            stored: RefCell::default(),
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
    if old_version < 4.0 {
        db.create_object_store_with_optional_parameters(PACKS, &by_id)
            .map_err(js_error)?;
    }
    Ok(())
}

fn object_store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, StoreError> {
    tx.object_store(name).map_err(js_error)
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

/// Runs `requests` on `tx`, which may await the results of their own reads (nothing else:
/// invariant 5), then waits for the commit. An error in `requests` aborts the transaction.
async fn within(
    tx: &IdbTransaction,
    requests: impl Future<Output = Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let completion = Completion::new(tx);
    if let Err(error) = requests.await {
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
