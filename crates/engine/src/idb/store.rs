//! The [`Store`] over IndexedDB: a download's batches (messages, summaries and ledger entries in
//! one strict transaction), reads, deletes and accounts.

use std::collections::{HashMap, HashSet};

use js_sys::{Array, Object, Reflect, Uint8Array};
use postino_sync::layout::Layout;
use postino_sync::store::{Store, StoreError};
use postino_sync::{Account, Incoming, LedgerEntry, Summary};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbCursorDirection, IdbCursorWithValue, IdbKeyRange, IdbTransactionMode};

use super::{
    commit, finished, from_js, js_error, object_store, password_id, pending, to_js, within,
    DatabaseWithOptions, IdbStore, IndexBatch, ACCOUNTS, INDEX_MESSAGES, INDEX_TERMS, LEDGER,
    LEDGER_BY_ACCOUNT, MESSAGES, PACKS, PACK_BYTES, PACK_FROM, SEARCH_IDS, SECRETS, SUMMARIES,
    SUMMARIES_BY_DATE,
};

impl IdbStore {
    /// Messages with their summaries and ledger entries, in one readwrite transaction over the
    /// four stores: all or none. Messages under [`PACK_FROM`] bytes go in packs. Returns the
    /// summaries as stored: a packed message's names its pack.
    async fn commit_records(
        &self,
        records: &[(&LedgerEntry, &Summary, Option<&Layout>, &[u8])],
    ) -> Result<Vec<Summary>, StoreError> {
        // Everything that can fail before the transaction is prepared before it.
        let mut packs = Packing::default();
        let mut values = Vec::with_capacity(records.len());
        let mut stored = Vec::with_capacity(records.len());
        for (entry, summary, layout, raw) in records {
            let layout = layout.map(to_js).transpose()?;
            let mut summary = Summary::clone(summary);
            let (at, message) = if raw.len() < PACK_FROM {
                let (pack, offset) = packs.add(&entry.message_id, raw, layout);
                summary.pack = Some(pack.to_string());
                (Some((offset, raw.len())), None)
            } else {
                summary.pack = None;
                (None, Some(message_record(&entry.message_id, raw, layout)?))
            };
            let value = to_js(&summary)?;
            if let Some((offset, length)) = at {
                set_at(&value, offset, length)?;
            }
            values.push((to_js(*entry)?, value, message));
            stored.push(summary);
        }
        let packs = packs.records()?;

        // Strict durability: the commit is on disk when `complete` fires, and only then may the
        // messages be deleted on the server (invariant 1). Chromium defaults to relaxed.
        let options = Object::new();
        Reflect::set(&options, &"durability".into(), &"strict".into()).map_err(js_error)?;
        let names: Array = [LEDGER, SUMMARIES, MESSAGES, PACKS]
            .iter()
            .map(|s| JsValue::from_str(s))
            .collect();
        let tx = self
            .db
            .unchecked_ref::<DatabaseWithOptions>()
            .transaction_with_options(&names, "readwrite", &options)
            .map_err(js_error)?;
        commit(tx, |tx| {
            let (ledger, summaries, messages, pack_store) = (
                object_store(tx, LEDGER)?,
                object_store(tx, SUMMARIES)?,
                object_store(tx, MESSAGES)?,
                object_store(tx, PACKS)?,
            );
            for (entry, summary, message) in &values {
                ledger.put(entry).map_err(js_error)?;
                summaries.put(summary).map_err(js_error)?;
                if let Some(message) = message {
                    messages.put(message).map_err(js_error)?;
                }
            }
            for pack in &packs {
                pack_store.put(pack).map_err(js_error)?;
            }
            Ok(())
        })
        .await?;
        Ok(stored)
    }

    /// The stored bytes of messages `ids`, read in one transaction; ids no longer stored are
    /// left out.
    pub(super) async fn read_raws(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let found = self.read_stored(ids, None).await?;
        Ok(found.into_iter().map(|m| (m.id, m.raw)).collect())
    }

    /// A stored message as the reader shows it: its bytes, its summary and its layout (`None`
    /// for a message stored before layouts were kept: [`IdbStore::set_layout`]). `pack`: the
    /// pack its summary named when the list read it, asked for with the summary rather than
    /// after it (a hint: the summary record read now decides).
    pub async fn open_message(
        &self,
        id: &str,
        pack: Option<&str>,
    ) -> Result<Option<Opened>, StoreError> {
        let found = self.read_stored(&[id.to_string()], pack).await?;
        let Some(found) = found.into_iter().next() else {
            return Ok(None);
        };
        let layout = match found.layout.is_object() {
            true => Some(from_js(found.layout)?),
            false => None,
        };
        let summary = match found.summary.is_object() {
            true => Some(from_js(found.summary)?),
            false => None,
        };
        Ok(Some(Opened {
            raw: found.raw,
            summary,
            layout,
        }))
    }

    /// Keeps `layout` beside message `id`'s bytes: for a message stored before layouts were.
    pub async fn set_layout(&self, id: &str, layout: &Layout) -> Result<(), StoreError> {
        let value = to_js(layout)?;
        let key = JsValue::from_str(id);
        let tx = self.transaction(&[SUMMARIES, MESSAGES, PACKS], IdbTransactionMode::Readwrite)?;
        within(&tx, async {
            let summary = object_store(&tx, SUMMARIES)?.get(&key).map_err(js_error)?;
            let (store, key, offset) = match place(&finished(pending(summary)).await?) {
                Some((pack, offset, _)) => (PACKS, JsValue::from_str(&pack), Some(offset)),
                None => (MESSAGES, key, None),
            };
            let store = object_store(&tx, store)?;
            let record = finished(pending(store.get(&key).map_err(js_error)?)).await?;
            if !record.is_object() {
                return Ok(());
            }
            match offset {
                Some(offset) => {
                    let layouts = Reflect::get(&record, &LAYOUTS.into()).map_err(js_error)?;
                    let layouts = match layouts.is_object() {
                        true => layouts,
                        false => Object::new().into(),
                    };
                    Reflect::set_u32(&layouts, offset, &value).map_err(js_error)?;
                    Reflect::set(&record, &LAYOUTS.into(), &layouts).map_err(js_error)?;
                }
                None => {
                    Reflect::set(&record, &LAYOUT.into(), &value).map_err(js_error)?;
                }
            }
            store.put(&record).map_err(js_error)?;
            Ok(())
        })
        .await
    }

    /// The stored bytes, summary record and layout of messages `ids`, read in one transaction;
    /// ids no longer stored are left out. A message is in the pack its summary names, else in
    /// `messages` (large, or stored before packs); each pack is read once. Pack `hint` is asked
    /// for with the summaries, saving a round trip when they name it (measured during a
    /// download: 4 ms at the median, 26-32 at the 90th percentile, up to 107 ms).
    async fn read_stored(
        &self,
        ids: &[String],
        hint: Option<&str>,
    ) -> Result<Vec<Found>, StoreError> {
        let tx = self.transaction(&[MESSAGES, SUMMARIES, PACKS], IdbTransactionMode::Readonly)?;
        let (messages, summaries, pack_store) = (
            object_store(&tx, MESSAGES)?,
            object_store(&tx, SUMMARIES)?,
            object_store(&tx, PACKS)?,
        );
        let requests = ids
            .iter()
            .map(|id| {
                let key = JsValue::from_str(id);
                Ok((
                    pending(messages.get(&key).map_err(js_error)?),
                    pending(summaries.get(&key).map_err(js_error)?),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // The packs, each asked for once, all before the first is awaited.
        let mut packs: HashMap<String, Option<(Uint8Array, JsValue)>> = HashMap::new();
        let mut asked = Vec::new();
        let mut ask = |pack: &str| -> Result<(), StoreError> {
            if !packs.contains_key(pack) {
                packs.insert(pack.to_string(), None);
                let request = pack_store.get(&JsValue::from_str(pack)).map_err(js_error)?;
                asked.push((pack.to_string(), pending(request)));
            }
            Ok(())
        };
        if let Some(pack) = hint {
            ask(pack)?;
        }
        enum Where {
            Whole(Vec<u8>, JsValue),
            Packed(String, u32, u32),
        }
        let mut found = Vec::with_capacity(ids.len());
        for (id, (message, summary)) in ids.iter().zip(requests) {
            let (message, summary) = (finished(message).await?, finished(summary).await?);
            // The summary, written in the same transaction as the bytes, says where they are:
            // a message stored again (its headers first, then whole) may have left an older
            // copy in `messages`.
            if let Some((pack, offset, length)) = place(&summary) {
                found.push((id, Where::Packed(pack, offset, length), summary));
            } else if !message.is_undefined() {
                let raw = raw_of(&message)
                    .ok_or_else(|| StoreError::Corrupt(format!("message {id} has no bytes")))?;
                let layout = Reflect::get(&message, &LAYOUT.into()).unwrap_or_default();
                found.push((id, Where::Whole(raw.to_vec(), layout), summary));
            }
        }
        for (_, place, _) in &found {
            if let Where::Packed(pack, ..) = place {
                ask(pack)?;
            }
        }
        for (pack, request) in asked {
            let record = finished(request).await?;
            if !record.is_undefined() {
                let raw = raw_of(&record)
                    .ok_or_else(|| StoreError::Corrupt(format!("pack {pack} has no bytes")))?;
                let layouts = Reflect::get(&record, &LAYOUTS.into()).unwrap_or_default();
                packs.insert(pack, Some((raw, layouts)));
            }
        }
        let mut out = Vec::with_capacity(found.len());
        for (id, place, summary) in found {
            let (raw, layout) = match place {
                Where::Whole(raw, layout) => (raw, layout),
                Where::Packed(pack, offset, length) => {
                    let Some(Some((bytes, layouts))) = packs.get(&pack) else {
                        return Err(StoreError::Corrupt(format!(
                            "message {id}: pack {pack} is missing"
                        )));
                    };
                    let end = offset
                        .checked_add(length)
                        .filter(|&end| end <= bytes.length());
                    let Some(end) = end else {
                        return Err(StoreError::Corrupt(format!(
                            "message {id} lies outside pack {pack}"
                        )));
                    };
                    let layout = match layouts.is_object() {
                        true => Reflect::get_u32(layouts, offset).unwrap_or_default(),
                        false => JsValue::UNDEFINED,
                    };
                    (bytes.subarray(offset, end).to_vec(), layout)
                }
            };
            out.push(Found {
                id: id.clone(),
                raw,
                summary,
                layout,
            });
        }
        Ok(out)
    }
}

/// A stored message as [`IdbStore::read_stored`] finds it: records as they are read.
struct Found {
    id: String,
    raw: Vec<u8>,
    summary: JsValue,
    layout: JsValue,
}

/// The packs of one commit: which message goes where, then the records.
#[derive(Default)]
struct Packing<'a> {
    /// Each pack's id, its size so far, its messages' bytes in order, and their layouts by
    /// offset.
    packs: Vec<(String, usize, Vec<&'a [u8]>, Object)>,
}

impl<'a> Packing<'a> {
    /// Places message `id` (`raw`): the pack's id and the offset in it. A pack's id is its
    /// first message's id and a random suffix: a message can be stored again (its headers
    /// first, then whole), and a new pack must not replace the one that holds its neighbours.
    fn add(&mut self, id: &str, raw: &'a [u8], layout: Option<JsValue>) -> (&str, usize) {
        if self
            .packs
            .last()
            .is_none_or(|(_, size, ..)| *size >= PACK_BYTES)
        {
            let suffix = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
            self.packs
                .push((format!("{id}#{suffix:x}"), 0, Vec::new(), Object::new()));
        }
        let (pack, size, raws, layouts) = self.packs.last_mut().expect("a pack was just opened");
        let offset = *size;
        *size += raw.len();
        raws.push(raw);
        if let Some(layout) = layout {
            // Setting a property on a fresh plain object does not fail.
            let _ = Reflect::set_u32(layouts, offset as u32, &layout);
        }
        (pack, offset)
    }

    /// `{ id, raw, live }` for each pack, its bytes copied once into one `Uint8Array`.
    fn records(self) -> Result<Vec<JsValue>, StoreError> {
        self.packs
            .into_iter()
            .map(|(id, size, raws, layouts)| {
                let bytes = Uint8Array::new_with_length(size as u32);
                let mut offset = 0u32;
                for raw in &raws {
                    let end = offset + raw.len() as u32;
                    bytes.subarray(offset, end).copy_from(raw);
                    offset = end;
                }
                let record = Object::new();
                Reflect::set(&record, &"id".into(), &id.into()).map_err(js_error)?;
                Reflect::set(&record, &"raw".into(), &bytes).map_err(js_error)?;
                Reflect::set(&record, &"live".into(), &(raws.len() as u32).into())
                    .map_err(js_error)?;
                Reflect::set(&record, &LAYOUTS.into(), &layouts).map_err(js_error)?;
                Ok(record.into())
            })
            .collect()
    }
}

/// Writes where a packed message lies in its pack (the summary names the pack: `pack`) into
/// its summary's record: `at: [offset, length]`.
fn set_at(summary: &JsValue, offset: usize, length: usize) -> Result<(), StoreError> {
    let at: Array = [offset as u32, length as u32]
        .iter()
        .map(|&n| JsValue::from(n))
        .collect();
    Reflect::set(summary, &"at".into(), &at).map_err(js_error)?;
    Ok(())
}

/// A summary record's place in a pack, if its message is packed.
fn place(summary: &JsValue) -> Option<(String, u32, u32)> {
    if !summary.is_object() {
        return None;
    }
    let pack = Reflect::get(summary, &"pack".into()).ok()?.as_string()?;
    let at = Reflect::get(summary, &"at".into()).ok()?;
    let number = |i| Reflect::get_u32(&at, i).ok()?.as_f64().map(|n| n as u32);
    Some((pack, number(0)?, number(1)?))
}

/// The bytes of a `{ id, raw }` record (a message or a pack), if it has them.
fn raw_of(record: &JsValue) -> Option<Uint8Array> {
    Reflect::get(record, &"raw".into()).ok()?.dyn_into().ok()
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
        let records: Vec<(&LedgerEntry, &Summary, Option<&Layout>, &[u8])> = batch
            .iter()
            .zip(&entries)
            .map(|(m, entry)| (entry, &m.summary, m.layout.as_ref(), m.raw.as_slice()))
            .collect();
        let stored = self.commit_records(&records).await?;
        self.stored.borrow_mut().extend(stored);
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
        let found = self.read_raws(&[id.to_string()]).await?;
        Ok(found.into_iter().next().map(|(_, raw)| raw))
    }

    async fn delete_message(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let entry_value = to_js(entry)?;
        let id = JsValue::from_str(&entry.message_id);
        // The ledger entry stays (marked) so the message is never downloaded again. A packed
        // message's bytes are zeroed in its pack, in the same transaction: deleted mail does
        // not stay readable on the disk until its pack's last message goes.
        let stores = [LEDGER, SUMMARIES, MESSAGES, SEARCH_IDS, PACKS];
        let tx = self.transaction(&stores, IdbTransactionMode::Readwrite)?;
        within(&tx, async {
            let summary = object_store(&tx, SUMMARIES)?.get(&id).map_err(js_error)?;
            if let Some((pack, offset, length)) = place(&finished(pending(summary)).await?) {
                let packs = object_store(&tx, PACKS)?;
                let key = JsValue::from_str(&pack);
                let record = finished(pending(packs.get(&key).map_err(js_error)?)).await?;
                if !record.is_undefined() {
                    let live = Reflect::get(&record, &"live".into())
                        .ok()
                        .and_then(|n| n.as_f64())
                        .unwrap_or(0.0);
                    if live <= 1.0 {
                        packs.delete(&key).map_err(js_error)?;
                    } else {
                        if let Some(raw) = raw_of(&record) {
                            let end = offset.saturating_add(length).min(raw.length());
                            raw.fill(0, offset.min(end), end);
                        }
                        // Its layout names its sender and attachments: it goes too.
                        if let Ok(layouts) = Reflect::get(&record, &LAYOUTS.into()) {
                            if layouts.is_object() {
                                let _ = Reflect::delete_property(
                                    layouts.unchecked_ref::<Object>(),
                                    &offset.into(),
                                );
                            }
                        }
                        Reflect::set(&record, &"live".into(), &(live - 1.0).into())
                            .map_err(js_error)?;
                        packs.put(&record).map_err(js_error)?;
                    }
                }
            }
            object_store(&tx, LEDGER)?
                .put(&entry_value)
                .map_err(js_error)?;
            for store in [SUMMARIES, MESSAGES, SEARCH_IDS] {
                object_store(&tx, store)?.delete(&id).map_err(js_error)?;
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
            &[
                ACCOUNTS, SECRETS, LEDGER, SUMMARIES, MESSAGES, SEARCH_IDS, PACKS,
            ]
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
                // Message ids (and pack ids, their first message's) are `account/uidl`: from
                // `account/` up to, not including, `account0` ('0' follows '/').
                let ids = IdbKeyRange::bound_with_lower_open_and_upper_open(
                    &JsValue::from_str(&format!("{id}/")),
                    &JsValue::from_str(&format!("{id}0")),
                    false,
                    true,
                )
                .map_err(js_error)?;
                for store in [SUMMARIES, MESSAGES, SEARCH_IDS, PACKS] {
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

    /// The summaries of the messages committed since the last call.
    pub fn take_stored(&self) -> Vec<Summary> {
        std::mem::take(&mut *self.stored.borrow_mut())
    }

    /// Replaces a stored summary (the read mark), keeping what its record holds beside the
    /// summary: the place of its message in a pack.
    pub async fn put_summary(&self, summary: &Summary) -> Result<(), StoreError> {
        // Never the place the caller's copy says: the message may have been stored again since
        // (its headers first, then whole), and the record knows where it is now.
        let value = to_js(&Summary {
            pack: None,
            ..summary.clone()
        })?;
        let tx = self.transaction(&[SUMMARIES], IdbTransactionMode::Readwrite)?;
        within(&tx, async {
            let store = object_store(&tx, SUMMARIES)?;
            let key = JsValue::from_str(&summary.id);
            let stored = finished(pending(store.get(&key).map_err(js_error)?)).await?;
            let record = match stored.dyn_into::<Object>() {
                Ok(stored) => Object::assign(&stored, value.unchecked_ref()).into(),
                Err(_) => value,
            };
            store.put(&record).map_err(js_error)?;
            Ok(())
        })
        .await
    }
}

/// A stored message as the reader opens it ([`IdbStore::open_message`]).
pub struct Opened {
    pub raw: Vec<u8>,
    /// `None` if the summary is gone (the message was deleted while it was read).
    pub summary: Option<Summary>,
    pub layout: Option<Layout>,
}

/// The field of a `messages` record that holds its message's [`Layout`]; a pack's records hold
/// theirs in a map from each message's offset in the pack. Beside the bytes, not in the summary:
/// the list reads every summary at start-up, and needs no layout.
const LAYOUT: &str = "layout";
const LAYOUTS: &str = "layouts";

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
fn message_record(id: &str, raw: &[u8], layout: Option<JsValue>) -> Result<JsValue, StoreError> {
    let record = Object::new();
    Reflect::set(&record, &"id".into(), &id.into()).map_err(js_error)?;
    Reflect::set(&record, &"raw".into(), &Uint8Array::from(raw)).map_err(js_error)?;
    if let Some(layout) = layout {
        Reflect::set(&record, &LAYOUT.into(), &layout).map_err(js_error)?;
    }
    Ok(record.into())
}
