//! The runner against a real Dovecot with the memory store: everything is downloaded once, a
//! second sync downloads nothing, stored bytes equal the server's, policies delete exactly what
//! they should, and a failed commit is never followed by a DELE of that message.

mod support;

use futures::executor::block_on;
use postino_sync::{
    sync_account, DeletePolicy, MemoryStore, Policy, Progress, Security, Store, StoreError,
    SyncError, SyncOptions,
};
use support::{account, dovecot, mails, server_count, stored_raws, RecordingProxy, Tcp};

#[tokio::test]
async fn downloads_everything_once_then_nothing() {
    let d = dovecot();
    let store = MemoryStore::default();
    let expected = mails();
    let acc = account(&d, Policy::default());
    let mut tcp = Tcp::loopback(d.pop3s_port());
    let opts = SyncOptions::new(1_700_000_000);

    let mut events = Vec::new();
    let first = sync_account(
        &mut tcp,
        &store,
        &acc,
        &support::password(),
        &opts,
        &mut |p| events.push(p),
    )
    .await
    .unwrap();
    assert_eq!(first.downloaded, expected.len());
    assert_eq!(first.already_stored, 0);
    assert_eq!(first.deleted, 0);
    assert_eq!(
        first.bytes,
        expected.iter().map(|m| m.len() as u64).sum::<u64>()
    );
    assert!(events.contains(&Progress::Downloading {
        done: expected.len(),
        total: expected.len(),
        bytes_done: first.bytes,
        bytes_total: first.bytes,
    }));
    let summaries = block_on(store.summaries()).unwrap();
    assert!(summaries.iter().any(|s| s.subject == "Grüße aus Köln"));
    assert_eq!(stored_raws(&store), support::sorted(expected.clone()));

    let second = support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    assert_eq!(second.downloaded, 0);
    assert_eq!(second.already_stored, expected.len());
    assert_eq!(store.commit_count(), expected.len() as u64);
    // Leave on server: the server still has everything.
    assert_eq!(server_count(&d).await, expected.len());
}

#[tokio::test]
async fn delete_after_download_empties_the_server_in_chunks() {
    let d = dovecot();
    let store = MemoryStore::default();
    let acc = account(
        &d,
        Policy {
            delete: DeletePolicy::AfterDownload,
            ..Default::default()
        },
    );
    let mut opts = SyncOptions::new(1_700_000_000);
    opts.store_persistent = true;
    opts.expunge_every = 2;
    let report = sync_account(
        &mut Tcp::loopback(d.pop3s_port()),
        &store,
        &acc,
        &support::password(),
        &opts,
        &mut |_| {},
    )
    .await
    .unwrap();
    let n = mails().len();
    assert_eq!(report.downloaded, n);
    assert_eq!(report.deleted, n);
    assert!(report.sessions >= n / 2, "{} sessions", report.sessions);
    assert_eq!(server_count(&d).await, 0);
    assert_eq!(stored_raws(&store), support::sorted(mails()));
}

#[tokio::test]
async fn delete_after_download_is_refused_without_a_persistent_store() {
    let d = dovecot();
    let store = MemoryStore::default();
    let acc = account(
        &d,
        Policy {
            delete: DeletePolicy::AfterDownload,
            ..Default::default()
        },
    );
    let opts = SyncOptions::new(1_700_000_000);
    let report = sync_account(
        &mut Tcp::loopback(d.pop3s_port()),
        &store,
        &acc,
        &support::password(),
        &opts,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.deleted, 0);
    assert_eq!(
        report.warnings,
        [postino_sync::Warning::DeleteRefusedNotPersistent]
    );
    assert_eq!(server_count(&d).await, mails().len());
}

#[tokio::test]
async fn size_limit_stores_headers_only_then_the_rest_on_request() {
    let d = dovecot();
    let store = MemoryStore::default();
    let acc = account(
        &d,
        Policy {
            size_limit: Some(100_000),
            ..Default::default()
        },
    );
    let mut opts = SyncOptions::new(1_700_000_000);
    let mut tcp = Tcp::loopback(d.pop3s_port());
    let report = support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    assert_eq!(
        report.headers_only, 1,
        "only the 300 KB fixture is over the limit"
    );
    let big = block_on(store.ledger(&acc.id))
        .unwrap()
        .into_iter()
        .find(|e| e.state == postino_sync::EntryState::HeadersOnly)
        .unwrap();
    let raw = block_on(store.raw_message(&big.message_id))
        .unwrap()
        .unwrap();
    assert!(raw.len() < 4_000, "headers only, got {} bytes", raw.len());
    assert!(!raw.windows(12).any(|w| w == b"marker-fjord"));

    opts.want_full.insert(big.uidl.clone());
    let report = support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    assert_eq!((report.downloaded, report.headers_only), (1, 0));
    assert_eq!(stored_raws(&store), support::sorted(mails()));
}

/// A commit that fails mid-session (quota) stops the sync: the message is not deleted on the
/// server, nothing is deleted at all (no QUIT), and the next sync completes the job. Plain POP3
/// on loopback, so the proxy can read every command the client sent.
#[tokio::test]
async fn a_failed_commit_is_never_followed_by_its_dele() {
    let d = dovecot();
    let proxy = RecordingProxy::start(d.pop3_port()).await;
    let store = support::FailingStore::default();
    let mut acc = account(
        &d,
        Policy {
            delete: DeletePolicy::AfterDownload,
            ..Default::default()
        },
    );
    acc.security = Security::None;
    acc.port = proxy.port;
    let mut opts = SyncOptions::new(1_700_000_000);
    opts.store_persistent = true;
    let mut tcp = Tcp::loopback(proxy.port);

    store.fail_commit_after(2);
    let err = support::sync(&mut tcp, &store, &acc, &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Store(StoreError::QuotaExceeded)));
    let sent = proxy.client_bytes_when_closed().await;
    assert!(sent.contains("RETR 3\r\n"), "{sent}");
    // The batch holding message 3 failed: no DELE at all, since a DELE follows only a batch
    // the store confirmed (1 and 2 are stored, and deleted by the next sync).
    assert!(!sent.contains("DELE"), "DELE after a failed commit: {sent}");
    assert!(
        !sent.contains("QUIT"),
        "the broken session must not apply deletions"
    );
    assert_eq!(server_count(&d).await, mails().len());
    assert_eq!(store.inner.commit_count(), 2);

    let report = support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    assert_eq!(report.downloaded, mails().len() - 2);
    assert_eq!(server_count(&d).await, 0);
    assert_eq!(stored_raws(&store.inner), support::sorted(mails()));
    assert_eq!(store.inner.commit_count(), mails().len() as u64);
}

/// A lost ledger is rebuilt from the headers (TOP n 0) of what is already stored: no body is
/// downloaded again. Plain POP3 on loopback, so the proxy can count the RETRs.
#[tokio::test]
async fn a_lost_ledger_is_rebuilt_without_downloading_bodies_again() {
    let d = dovecot();
    let proxy = RecordingProxy::start(d.pop3_port()).await;
    let store = MemoryStore::default();
    let mut acc = account(&d, Policy::default());
    acc.security = Security::None;
    acc.port = proxy.port;
    let opts = SyncOptions::new(1_700_000_000);
    let mut tcp = Tcp::loopback(proxy.port);
    support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    let retrs_before = proxy.client_bytes().matches("RETR ").count();
    assert_eq!(retrs_before, mails().len());

    store.clear_ledger();
    let report = support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    assert_eq!(report.rebuilt, mails().len());
    assert_eq!(
        proxy.client_bytes().matches("RETR ").count(),
        retrs_before,
        "a body was downloaded again"
    );
    assert_eq!(
        block_on(store.ledger_uidls(&acc.id)).unwrap().len(),
        mails().len()
    );
    assert_eq!(stored_raws(&store), support::sorted(mails()));

    // And the next sync is an ordinary one again.
    let report = support::sync(&mut tcp, &store, &acc, &opts).await.unwrap();
    assert_eq!((report.downloaded, report.rebuilt), (0, 0));
}

#[tokio::test]
async fn cancel_stops_between_messages_and_keeps_what_was_stored() {
    let d = dovecot();
    let store = MemoryStore::default();
    let acc = account(&d, Policy::default());
    let mut opts = SyncOptions::new(1_700_000_000);
    // One at a time, so that each message is its own commit and the cancel lands between two.
    opts.max_in_flight = Some(1);
    let cancel = opts.cancel.clone();
    let report = sync_account(
        &mut Tcp::loopback(d.pop3s_port()),
        &store,
        &acc,
        &support::password(),
        &opts,
        &mut |p| {
            if let Progress::Downloading { done: 2, .. } = p {
                cancel.cancel();
            }
        },
    )
    .await
    .unwrap();
    assert!(report.cancelled);
    assert_eq!(report.downloaded, 2);
    assert_eq!(block_on(store.summaries()).unwrap().len(), 2);
}
