//! The download ledger: the only record of what was downloaded (DESIGN.md invariant 2).

use serde::{Deserialize, Serialize};

/// One downloaded message, keyed by (account, uidl). Written in the same store transaction as the
/// message bytes and its summary (invariant 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub account: String,
    /// The server's unique id, kept exactly as the server sent it.
    pub uidl: String,
    /// Size in octets of the message as stored.
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub digest: String,
    /// Unix seconds when the message was committed.
    pub downloaded_at: i64,
    /// Key of the stored message and of its summary.
    pub message_id: String,
    /// Only the headers were stored (the message was over the size limit).
    #[serde(default)]
    pub headers_only: bool,
    /// The user deleted the message in Postino; the entry stays so that it is not downloaded
    /// again, and so that "delete when deleted in Postino" can remove it from the server.
    #[serde(default)]
    pub deleted_locally: bool,
    /// The user chose "skip" in server triage: nothing is stored (digest empty, `size` is the
    /// server's), the message stays on the server, is never downloaded by a sync and never
    /// deleted from the server by a policy (it was never stored). Choosing "download" in triage
    /// replaces the entry.
    #[serde(default)]
    pub skipped: bool,
}

impl LedgerEntry {
    /// The entry of a message stored now (`now`, Unix seconds): whole, or its headers only.
    pub fn stored(account: &str, uidl: &str, raw: &[u8], headers_only: bool, now: i64) -> Self {
        LedgerEntry {
            account: account.to_owned(),
            uidl: uidl.to_owned(),
            size: raw.len() as u64,
            digest: crate::digest::sha256_hex(raw),
            downloaded_at: now,
            message_id: message_id(account, uidl),
            headers_only,
            deleted_locally: false,
            skipped: false,
        }
    }

    /// The entry of a message the user skipped in triage: nothing stored, no digest, `size`
    /// the server's.
    pub fn skipped(account: &str, uidl: &str, size: u64, now: i64) -> Self {
        LedgerEntry {
            account: account.to_owned(),
            uidl: uidl.to_owned(),
            size,
            digest: String::new(),
            downloaded_at: now,
            message_id: message_id(account, uidl),
            headers_only: false,
            deleted_locally: false,
            skipped: true,
        }
    }
}

/// The key of a stored message: account and UIDL, which identify it for good.
pub fn message_id(account: &str, uidl: &str) -> String {
    format!("{account}/{uidl}")
}
