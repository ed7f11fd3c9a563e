//! `IdbStore` in headless Chromium: the suite every `Store` must pass, and data that outlives the
//! connection that wrote it (a reload).
#![cfg(target_arch = "wasm32")]

use postino_app::idb::{delete_database, IdbStore};
use postino_sync::conformance::{check_store, sample_account, sample_message};
use postino_sync::store::Store;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Each test its own database, deleted before (a previous run may have left it) and after.
async fn fresh(name: &str) -> IdbStore {
    delete_database(name).await.unwrap();
    IdbStore::open(name).await.unwrap()
}

#[wasm_bindgen_test]
async fn idb_store_passes_the_store_suite() {
    let name = "postino-test-suite";
    let store = fresh(name).await;
    check_store(&store).await;
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_second_connection_sees_what_the_first_committed() {
    let name = "postino-test-reload";
    let first = fresh(name).await;
    let account = sample_account("acct-1");
    first.put_account(&account).await.unwrap();
    let (entry, summary, raw) = sample_message("acct-1", "u1", vec![0x00, 0xFF, b'\r', b'\n']);
    first.commit_message(&entry, &summary, &raw).await.unwrap();
    drop(first);

    let second = IdbStore::open(name).await.unwrap();
    assert_eq!(second.accounts().await.unwrap(), vec![account]);
    assert_eq!(second.summaries().await.unwrap(), vec![summary]);
    assert_eq!(
        second.raw_message(&entry.message_id).await.unwrap(),
        Some(raw)
    );
    let uidls = second.ledger_uidls("acct-1").await.unwrap();
    assert_eq!(uidls.into_iter().collect::<Vec<_>>(), vec!["u1".to_owned()]);
    drop(second);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn two_open_connections_see_each_others_commits() {
    let name = "postino-test-two";
    let first = fresh(name).await;
    let second = IdbStore::open(name).await.unwrap();
    let (entry, summary, raw) = sample_message("acct-1", "u9", b"hello".to_vec());
    first.commit_message(&entry, &summary, &raw).await.unwrap();
    assert_eq!(
        second.raw_message(&entry.message_id).await.unwrap(),
        Some(raw)
    );
    drop(first);
    drop(second);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn removing_an_account_with_its_mail_leaves_other_accounts_alone() {
    let name = "postino-test-remove-account";
    let store = fresh(name).await;
    for id in ["acct", "acct2"] {
        store.put_account(&sample_account(id)).await.unwrap();
        let (entry, summary, raw) = sample_message(id, "u1", b"Subject: s\r\n\r\nb\r\n".to_vec());
        store.commit_message(&entry, &summary, &raw).await.unwrap();
    }
    store.delete_account("acct2", false).await.unwrap();
    assert_eq!(store.accounts().await.unwrap().len(), 1);
    assert_eq!(store.summaries().await.unwrap().len(), 2, "mail kept");

    store.delete_account("acct", true).await.unwrap();
    assert!(store.accounts().await.unwrap().is_empty());
    let left: Vec<_> = store
        .summaries()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.account)
        .collect();
    assert_eq!(left, ["acct2"]);
    assert!(store.ledger("acct").await.unwrap().is_empty());
    assert_eq!(store.ledger("acct2").await.unwrap().len(), 1);
    assert!(store.raw_message("acct/u1").await.unwrap().is_none());
    assert!(store.raw_message("acct2/u1").await.unwrap().is_some());
    drop(store);
    delete_database(name).await.unwrap();
}
