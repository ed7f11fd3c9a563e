//! The storage trait. The app implements it over IndexedDB, the tests and the CLI natively.

use std::collections::HashSet;

use crate::layout::Layout;
use crate::{Account, LedgerEntry, Summary};

/// A message on its way into the store: its ledger entry, its summary, search terms and layout
/// (parsed once, [`Summary::parsed`]) and its bytes. A store keeps what it needs of it: the app's
/// IndexedDB store all five, the memory store and the CLI's disk store no terms and no layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub entry: LedgerEntry,
    pub summary: Summary,
    /// [`crate::search::message_terms`] of `raw`.
    pub terms: Vec<String>,
    /// Where the reader finds the parts of `raw` ([`crate::layout`]); `None` when the caller did
    /// not parse it.
    pub layout: Option<Layout>,
    pub raw: Vec<u8>,
}

impl Incoming {
    /// A message read from the server (or imported, `crate::import`) at `now` (Unix seconds):
    /// its ledger entry says what it is, its bytes are parsed once for the summary and terms.
    pub fn new(account: &str, uidl: &str, headers_only: bool, raw: Vec<u8>, now: i64) -> Self {
        Self::for_store(account, uidl, headers_only, raw, now, false)
    }

    /// As [`Incoming::new`], for a store that fills the ledger's digest itself
    /// ([`Store::FILLS_DIGEST`]) when `store_fills_digest`: the entry's digest is then left
    /// empty, for the store to compute before its transaction.
    pub fn for_store(
        account: &str,
        uidl: &str,
        headers_only: bool,
        raw: Vec<u8>,
        now: i64,
        store_fills_digest: bool,
    ) -> Self {
        let entry = if store_fills_digest {
            LedgerEntry::stored_without_digest(account, uidl, raw.len() as u64, headers_only, now)
        } else {
            LedgerEntry::stored(account, uidl, &raw, headers_only, now)
        };
        let (summary, terms, layout) = Summary::parsed(account, uidl, &raw);
        Incoming {
            entry,
            summary,
            terms,
            layout: Some(layout),
            raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The browser (or disk) refused to store more. Sync stops before any DELE.
    #[error("storage is full: free some space or allow Postino more storage")]
    QuotaExceeded,
    /// The store could not be opened or a transaction failed.
    #[error("storage failed: {0}")]
    Failed(String),
    /// A stored record could not be read back.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// Where accounts, the ledger, summaries and raw messages live.
///
/// Futures are not `Send`: IndexedDB lives on the browser's one thread.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// True for a store that computes [`LedgerEntry::digest`] (SHA-256 of the bytes) itself, in
    /// [`Store::commit_messages`] before its transaction, for entries whose digest is empty. The
    /// app's IndexedDB store does, with the browser's native SHA-256: in wasm it was 14% of
    /// the engine's time in a download. The session then leaves the digest to it.
    const FILLS_DIGEST: bool = false;
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Insert or replace the account with the same id.
    async fn put_account(&self, account: &Account) -> Result<(), StoreError>;
    /// The ledger entries of one account.
    async fn ledger(&self, account: &str) -> Result<Vec<LedgerEntry>, StoreError>;
    /// The UIDLs in the ledger of one account.
    async fn ledger_uidls(&self, account: &str) -> Result<HashSet<String>, StoreError> {
        Ok(self
            .ledger(account)
            .await?
            .into_iter()
            .map(|e| e.uidl)
            .collect())
    }
    /// Store the raw bytes, the summary and the ledger entry in one transaction. Returns only once
    /// the store confirmed the commit; on error none of the three is stored.
    async fn commit_message(&self, message: &Incoming) -> Result<(), StoreError>;
    /// Several messages, each with its summary and ledger entry. Each message is atomic with
    /// its entry; stores that can (IndexedDB) commit the whole batch in one transaction, since
    /// one durable commit for many small messages is what makes a browser download fast (each
    /// IndexedDB commit waits for the disk). The default commits them one by one. Returns only
    /// once all are committed; on error, some may be.
    async fn commit_messages(&self, batch: &[Incoming]) -> Result<(), StoreError> {
        for message in batch {
            self.commit_message(message).await?;
        }
        Ok(())
    }
    /// Every stored summary, in no particular order.
    async fn summaries(&self) -> Result<Vec<Summary>, StoreError>;
    /// The raw bytes of a stored message, by `Summary::id`.
    async fn raw_message(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The user deleted a message: remove its bytes and summary, and keep `entry` (given with
    /// state `DeletedLocally`) so it is never downloaded again. One transaction.
    async fn delete_message(&self, entry: &LedgerEntry) -> Result<(), StoreError>;
    /// The user chose "skip" in server triage: store `entry` (made by [`LedgerEntry::skipped`])
    /// alone, no bytes and no summary, replacing any entry with its key. The default writes it
    /// through [`Store::delete_message`], which keeps the entry and finds nothing to remove.
    async fn record_skip(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        self.delete_message(entry).await
    }
}
