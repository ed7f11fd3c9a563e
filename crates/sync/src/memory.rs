//! A `Store` kept in memory: what the native tests, the benchmarks and the CLI's dry runs use.
//! It can be told to fail a commit, to test that nothing is deleted on the server after a failed
//! commit (DESIGN.md invariant 1).

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::store::{Incoming, Store, StoreError};
use crate::{Account, LedgerEntry, Summary};

/// Everything in `RefCell`s: the futures are not `Send`, like IndexedDB's, and no borrow is held
/// across an await.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RefCell<Contents>,
}

#[derive(Debug, Default)]
struct Contents {
    accounts: BTreeMap<String, Account>,
    /// Keyed by (account, uidl), like the IndexedDB `ledger` store.
    ledger: BTreeMap<(String, String), LedgerEntry>,
    summaries: BTreeMap<String, Summary>,
    messages: BTreeMap<String, Vec<u8>>,
    fail_next_commit: Option<StoreError>,
    commits: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `commit_message` returns `error` and stores nothing; later ones succeed again.
    pub fn fail_next_commit(&self, error: StoreError) {
        self.inner.borrow_mut().fail_next_commit = Some(error);
    }

    /// The ledger entry for (account, uidl), if one was committed.
    pub fn ledger_entry(&self, account: &str, uidl: &str) -> Option<LedgerEntry> {
        self.inner
            .borrow()
            .ledger
            .get(&(account.to_owned(), uidl.to_owned()))
            .cloned()
    }

    /// Forget the whole ledger, as a damaged or lost one would be; messages stay.
    pub fn clear_ledger(&self) {
        self.inner.borrow_mut().ledger.clear();
    }

    /// How many `commit_message` calls succeeded, repeats of the same message included.
    pub fn commit_count(&self) -> u64 {
        self.inner.borrow().commits
    }
}

impl Store for MemoryStore {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        Ok(self.inner.borrow().accounts.values().cloned().collect())
    }

    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.inner
            .borrow_mut()
            .accounts
            .insert(account.id.clone(), account.clone());
        Ok(())
    }

    async fn ledger(&self, account: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .ledger
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, entry)| entry.clone())
            .collect())
    }

    async fn commit_message(&self, message: &Incoming) -> Result<(), StoreError> {
        let Incoming {
            entry,
            summary,
            raw,
            ..
        } = message;
        let mut inner = self.inner.borrow_mut();
        if let Some(error) = inner.fail_next_commit.take() {
            return Err(error);
        }
        // All three or none: nothing above can fail once the first insert is made.
        inner
            .ledger
            .insert((entry.account.clone(), entry.uidl.clone()), entry.clone());
        inner.summaries.insert(summary.id.clone(), summary.clone());
        inner.messages.insert(entry.message_id.clone(), raw.clone());
        inner.commits += 1;
        Ok(())
    }

    async fn summaries(&self) -> Result<Vec<Summary>, StoreError> {
        Ok(self.inner.borrow().summaries.values().cloned().collect())
    }

    async fn raw_message(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.borrow().messages.get(id).cloned())
    }

    async fn delete_message(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        inner.summaries.remove(&entry.message_id);
        inner.messages.remove(&entry.message_id);
        inner
            .ledger
            .insert((entry.account.clone(), entry.uidl.clone()), entry.clone());
        Ok(())
    }

    async fn record_skip(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        self.inner
            .borrow_mut()
            .ledger
            .insert((entry.account.clone(), entry.uidl.clone()), entry.clone());
        Ok(())
    }
}
