//! The offline search index: ordinals (`search_ids`) and postings (`postings`), written after
//! the messages they index, and searched through key ranges (the module above has the layout).

use std::collections::HashSet;
use std::future::Future;

use futures_channel::oneshot;
use js_sys::{Array, Object, Reflect, Uint32Array};
use postino_sync::search::{self, Query};
use postino_sync::store::StoreError;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbKeyRange, IdbTransactionMode};

use super::{
    finished, js_error, object_store, pending, Completion, IdbStore, Ordinals, NEXT_ORDINAL,
    POSTINGS, SEARCH_IDS, SUMMARIES,
};

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
    pub(super) fn forget_ordinals(&self, deleted: impl Fn(&str) -> bool) {
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
        // Every stored message has a summary; packed ones have no `messages` record.
        let tx = self.transaction(&[SUMMARIES, SEARCH_IDS], IdbTransactionMode::Readonly)?;
        let stored = pending(
            object_store(&tx, SUMMARIES)?
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
        self.read_raws(ids).await
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
}

/// Messages with their search terms, ready for [`IdbStore::put_index`].
pub struct IndexBatch(pub(super) Vec<(String, Vec<String>)>);

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
