//! The first check of an account asks how much to download: a mailbox of 20,000 messages
//! flooding in at once is what users of other clients complain of most after lost mail.
//!
//! - [`survey`]: one session: UIDL and LIST (count and size of everything), then `TOP n 0` from
//!   the newest message backwards until the messages are older than the cutoff (dates from
//!   `Date:`), so a large mailbox costs a few header blocks, not one per message. QUIT, nothing
//!   stored or deleted.
//! - [`FirstCheck::left_out`]: what a [`Scope`] leaves out; [`record_left_out`] records those
//!   as skipped in the ledger ([`EntryState::Skipped`]): the check that follows never downloads
//!   them and no policy deletes them; "On the server…" lists them, downloadable one by one.
//!
//! Messages whose date cannot be read count as recent (better one message too many than a
//! message missed).

use std::collections::HashSet;

use postino_pop3::Secret;
use serde::{Deserialize, Serialize};

use crate::triage::{empty_summary, listed_session, read_headers, ServerMessage, ServerState};
use crate::{Account, Connector, LedgerEntry, LoggedIn, Progress, Store, SyncError};

/// How much of what is on the server the first check brings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Everything,
    /// Messages dated within the last `days` days.
    Recent {
        days: u32,
    },
    /// Only mail that arrives after this check.
    FromNowOn,
}

/// The days of "the last 30 days".
pub const RECENT_DAYS: u32 = 30;
/// Above this many messages, or [`SUGGEST_RECENT_BYTES`], "the last 30 days" is suggested.
pub const SUGGEST_RECENT_MESSAGES: usize = 2_000;
pub const SUGGEST_RECENT_BYTES: u64 = 1_000_000_000;
/// The backwards scan of dates stops after this many messages in a row older than the cutoff.
const OLD_RUN: usize = 50;
/// Header blocks asked for per round of the backwards scan.
const CHUNK: usize = 64;

/// One message on the server, for the choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub uidl: String,
    pub size: u64,
    /// Within the last [`FirstCheck::days`] (or no readable date).
    pub recent: bool,
}

/// What the first check would bring, by scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstCheck {
    /// Not yet in the ledger, in the server's order.
    pub messages: Vec<Listed>,
    pub days: u32,
    /// What Postino suggests (preselected).
    pub suggested: Scope,
}

impl FirstCheck {
    pub fn count(&self, scope: Scope) -> (usize, u64) {
        let kept = self.messages.iter().filter(|m| keeps(scope, m));
        kept.fold((0, 0), |(n, b), m| (n + 1, b + m.size))
    }

    /// The messages `scope` leaves out.
    pub fn left_out(&self, scope: Scope) -> Vec<&Listed> {
        self.messages.iter().filter(|m| !keeps(scope, m)).collect()
    }
}

fn keeps(scope: Scope, m: &Listed) -> bool {
    match scope {
        Scope::Everything => true,
        Scope::Recent { .. } => m.recent,
        Scope::FromNowOn => false,
    }
}

/// The suggestion for a mailbox of `count` messages and `bytes` octets.
pub fn suggest(count: usize, bytes: u64) -> Scope {
    if count > SUGGEST_RECENT_MESSAGES || bytes > SUGGEST_RECENT_BYTES {
        Scope::Recent { days: RECENT_DAYS }
    } else {
        Scope::Everything
    }
}

/// What is on the server for `account` that its ledger lacks, with which of it is dated within
/// `days` of `now`. See the module documentation.
pub async fn survey<C, St>(
    connector: &mut C,
    store: &St,
    account: &Account,
    password: &Secret<String>,
    now: i64,
    days: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<FirstCheck, SyncError>
where
    C: Connector,
    St: Store,
{
    let (found, session) =
        survey_session(connector, store, account, password, now, days, progress).await?;
    progress(Progress::Finishing);
    session.client.quit().await?;
    Ok(found)
}

/// As [`survey`], and the session still open instead of ended by QUIT, for the download that
/// follows the answer ([`crate::runner::sync_account_carrying`]). Nothing was sent in it but
/// listings and `TOP n 0`: dropping it loses nothing.
pub async fn survey_session<C, St>(
    connector: &mut C,
    store: &St,
    account: &Account,
    password: &Secret<String>,
    now: i64,
    days: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<(FirstCheck, LoggedIn<C::Stream>), SyncError>
where
    C: Connector,
    St: Store,
{
    let (mut session, uidls, sizes) =
        listed_session(connector, account, password, progress).await?;
    let client = &mut session.client;
    let known: HashSet<String> = store
        .ledger(&account.id)
        .await?
        .into_iter()
        .map(|e| e.uidl)
        .collect();
    let mut seen = HashSet::with_capacity(uidls.len());
    let mut numbers = Vec::new();
    let mut messages: Vec<ServerMessage> = Vec::new();
    for (number, uidl) in &uidls {
        if known.contains(uidl) || !seen.insert(uidl.as_str()) {
            continue;
        }
        let size = sizes.get(number).copied().unwrap_or(0);
        numbers.push(*number);
        messages.push(ServerMessage {
            uidl: uidl.clone(),
            size,
            summary: empty_summary(&account.id, uidl, size),
            state: ServerState::New,
        });
    }
    let cutoff = now - i64::from(days) * 86_400;
    // Newest (highest number) first, a chunk at a time, until a run of old ones.
    let mut recent = vec![true; messages.len()];
    if client.capabilities().top {
        let mut end = messages.len();
        let mut old_run = 0usize;
        while end > 0 && old_run < OLD_RUN {
            let start = end.saturating_sub(CHUNK);
            read_headers(
                client,
                &account.id,
                &numbers[start..end],
                &mut messages[start..end],
                progress,
            )
            .await?;
            for i in (start..end).rev() {
                let old = messages[i].summary.date.is_some_and(|d| d < cutoff);
                recent[i] = !old;
                old_run = if old { old_run + 1 } else { 0 };
            }
            end = start;
        }
        // Below where the scan stopped: older still (mail arrives in date order).
        for r in &mut recent[..end] {
            *r = false;
        }
    }
    let messages: Vec<Listed> = messages
        .into_iter()
        .zip(recent)
        .map(|(m, recent)| Listed {
            uidl: m.uidl,
            size: m.size,
            recent,
        })
        .collect();
    let (count, bytes) = messages
        .iter()
        .fold((0, 0), |(n, b), m| (n + 1, b + m.size));
    let found = FirstCheck {
        messages,
        days,
        suggested: suggest(count, bytes),
    };
    Ok((found, session))
}

/// Records what `scope` leaves out of `survey` as skipped in the ledger. Returns how many.
pub async fn record_left_out<St: Store>(
    store: &St,
    account_id: &str,
    survey: &FirstCheck,
    scope: Scope,
    now: i64,
) -> Result<usize, SyncError> {
    let left_out: Vec<(&str, u64)> = survey
        .left_out(scope)
        .into_iter()
        .map(|m| (m.uidl.as_str(), m.size))
        .collect();
    record_skipped(store, account_id, &left_out, now).await
}

/// Records each `(uidl, size)` of `messages` as skipped in the ledger: what the answer to the
/// first check's question leaves on the server ([`FirstCheck::left_out`]). Returns how many.
pub async fn record_skipped<St: Store, U: AsRef<str>>(
    store: &St,
    account_id: &str,
    messages: &[(U, u64)],
    now: i64,
) -> Result<usize, SyncError> {
    for (uidl, size) in messages {
        store
            .record_skip(&LedgerEntry::skipped(account_id, uidl.as_ref(), *size, now))
            .await?;
    }
    Ok(messages.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(uidl: &str, size: u64, recent: bool) -> Listed {
        Listed {
            uidl: uidl.into(),
            size,
            recent,
        }
    }

    #[test]
    fn scopes_count_and_leave_out() {
        let survey = FirstCheck {
            messages: vec![
                listed("a", 10, false),
                listed("b", 20, true),
                listed("c", 30, true),
            ],
            days: 30,
            suggested: Scope::Everything,
        };
        assert_eq!(survey.count(Scope::Everything), (3, 60));
        assert_eq!(survey.count(Scope::Recent { days: 30 }), (2, 50));
        assert_eq!(survey.count(Scope::FromNowOn), (0, 0));
        let out: Vec<&str> = survey
            .left_out(Scope::Recent { days: 30 })
            .iter()
            .map(|m| m.uidl.as_str())
            .collect();
        assert_eq!(out, ["a"]);
        assert_eq!(survey.left_out(Scope::FromNowOn).len(), 3);
        assert!(survey.left_out(Scope::Everything).is_empty());
    }

    #[test]
    fn large_mailboxes_suggest_the_last_30_days() {
        assert_eq!(suggest(2_000, 10), Scope::Everything);
        assert_eq!(suggest(2_001, 10), Scope::Recent { days: 30 });
        assert_eq!(suggest(5, 1_000_000_001), Scope::Recent { days: 30 });
    }
}
