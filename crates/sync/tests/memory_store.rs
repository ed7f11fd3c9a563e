//! `MemoryStore` passes the suite every `Store` must pass, and fails a commit when told to.

use futures::executor::block_on;
use postino_sync::conformance::{check_store, sample_message};
use postino_sync::memory::MemoryStore;
use postino_sync::store::{Store, StoreError};

#[test]
fn memory_store_passes_the_store_suite() {
    block_on(check_store(&MemoryStore::default()));
}

#[test]
fn a_failed_commit_stores_nothing_and_the_next_one_succeeds() {
    block_on(async {
        let store = MemoryStore::default();
        let message = sample_message("acct-1", "u1", b"Subject: x\r\n\r\nbody\r\n".to_vec());
        let (entry, raw) = (message.entry.clone(), message.raw.clone());

        store.fail_next_commit(StoreError::QuotaExceeded);
        let result = store.commit_message(&message).await;
        assert_eq!(result, Err(StoreError::QuotaExceeded));
        assert!(store.ledger_uidls("acct-1").await.unwrap().is_empty());
        assert!(store.summaries().await.unwrap().is_empty());
        assert_eq!(store.raw_message(&entry.message_id).await.unwrap(), None);
        assert_eq!(store.commit_count(), 0);

        store.commit_message(&message).await.unwrap();
        assert_eq!(store.ledger_entry("acct-1", "u1"), Some(entry.clone()));
        assert_eq!(
            store.raw_message(&entry.message_id).await.unwrap(),
            Some(raw)
        );
        assert_eq!(store.commit_count(), 1);
    });
}
