//! Mail imported from files (.eml, mbox) into the store, beside downloaded mail.
//!
//! Imported mail belongs to the local account [`IMPORTED_ACCOUNT`]. Each message is stored in
//! CRLF form ([`mbox::normalize_eml`]) and its UIDL is `sha256:` and the hex SHA-256 of
//! those bytes, so the ledger (DESIGN.md invariant 2) recognises a message imported before,
//! from the same file or another, .eml or mbox: importing twice stores nothing twice. A message
//! is recognised by its exact bytes: a copy whose headers a mail reader changed (a `Status:`
//! line added) is another message.

use crate::digest::sha256_hex;
use crate::mailbox::mbox;
use crate::session::{BATCH_BYTES, BATCH_MESSAGES};
use crate::store::Incoming;
use crate::{Store, StoreError};

/// The account id of imported mail. No server is behind it and no `Account` record is stored
/// for it; its ledger lists what was imported, so that it is never imported twice (an entry the
/// user deleted in Postino stays in the ledger, like a downloaded one, and keeps that message
/// from being imported again).
pub const IMPORTED_ACCOUNT: &str = "imported";

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// Messages stored.
    pub imported: usize,
    /// Messages the ledger held already, or that came earlier in the same import.
    pub already_there: usize,
    /// Empty messages, not stored (an mbox entry with nothing after its `From ` line).
    pub empty: usize,
}

/// The UIDL of an imported message in CRLF form.
pub fn uidl(raw: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(raw))
}

/// What `Store::commit_messages` takes for one imported message: its ledger entry, summary,
/// terms and bytes, in CRLF form (converted if they were not).
pub fn prepare(raw: Vec<u8>, now_unix: i64) -> Incoming {
    let raw = crlf_form(raw);
    let uidl = uidl(&raw);
    prepared(raw, &uidl, now_unix)
}

/// Store `messages` (each an .eml file or an mbox entry) under [`IMPORTED_ACCOUNT`], skipping
/// those the ledger holds, in batches of a store transaction each, as the runner commits.
/// `now_unix` becomes each entry's `downloaded_at`. On error the batches committed before stay
/// committed, and importing again skips them.
pub async fn import_messages<S: Store>(
    store: &S,
    messages: impl IntoIterator<Item = Vec<u8>>,
    now_unix: i64,
) -> Result<ImportReport, StoreError> {
    let mut known = store.ledger_uidls(IMPORTED_ACCOUNT).await?;
    let mut report = ImportReport::default();
    let mut batch = Vec::new();
    let mut batch_bytes = 0usize;
    for raw in messages {
        let raw = crlf_form(raw);
        if raw.is_empty() {
            report.empty += 1;
            continue;
        }
        let uidl = uidl(&raw);
        if known.contains(&uidl) {
            report.already_there += 1;
            continue;
        }
        batch_bytes += raw.len();
        batch.push(prepared(raw, &uidl, now_unix));
        known.insert(uidl);
        if batch.len() >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
            commit(store, &mut batch, &mut report).await?;
            batch_bytes = 0;
        }
    }
    commit(store, &mut batch, &mut report).await?;
    Ok(report)
}

async fn commit<S: Store>(
    store: &S,
    batch: &mut Vec<Incoming>,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    if !batch.is_empty() {
        store.commit_messages(batch).await?;
        report.imported += batch.len();
        batch.clear();
    }
    Ok(())
}

fn crlf_form(raw: Vec<u8>) -> Vec<u8> {
    if mbox::is_crlf_form(&raw) {
        raw
    } else {
        mbox::normalize_eml(&raw)
    }
}

fn prepared(raw: Vec<u8>, uidl: &str, now_unix: i64) -> Incoming {
    Incoming::new(IMPORTED_ACCOUNT, uidl, false, raw, now_unix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::mbox::{split, write_entry, Limits};
    use crate::MemoryStore;
    use futures::executor::block_on;

    const ADA: &[u8] = b"From: Ada Lovelace <ada@example.org>\r\nSubject: Notes\r\n\
Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n\r\nFrom the engine\r\n";
    const BOB: &[u8] = b"From: bob@example.net\nSubject: LF only\n\n>From a quote\n";

    #[test]
    fn prepare_keys_a_message_by_the_sha256_of_its_crlf_form() {
        let Incoming {
            entry,
            summary,
            raw,
            ..
        } = prepare(BOB.to_vec(), 1_700_000_000);
        assert_eq!(raw, mbox::normalize_eml(BOB));
        assert_eq!(entry.uidl, format!("sha256:{}", sha256_hex(&raw)));
        assert_eq!(entry.digest, sha256_hex(&raw));
        assert_eq!(entry.account, IMPORTED_ACCOUNT);
        assert_eq!(
            entry.message_id,
            crate::message_id(IMPORTED_ACCOUNT, &entry.uidl)
        );
        assert_eq!(entry.size, raw.len() as u64);
        assert_eq!(entry.downloaded_at, 1_700_000_000);
        assert_eq!(entry.state, crate::EntryState::Stored);
        assert_eq!(summary.id, entry.message_id);
        assert_eq!(summary.subject, "LF only");
        assert_eq!(summary.from, "bob@example.net");
        // The same message with CRLF endings is the same message.
        assert_eq!(prepare(raw.clone(), 0).entry.uidl, entry.uidl);
    }

    #[test]
    fn importing_the_same_mail_twice_stores_it_once() {
        block_on(async {
            let store = MemoryStore::new();
            let mut file = Vec::new();
            for m in [ADA, BOB, ADA, b""] {
                write_entry(&mut file, m, None, 0);
            }
            let messages = || split(&file, Limits::default()).map(Result::unwrap);

            let first = import_messages(&store, messages(), 1_700_000_000)
                .await
                .unwrap();
            assert_eq!(
                first,
                ImportReport {
                    imported: 2,
                    already_there: 1,
                    empty: 1
                }
            );
            let again = import_messages(&store, messages(), 1_700_000_001)
                .await
                .unwrap();
            assert_eq!(again.imported, 0);
            assert_eq!(again.already_there, 3);
            // An .eml of a message the mbox held, LF endings or not, is known too.
            let eml = import_messages(&store, [BOB.to_vec(), ADA.to_vec()], 0)
                .await
                .unwrap();
            assert_eq!((eml.imported, eml.already_there), (0, 2));
            assert_eq!(store.commit_count(), 2);

            let mut summaries = store.summaries().await.unwrap();
            summaries.sort_by(|a, b| a.subject.cmp(&b.subject));
            let shown: Vec<(&str, &str, &str)> = summaries
                .iter()
                .map(|s| (s.account.as_str(), s.from.as_str(), s.subject.as_str()))
                .collect();
            assert_eq!(
                shown,
                [
                    ("imported", "bob@example.net", "LF only"),
                    ("imported", "Ada Lovelace <ada@example.org>", "Notes"),
                ]
            );
            assert_eq!(summaries[1].date, Some(1_751_364_000));
            let ada = store.raw_message(&summaries[1].id).await.unwrap().unwrap();
            assert_eq!(ada, ADA);
        });
    }

    #[test]
    fn a_large_import_is_committed_in_batches() {
        block_on(async {
            let store = MemoryStore::new();
            let messages = (0..BATCH_MESSAGES * 2 + 1)
                .map(|i| format!("Subject: {i}\r\n\r\nbody\r\n").into_bytes());
            let report = import_messages(&store, messages, 0).await.unwrap();
            assert_eq!(report.imported, BATCH_MESSAGES * 2 + 1);
            assert_eq!(
                store.ledger_uidls(IMPORTED_ACCOUNT).await.unwrap().len(),
                129
            );

            // A failed commit loses only its batch; importing again stores what is missing.
            let store = MemoryStore::new();
            let messages =
                || (0..BATCH_MESSAGES + 1).map(|i| format!("Subject: {i}\r\n\r\n").into_bytes());
            store.fail_next_commit(StoreError::QuotaExceeded);
            let failed = import_messages(&store, messages(), 0).await;
            assert_eq!(failed, Err(StoreError::QuotaExceeded));
            let report = import_messages(&store, messages(), 0).await.unwrap();
            assert_eq!(report.imported + report.already_there, BATCH_MESSAGES + 1);
            assert_eq!(
                store.ledger_uidls(IMPORTED_ACCOUNT).await.unwrap().len(),
                BATCH_MESSAGES + 1
            );
        });
    }
}
