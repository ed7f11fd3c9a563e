//! The download ledger: the only record of what was downloaded (DESIGN.md invariant 2).

use serde::{Deserialize, Serialize};

/// What the ledger says of a message: one state, read the same way by the planner
/// (`crate::plan`) and by triage (`crate::triage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Stored whole.
    #[default]
    Stored,
    /// Only the headers were stored (the message was over the size limit).
    HeadersOnly,
    /// The user deleted the message in Postino; the entry stays so that it is not downloaded
    /// again, and so that "delete when deleted in Postino" can remove it from the server.
    DeletedLocally,
    /// The user chose "skip" in server triage: nothing is stored (digest empty, `size` is the
    /// server's), the message stays on the server, is never downloaded by a sync and never
    /// deleted from the server by a policy (it was never stored). Choosing "download" in triage
    /// replaces the entry.
    Skipped,
}

/// One downloaded message, keyed by (account, uidl). Written in the same store transaction as the
/// message bytes and its summary (invariant 1). Made by [`LedgerEntry::stored`],
/// [`LedgerEntry::skipped`], [`LedgerEntry::deleted_locally`] or
/// [`LedgerEntry::into_deleted_locally`].
///
/// Entries written before [`EntryState`] existed hold three booleans instead (`headers_only`,
/// `deleted_locally`, `skipped`); they read as the state those meant, skipped first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredEntry")]
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
    pub state: EntryState,
}

/// A ledger entry as stored, now or by an earlier version.
#[derive(Deserialize)]
struct StoredEntry {
    account: String,
    uidl: String,
    size: u64,
    digest: String,
    downloaded_at: i64,
    message_id: String,
    #[serde(default)]
    state: Option<EntryState>,
    #[serde(default)]
    headers_only: bool,
    #[serde(default)]
    deleted_locally: bool,
    #[serde(default)]
    skipped: bool,
}

impl From<StoredEntry> for LedgerEntry {
    fn from(e: StoredEntry) -> Self {
        let state = e.state.unwrap_or(if e.skipped {
            EntryState::Skipped
        } else if e.deleted_locally {
            EntryState::DeletedLocally
        } else if e.headers_only {
            EntryState::HeadersOnly
        } else {
            EntryState::Stored
        });
        LedgerEntry {
            account: e.account,
            uidl: e.uidl,
            size: e.size,
            digest: e.digest,
            downloaded_at: e.downloaded_at,
            message_id: e.message_id,
            state,
        }
    }
}

impl LedgerEntry {
    /// The entry of a message stored now (`now`, Unix seconds): whole, or its headers only.
    pub fn stored(account: &str, uidl: &str, raw: &[u8], headers_only: bool, now: i64) -> Self {
        LedgerEntry {
            digest: crate::digest::sha256_hex(raw),
            ..LedgerEntry::stored_without_digest(account, uidl, raw.len() as u64, headers_only, now)
        }
    }

    /// [`LedgerEntry::stored`] with an empty digest, for a store that fills it
    /// ([`crate::Store::FILLS_DIGEST`]); `size` is the length of the bytes.
    pub fn stored_without_digest(
        account: &str,
        uidl: &str,
        size: u64,
        headers_only: bool,
        now: i64,
    ) -> Self {
        LedgerEntry {
            account: account.to_owned(),
            uidl: uidl.to_owned(),
            size,
            digest: String::new(),
            downloaded_at: now,
            message_id: message_id(account, uidl),
            state: if headers_only {
                EntryState::HeadersOnly
            } else {
                EntryState::Stored
            },
        }
    }

    /// The entry of a message the user skipped in triage: nothing stored, no digest, `size`
    /// the server's.
    pub fn skipped(account: &str, uidl: &str, size: u64, now: i64) -> Self {
        LedgerEntry {
            state: EntryState::Skipped,
            ..LedgerEntry::without_bytes(account, uidl, size, now)
        }
    }

    /// The entry of a stored message the user deleted that had no entry of its own (`size`
    /// from its summary), for [`crate::Store::delete_message`].
    pub fn deleted_locally(account: &str, uidl: &str, size: u64, now: i64) -> Self {
        LedgerEntry {
            state: EntryState::DeletedLocally,
            ..LedgerEntry::without_bytes(account, uidl, size, now)
        }
    }

    /// This entry once the user deleted its message in Postino, for
    /// [`crate::Store::delete_message`].
    pub fn into_deleted_locally(self) -> Self {
        LedgerEntry {
            state: EntryState::DeletedLocally,
            ..self
        }
    }

    fn without_bytes(account: &str, uidl: &str, size: u64, now: i64) -> Self {
        LedgerEntry {
            account: account.to_owned(),
            uidl: uidl.to_owned(),
            size,
            digest: String::new(),
            downloaded_at: now,
            message_id: message_id(account, uidl),
            state: EntryState::Stored,
        }
    }
}

/// The key of a stored message: account and UIDL, which identify it for good.
pub fn message_id(account: &str, uidl: &str) -> String {
    format!("{account}/{uidl}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_earlier_versions_read_as_one_state_skipped_first() {
        let old = |flags: &str| {
            let json = format!(
                r#"{{"account":"a","uidl":"u","size":1,"digest":"","downloaded_at":0,"message_id":"a/u"{flags}}}"#
            );
            serde_json::from_str::<LedgerEntry>(&json).unwrap().state
        };
        assert_eq!(old(""), EntryState::Stored);
        assert_eq!(old(r#","headers_only":true"#), EntryState::HeadersOnly);
        assert_eq!(
            old(r#","headers_only":true,"deleted_locally":true"#),
            EntryState::DeletedLocally
        );
        assert_eq!(
            old(r#","deleted_locally":true,"skipped":true"#),
            EntryState::Skipped
        );
    }

    #[test]
    fn an_entry_round_trips_with_its_state() {
        let e = LedgerEntry::skipped("a", "u", 5, 7);
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""state":"skipped""#), "{json}");
        assert_eq!(serde_json::from_str::<LedgerEntry>(&json).unwrap(), e);
    }
}
