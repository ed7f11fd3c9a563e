//! The tests every `Store` must pass: `MemoryStore` natively (`tests/memory_store.rs`), the app's
//! `IdbStore` in a browser (`crates/engine/tests/idb.rs`), the CLI's `DiskStore` into Maildir
//! and mbox (`crates/cli/src/disk.rs`, through [`check_mail_store`]). One suite, so that every
//! store means the same thing by "committed".

use std::collections::HashSet;

use crate::digest::sha256_hex;
use crate::ledger::message_id;
use crate::store::{Incoming, Store};
use crate::{Account, EntryState, LedgerEntry, Security, Summary};

/// Runs the suite on `store`, which must be empty. Panics (`assert!`) on the first failure.
pub async fn check_store<S: Store>(store: &S) {
    check_empty(store).await;
    check_accounts(store).await;
    check_commits(store, Summaries::AsGiven).await;
    check_ledger_and_delete(store).await;
    check_batch(store).await;
    check_skip(store).await;
    check_digests(store).await;
}

/// What the session gives a store: a message whose digest is left to a store that fills it
/// ([`Store::FILLS_DIGEST`]) is in the ledger with the SHA-256 of its bytes, beside one that
/// came with its digest; and a store that does not fill it gets digests made already.
async fn check_digests<S: Store>(store: &S) {
    let raws = [
        b"Subject: one\r\n\r\nfirst\r\n".to_vec(),
        vec![0xFF; 70_000],
    ];
    let batch = [
        Incoming::for_store("acct-dig", "d1", false, raws[0].clone(), 1, S::FILLS_DIGEST),
        Incoming::new("acct-dig", "d2", true, raws[1].clone(), 1),
    ];
    assert_eq!(batch[0].entry.digest.is_empty(), S::FILLS_DIGEST);
    store.commit_messages(&batch).await.unwrap();
    let mut ledger = store.ledger("acct-dig").await.unwrap();
    ledger.sort_by(|a, b| a.uidl.cmp(&b.uidl));
    let digests: Vec<&str> = ledger.iter().map(|e| e.digest.as_str()).collect();
    assert_eq!(
        digests,
        [sha256_hex(&raws[0]), sha256_hex(&raws[1])],
        "the ledger holds the SHA-256 of each message's bytes"
    );
}

/// The suite for a store of mail files (the CLI's Maildir and mbox), which must be empty: its
/// accounts live elsewhere (a TOML file), so `put_account` must succeed but `accounts` need not
/// give them back, and its summaries are made from the stored bytes ([`Summary::from_raw`])
/// rather than kept as given. The messages, their bytes, the ledger, deletes, batches and skips
/// are checked as in [`check_store`].
pub async fn check_mail_store<S: Store>(store: &S) {
    check_empty(store).await;
    store.put_account(&sample_account("acct-1")).await.unwrap();
    store.accounts().await.unwrap();
    check_commits(store, Summaries::FromBytes).await;
    check_ledger_and_delete(store).await;
    check_batch(store).await;
    check_skip(store).await;
}

/// A skip stores the entry alone, and replaces none of another account's.
async fn check_skip<S: Store>(store: &S) {
    let skipped = LedgerEntry::skipped("acct-skip", "s1", 4096, 1_700_000_000);
    store.record_skip(&skipped).await.unwrap();
    assert_eq!(
        store.ledger("acct-skip").await.unwrap(),
        vec![skipped.clone()]
    );
    assert_eq!(store.raw_message(&skipped.message_id).await.unwrap(), None);
    assert!(!store
        .summaries()
        .await
        .unwrap()
        .iter()
        .any(|s| s.id == skipped.message_id));
}

/// A batch commit stores every message of the batch with its entry.
async fn check_batch<S: Store>(store: &S) {
    let batch: Vec<_> = (0..5)
        .map(|i| sample_message("acct-batch", &format!("b{i}"), vec![b'x'; 1000 * (i + 1)]))
        .collect();
    store.commit_messages(&batch).await.unwrap();
    assert_eq!(store.ledger_uidls("acct-batch").await.unwrap().len(), 5);
    for m in &batch {
        assert_eq!(
            store
                .raw_message(&m.entry.message_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&m.raw)
        );
    }
}

/// The full ledger entries come back, and a local delete removes the bytes and the summary but
/// keeps the entry, marked, so the message is never downloaded again.
async fn check_ledger_and_delete<S: Store>(store: &S) {
    let mut message = sample_message("acct-del", "d1", b"Subject: x\r\n\r\nbye\r\n".to_vec());
    message.entry.state = EntryState::HeadersOnly;
    store.commit_message(&message).await.unwrap();
    let entry = message.entry;
    assert_eq!(store.ledger("acct-del").await.unwrap(), vec![entry.clone()]);

    let deleted = entry.clone().into_deleted_locally();
    store.delete_message(&deleted).await.unwrap();
    assert_eq!(store.raw_message(&entry.message_id).await.unwrap(), None);
    assert!(!store
        .summaries()
        .await
        .unwrap()
        .iter()
        .any(|s| s.id == entry.message_id));
    assert_eq!(store.ledger("acct-del").await.unwrap(), vec![deleted]);
}

/// An account as the suite uses it.
pub fn sample_account(id: &str) -> Account {
    Account {
        id: id.to_owned(),
        name: format!("user@{id}.example"),
        relay: "http://127.0.0.1:8080".to_owned(),
        host: format!("pop.{id}.example"),
        port: 995,
        security: Security::Tls,
        user: "user".to_owned(),
        pinned_cert: None,
        policy: Default::default(),
        relay_token: Some(postino_pop3::Secret::new("relay token ✉".to_owned())),
        remember_password: false,
        auth: Default::default(),
        auth_learned: None,
        oauth: None,
    }
}

/// A message as the suite commits it: its ledger entry, summary and bytes agree with each other.
pub fn sample_message(account: &str, uidl: &str, raw: Vec<u8>) -> Incoming {
    let id = message_id(account, uidl);
    let size = raw.len() as u64;
    let entry = LedgerEntry {
        account: account.to_owned(),
        uidl: uidl.to_owned(),
        size,
        // Not a real SHA-256: the store keeps the digest, it does not check it.
        digest: format!("{:064x}", size),
        downloaded_at: 1_700_000_000,
        message_id: id.clone(),
        state: EntryState::Stored,
    };
    let summary = Summary {
        id,
        account: account.to_owned(),
        uidl: uidl.to_owned(),
        from: "Alice <alice@example.org>".to_owned(),
        subject: format!("Message {uidl} ✉"),
        // None for the empty message: both shapes of an optional field round-trip.
        date: (!raw.is_empty()).then_some(1_699_999_999),
        size,
        snippet: "Hello".to_owned(),
        message_id_header: Some(format!("{uidl}@example.org")),
        auth: crate::AuthResults {
            server: "mx.example.org".to_owned(),
            spf: Some("pass".to_owned()),
            dkim: None,
            dmarc: Some("fail".to_owned()),
        },
        to: "Bob <bob@example.org>, …".to_owned(),
        attachments: 2,
        pack: None,
        read: false,
    };
    Incoming {
        entry,
        summary,
        terms: vec!["alice".to_owned(), "message".to_owned()],
        layout: None,
        raw,
    }
}

async fn check_empty<S: Store>(store: &S) {
    assert_eq!(store.accounts().await.unwrap(), Vec::<Account>::new());
    assert_eq!(store.summaries().await.unwrap(), Vec::<Summary>::new());
    assert!(store.ledger_uidls("acct-1").await.unwrap().is_empty());
    assert_eq!(store.raw_message("acct-1/u1").await.unwrap(), None);
}

async fn check_accounts<S: Store>(store: &S) {
    let a = sample_account("acct-1");
    let b = sample_account("acct-2");
    store.put_account(&a).await.unwrap();
    store.put_account(&b).await.unwrap();
    assert_eq!(sorted_accounts(store).await, vec![a.clone(), b.clone()]);

    // Same id: replaced, not added.
    let a2 = Account {
        name: "renamed".to_owned(),
        port: 110,
        security: Security::Stls,
        pinned_cert: Some("AB:CD".to_owned()),
        ..a
    };
    store.put_account(&a2).await.unwrap();
    assert_eq!(sorted_accounts(store).await, vec![a2, b]);
}

/// What [`Store::summaries`] gives for a committed message.
#[derive(Clone, Copy)]
enum Summaries {
    /// The summary it was committed with.
    AsGiven,
    /// The summary of its bytes.
    FromBytes,
}

async fn check_commits<S: Store>(store: &S, summaries: Summaries) {
    // Every byte value, NUL and 0xFF included; a message of 1 MiB; an empty one; the same UIDL in
    // two accounts; a UIDL with spaces, kept exactly as the server sent it.
    let every_byte: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let large: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let messages = vec![
        sample_message("acct-1", "u1", every_byte),
        sample_message("acct-1", "u2", large),
        sample_message("acct-1", " padded uidl ", Vec::new()),
        sample_message("acct-2", "u1", b"\x00\xff\r\n.\r\n\xff\x00".to_vec()),
    ];
    for message in &messages {
        store.commit_message(message).await.unwrap();
    }
    check_contents(store, &messages, summaries).await;

    // Committing the same (account, uidl) again changes nothing.
    store.commit_message(&messages[0]).await.unwrap();
    store.commit_message(&messages[1]).await.unwrap();
    check_contents(store, &messages, summaries).await;
}

async fn check_contents<S: Store>(store: &S, messages: &[Incoming], kind: Summaries) {
    let mut summaries = store.summaries().await.unwrap();
    summaries.sort_by(|x, y| x.id.cmp(&y.id));
    // Where a store keeps the bytes (the app's IndexedDB: `pack`) is its own to say.
    for s in &mut summaries {
        s.pack = None;
    }
    let mut expected: Vec<Summary> = messages
        .iter()
        .map(|m| match kind {
            Summaries::AsGiven => m.summary.clone(),
            Summaries::FromBytes => Summary::from_raw(&m.entry.account, &m.entry.uidl, &m.raw),
        })
        .collect();
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(summaries, expected);

    for Incoming { entry, raw, .. } in messages {
        let stored = store.raw_message(&entry.message_id).await.unwrap();
        let stored = stored.unwrap_or_else(|| panic!("no raw message for {}", entry.message_id));
        assert!(stored == *raw, "raw bytes of {} differ", entry.message_id);
    }
    assert_eq!(store.raw_message("acct-1/unknown").await.unwrap(), None);
    assert_eq!(store.raw_message("acct-3/u1").await.unwrap(), None);

    // Each account sees its own ledger only.
    let uidls = |account: &str| -> HashSet<String> {
        messages
            .iter()
            .filter(|m| m.entry.account == account)
            .map(|m| m.entry.uidl.clone())
            .collect()
    };
    assert_eq!(store.ledger_uidls("acct-1").await.unwrap(), uidls("acct-1"));
    assert_eq!(store.ledger_uidls("acct-2").await.unwrap(), uidls("acct-2"));
    assert!(store.ledger_uidls("acct-3").await.unwrap().is_empty());
    // A prefix of an account id is another account.
    assert!(store.ledger_uidls("acct").await.unwrap().is_empty());
}

async fn sorted_accounts<S: Store>(store: &S) -> Vec<Account> {
    let mut accounts = store.accounts().await.unwrap();
    accounts.sort_by(|x, y| x.id.cmp(&y.id));
    accounts
}
