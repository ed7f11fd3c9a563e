//! The runner against a real Dovecot with the memory store: everything is downloaded once, a
//! second sync downloads nothing, and what is stored is byte for byte what the server holds.

use futures::executor::block_on;
use postino_pop3::Secret;
use postino_sync::{
    open_session, sync_account, Account, MemoryStore, Progress, Security, Store, StoreError,
    SyncError,
};
use postino_testkit::{fixtures, workspace_root, Dovecot, DovecotOptions};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

fn mails() -> Vec<Vec<u8>> {
    fixtures(workspace_root().join("tests/fixtures/mail"))
        .into_iter()
        .map(|(_, raw)| raw)
        .collect()
}

fn account(d: &Dovecot) -> Account {
    Account {
        id: "acc1".into(),
        name: "alice@localhost".into(),
        relay: String::new(),
        host: "localhost".into(),
        port: d.pop3s_port(),
        security: Security::Tls,
        user: "alice".into(),
        pinned_cert: Some(d.fingerprint()),
    }
}

async fn sync_once(
    d: &Dovecot,
    store: &MemoryStore,
    events: &mut Vec<Progress>,
) -> Result<postino_sync::SyncReport, SyncError> {
    let acc = account(d);
    let tcp = TcpStream::connect(("127.0.0.1", d.pop3s_port()))
        .await
        .unwrap()
        .compat();
    let client = open_session(tcp, &acc, &Secret::new("pw".into())).await?;
    sync_account(client, store, &acc, 1_700_000_000, &mut |p| events.push(p)).await
}

#[tokio::test]
async fn downloads_everything_once_then_nothing() {
    let d = Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: "pw".into(),
        fixtures: mails(),
    })
    .unwrap();
    let store = MemoryStore::default();
    let expected = mails();

    let mut events = Vec::new();
    let first = sync_once(&d, &store, &mut events).await.unwrap();
    assert_eq!(first.downloaded, expected.len());
    assert_eq!(first.already_stored, 0);
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
    assert_eq!(summaries.len(), expected.len());
    assert!(summaries.iter().any(|s| s.subject == "Grüße aus Köln"));
    for s in &summaries {
        let raw = block_on(store.raw_message(&s.id)).unwrap().unwrap();
        assert!(expected.contains(&raw), "stored bytes of {} differ", s.id);
    }

    let second = sync_once(&d, &store, &mut Vec::new()).await.unwrap();
    assert_eq!(second.downloaded, 0);
    assert_eq!(second.already_stored, expected.len());
    assert_eq!(block_on(store.summaries()).unwrap().len(), expected.len());
}

#[tokio::test]
async fn a_failed_commit_stops_the_sync_and_keeps_what_was_committed() {
    let d = Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: "pw".into(),
        fixtures: mails(),
    })
    .unwrap();
    let store = MemoryStore::default();
    store.fail_next_commit(StoreError::QuotaExceeded);
    let err = sync_once(&d, &store, &mut Vec::new()).await.unwrap_err();
    assert!(matches!(err, SyncError::Store(StoreError::QuotaExceeded)));
    assert!(block_on(store.summaries()).unwrap().is_empty());

    // The next sync picks everything up; nothing is stored twice.
    let report = sync_once(&d, &store, &mut Vec::new()).await.unwrap();
    assert_eq!(report.downloaded, mails().len());
    assert_eq!(block_on(store.summaries()).unwrap().len(), mails().len());
}
