//! Server triage: what is on the server for an account (headers via `TOP n 0`, sizes), and the
//! user's choice for each message: download it, skip it, or delete it on the server.
//!
//! - [`server_listing`]: one session, UIDL and LIST, then `TOP n 0` for each message
//!   (pipelined), QUIT without any DELE. Nothing is downloaded whole and nothing is stored.
//! - [`apply_triage`]: one session. Download goes through the sync's own session machine
//!   ([`crate::session`]), pipelined and batched (each message committed with its ledger entry in one transaction, DESIGN.md
//!   invariant 1). Skip records a ledger entry marked `skipped` (no bytes): a sync never
//!   downloads it and no policy deletes it from the server. Delete sends DELE for exactly the
//!   chosen messages, their numbers resolved again by UIDL in this same session (message
//!   numbers are valid for one session only, RFC 1939), and QUIT applies it.
//!
//! Delete is the one place where a message leaves the server without being stored first:
//! the user chose it explicitly for that message (invariant 4), after seeing its headers. It
//! still takes effect at QUIT only (invariant 3): a session that breaks, a failed commit or a
//! cancel before QUIT deletes nothing. The ledger is not changed by a delete: an entry the
//! message had stays, so it is never downloaded again.

use std::collections::{HashMap, HashSet};

use futures_io::{AsyncRead, AsyncWrite};
use postino_pop3::command::Command;
use postino_pop3::{Client, Secret};
use serde::{Deserialize, Serialize};

use crate::plan::{Delete, Fetch};
use crate::runner::{open_login, LoggedIn};
use crate::session::{self, Session, SessionConfig, SessionOutcome};
use crate::{
    message_id, Account, Connector, EntryState, LedgerEntry, Progress, Store, Summary, SyncError,
    SyncOptions, SyncPlan,
};

/// Of a header block (`TOP n 0`) at most this many octets are kept; the rest streams past and
/// is dropped (DESIGN.md invariant 7: a hostile server cannot grow memory without bound).
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// After this many `-ERR` answers to `TOP` before any `+OK`, the server is taken not to
/// support TOP (whatever its CAPA said): the other messages are listed with sizes only.
const TOP_PROBES: usize = 2;

/// What Postino holds of a message that is on the server, from the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Not in the ledger: never downloaded, never skipped.
    New,
    /// Stored whole.
    Stored,
    /// Only its headers are stored (over the size limit).
    HeadersOnly,
    /// The user chose to skip it: it stays on the server and is never downloaded by a sync.
    Skipped,
    /// Stored once, then deleted in Postino: a sync does not download it again.
    DeletedLocally,
}

impl ServerState {
    fn of(entry: Option<&LedgerEntry>) -> ServerState {
        match entry.map(|e| e.state) {
            None => ServerState::New,
            Some(EntryState::Skipped) => ServerState::Skipped,
            Some(EntryState::DeletedLocally) => ServerState::DeletedLocally,
            Some(EntryState::HeadersOnly) => ServerState::HeadersOnly,
            Some(EntryState::Stored) => ServerState::Stored,
        }
    }
}

/// One message on the server, as triage shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMessage {
    /// The server's unique id, exactly as sent: what [`apply_triage`] takes.
    pub uidl: String,
    /// Size in octets, from LIST.
    pub size: u64,
    /// From the headers (`TOP n 0`), with `size` the real size from LIST. Only `id`, `account`,
    /// `uidl` and `size` are set when the server has no TOP or refused it for this message.
    pub summary: Summary,
    pub state: ServerState,
}

/// What the user chose for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Download it whole now (also a headers-only, skipped or locally deleted one).
    Download,
    /// Leave it on the server and never download it in a sync.
    Skip,
    /// Delete it on the server (at QUIT), downloaded or not.
    Delete,
}

/// What [`apply_triage`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageReport {
    /// Messages downloaded and committed with their ledger entries.
    pub downloaded: usize,
    /// Octets of those messages.
    pub bytes: u64,
    /// New ledger entries marked skipped.
    pub skipped: usize,
    /// Messages the server accepted to delete, applied by a successful QUIT.
    pub deleted: usize,
    /// Chosen but already so, nothing done: download of a message stored whole, skip of one
    /// the ledger already holds (stored, headers only, deleted locally or skipped).
    pub unchanged: Vec<String>,
    /// Chosen UIDLs the server no longer lists (deleted meanwhile, by another client).
    pub not_on_server: Vec<String>,
    /// Listed, then refused by the server when asked for (RETR `-ERR`).
    pub unavailable: usize,
    /// DELEs the server refused (the message went meanwhile).
    pub delete_refused: usize,
    /// The caller cancelled: what was stored stays; when this session did not reach QUIT,
    /// nothing was deleted.
    pub cancelled: bool,
}

/// The account's ledger entries by UIDL.
async fn ledger_by_uidl<St: Store>(
    store: &St,
    account: &str,
) -> Result<HashMap<String, LedgerEntry>, SyncError> {
    Ok(store
        .ledger(account)
        .await?
        .into_iter()
        .map(|e| (e.uidl.clone(), e))
        .collect())
}

/// A triage session: connected, logged in, and listed: (number, id) in the server's order,
/// ids made from the headers without UIDL as the runner makes them, and sizes by number.
pub(crate) type Listed<S> = (LoggedIn<S>, Vec<(u32, String)>, HashMap<u32, u64>);

pub(crate) async fn listed_session<C: Connector>(
    connector: &mut C,
    account: &Account,
    password: &Secret<String>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Listed<C::Stream>, SyncError> {
    let stream = connector.connect().await?;
    let mut session = open_login(stream, account, password).await?;
    progress(Progress::Listing);
    let (listed, uidls, _) = crate::runner::listing(&mut session.client).await?;
    Ok((session, uidls, listed.into_iter().collect()))
}

/// What is on the server for `account`, in the server's order, with each message's headers
/// (`TOP n 0`, pipelined) and size, and what the ledger says of it. One session, ended by QUIT
/// without any DELE; nothing is stored.
///
/// A server without TOP (not in CAPA, or `-ERR` to the first TOP commands) gives summaries
/// with sizes only; a TOP refused for one message leaves that one's summary empty. A header
/// block longer than [`MAX_HEADER_BYTES`] is cut at a line end within that limit.
///
/// Progress: `Listing`, then `Downloading` with `done`/`total` counting header blocks
/// (`bytes_done` the header octets read, `bytes_total` 0: not known in advance), then
/// `Finishing`.
pub async fn server_listing<C, St>(
    connector: &mut C,
    store: &St,
    account: &Account,
    password: &Secret<String>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<ServerMessage>, SyncError>
where
    C: Connector,
    St: Store,
{
    let (session, uidls, sizes) = listed_session(connector, account, password, progress).await?;
    let mut client = session.client;
    let ledger = ledger_by_uidl(store, &account.id).await?;

    let mut seen = HashSet::with_capacity(uidls.len());
    let mut numbers = Vec::with_capacity(uidls.len());
    let mut messages = Vec::with_capacity(uidls.len());
    for (number, uidl) in &uidls {
        // A UIDL listed twice (a broken server) is shown once, like the planner handles it.
        if !seen.insert(uidl.as_str()) {
            continue;
        }
        let size = sizes.get(number).copied().unwrap_or(0);
        numbers.push(*number);
        messages.push(ServerMessage {
            uidl: uidl.clone(),
            size,
            summary: empty_summary(&account.id, uidl, size),
            state: ServerState::of(ledger.get(uidl)),
        });
    }

    if client.capabilities().top && !messages.is_empty() {
        read_headers(&mut client, &account.id, &numbers, &mut messages, progress).await?;
    }
    progress(Progress::Finishing);
    client.quit().await?;
    Ok(messages)
}

/// `TOP n 0` for each message, pipelined (one at a time until the server has answered one
/// `+OK`, so that a server without TOP sees only a couple of refused commands).
pub(crate) async fn read_headers<S>(
    client: &mut Client<S>,
    account: &str,
    numbers: &[u32],
    messages: &mut [ServerMessage],
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let index: HashMap<u32, usize> = numbers.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let window = client.window().max(1);
    let total = numbers.len();
    let mut next = 0usize;
    let mut done = 0usize;
    let mut header_bytes = 0u64;
    let mut top_works = false;
    let mut refused = 0usize;
    loop {
        let room = if top_works { window } else { 1 };
        while client.in_flight() < room && next < numbers.len() {
            client.send_pipelined(Command::Top(numbers[next], 0))?;
            next += 1;
        }
        if client.in_flight() == 0 {
            return Ok(());
        }
        let mut head = HeaderBlock::default();
        let response = client
            .next_response(&mut |chunk| {
                head.push(chunk);
                Ok(())
            })
            .await?;
        let Command::Top(number, _) = response.command else {
            continue;
        };
        done += 1;
        if response.status.ok {
            top_works = true;
            header_bytes += response.body_len;
            if let Some(message) = index.get(&number).and_then(|&i| messages.get_mut(i)) {
                let mut summary = Summary::from_raw(account, &message.uidl, &head.finish());
                summary.size = message.size;
                message.summary = summary;
            }
        } else if !top_works {
            refused += 1;
            if refused >= TOP_PROBES {
                // No TOP here: the rest are listed with sizes only.
                next = numbers.len();
            }
        }
        progress(Progress::Downloading {
            done,
            total,
            bytes_done: header_bytes,
            bytes_total: 0,
        });
    }
}

/// A header block, kept up to [`MAX_HEADER_BYTES`].
#[derive(Default)]
struct HeaderBlock {
    bytes: Vec<u8>,
    cut: bool,
}

impl HeaderBlock {
    fn push(&mut self, chunk: &[u8]) {
        let room = MAX_HEADER_BYTES.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.cut = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// The kept bytes; when cut, up to the last whole line.
    fn finish(mut self) -> Vec<u8> {
        if self.cut {
            let end = self
                .bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            self.bytes.truncate(end);
        }
        self.bytes
    }
}

pub(crate) fn empty_summary(account: &str, uidl: &str, size: u64) -> Summary {
    Summary {
        id: message_id(account, uidl),
        account: account.to_owned(),
        uidl: uidl.to_owned(),
        size,
        ..Summary::default()
    }
}

/// Carry out the user's choices, in one session. `choices` may hold a UIDL more than once:
/// the last choice wins. A UIDL the server no longer lists is reported in
/// [`TriageReport::not_on_server`], not an error.
///
/// - Download: RETR (whole, whatever the size limit), each message committed with its ledger
///   entry like a sync does; this replaces a headers-only, skipped or locally deleted entry.
///   A message already stored whole is left alone.
/// - Skip: a ledger entry marked skipped ([`LedgerEntry::skipped`]), recorded with
///   [`Store::record_skip`]. A message the ledger already holds is left alone.
/// - Delete: DELE once the downloads are committed, and QUIT applies it. The ledger is not
///   changed.
///
/// The account's delete policy is not applied here (the next sync applies it); `options`
/// gives the time, the cancel flag and `max_in_flight`.
///
/// Progress: `Listing`, `Downloading` for the downloads, `Finishing` before QUIT.
pub async fn apply_triage<C, St>(
    connector: &mut C,
    store: &St,
    account: &Account,
    password: &Secret<String>,
    choices: &[(String, Choice)],
    options: &SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<TriageReport, SyncError>
where
    C: Connector,
    St: Store,
{
    let mut report = TriageReport::default();
    // The last choice for a UIDL wins; the order is that of first mention.
    let mut order: Vec<&str> = Vec::new();
    let mut chosen: HashMap<&str, Choice> = HashMap::new();
    for (uidl, choice) in choices {
        if chosen.insert(uidl.as_str(), *choice).is_none() {
            order.push(uidl.as_str());
        }
    }
    if order.is_empty() {
        return Ok(report);
    }

    let (session, uidls, sizes) = listed_session(connector, account, password, progress).await?;
    let mut client = session.client;
    // Numbers of this session, by UIDL; the first, if a broken server lists one twice.
    let mut numbers: HashMap<&str, u32> = HashMap::with_capacity(uidls.len());
    for (number, uidl) in &uidls {
        numbers.entry(uidl.as_str()).or_insert(*number);
    }
    let ledger = ledger_by_uidl(store, &account.id).await?;

    let mut plan = SyncPlan::default();
    for uidl in order {
        let Some(&number) = numbers.get(uidl) else {
            report.not_on_server.push(uidl.to_owned());
            continue;
        };
        let size = sizes.get(&number).copied().unwrap_or(0);
        let entry = ledger.get(uidl);
        match chosen[uidl] {
            Choice::Download => match entry {
                Some(e) if e.state == EntryState::Stored => {
                    report.unchanged.push(uidl.to_owned());
                }
                _ => plan.fetch.push(Fetch {
                    number,
                    uidl: uidl.to_owned(),
                    size,
                    headers_only: false,
                }),
            },
            Choice::Skip => match entry {
                Some(_) => report.unchanged.push(uidl.to_owned()),
                None => {
                    store
                        .record_skip(&LedgerEntry::skipped(&account.id, uidl, size, options.now))
                        .await?;
                    report.skipped += 1;
                }
            },
            Choice::Delete => plan.delete.push(Delete {
                number,
                uidl: uidl.to_owned(),
            }),
        }
    }

    if plan.fetch.is_empty() && plan.delete.is_empty() {
        progress(Progress::Finishing);
        client.quit().await?;
        return Ok(report);
    }

    // The sync's own session machine: pipelined, committed in batches, and the DELEs sent
    // after the fetches (taking effect at QUIT only, which a failed commit never reaches). No
    // policy deletion (`delete_after_fetch` is false) and one session (no deletion chunks).
    let (total, bytes_total) = (plan.fetch.len(), plan.total_bytes());
    let deletes = plan.delete.len();
    progress(Progress::Downloading {
        done: 0,
        total,
        bytes_done: 0,
        bytes_total,
    });
    let config = SessionConfig::new(account, options, client.window(), usize::MAX);
    let mut session = Session::new(plan, config);
    let outcome = session::run(
        &mut client,
        store,
        &mut session,
        &options.cancel,
        &mut |o: &SessionOutcome| {
            progress(Progress::Downloading {
                done: o.downloaded,
                total,
                bytes_done: o.bytes,
                bytes_total,
            })
        },
    )
    .await?;
    report.downloaded = outcome.downloaded;
    report.bytes = outcome.bytes;
    report.unavailable = outcome.unavailable;
    report.cancelled = outcome.cancelled;
    if outcome.quit {
        progress(Progress::Finishing);
        client.quit().await?;
        report.deleted = outcome.deleted;
        // DELEs not sent (cancelled first) are not refusals.
        if !report.cancelled {
            report.delete_refused = deletes - outcome.deleted.min(deletes);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_header_block_is_cut_at_a_line_end() {
        let mut head = HeaderBlock::default();
        head.push(b"Subject: hi\r\n");
        let line = [b'x'; 1000];
        for _ in 0..400 {
            head.push(b"X-Filler: ");
            head.push(&line);
            head.push(b"\r\n");
        }
        assert!(head.bytes.len() <= MAX_HEADER_BYTES);
        let kept = head.finish();
        assert!(kept.len() <= MAX_HEADER_BYTES);
        assert!(kept.ends_with(b"\r\n"));
        let s = Summary::from_raw("a", "u", &kept);
        assert_eq!(s.subject, "hi");
    }

    #[test]
    fn a_block_without_any_line_end_is_dropped_whole() {
        let mut head = HeaderBlock::default();
        head.push(&vec![b'y'; MAX_HEADER_BYTES + 10]);
        assert!(head.finish().is_empty());
    }

    #[test]
    fn state_follows_the_ledger() {
        let stored = LedgerEntry::stored("a", "u", b"x", false, 0);
        let head = LedgerEntry::stored("a", "u", b"x", true, 0);
        assert_eq!(ServerState::of(None), ServerState::New);
        let skipped = LedgerEntry::skipped("a", "u", 5, 0);
        assert_eq!(ServerState::of(Some(&skipped)), ServerState::Skipped);
        assert_eq!(ServerState::of(Some(&stored)), ServerState::Stored);
        assert_eq!(ServerState::of(Some(&head)), ServerState::HeadersOnly);
        let gone = head.into_deleted_locally();
        assert_eq!(ServerState::of(Some(&gone)), ServerState::DeletedLocally);
    }
}
