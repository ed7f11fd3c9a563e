//! The runner: connects, plans, downloads each message into the store, deletes what the policy
//! says, QUITs.
//!
//! Invariants (DESIGN.md 1-3): a message is committed with its ledger entry in one store
//! transaction before anything else happens to it; DELE is sent only for a message whose commit
//! the store confirmed; deletions take effect at QUIT, so a session that breaks deletes nothing
//! and the next sync lists again and skips what the ledger holds. Deletions are committed in
//! chunks (QUIT and reconnect every `expunge_every` DELEs, like fetchmail's `expunge N`), so a
//! drop late in a long session loses no work.

use std::collections::{HashMap, HashSet, VecDeque};

use futures_io::{AsyncRead, AsyncWrite};
use postino_pop3::command::Command;
use postino_pop3::{connect, AuthMethod, Client, ConnectOptions, MaybeTls, Secret};

use crate::plan::{Fetch, PlanInput, Warning};
use crate::{message_id, Account, LedgerEntry, Store, StoreError, Summary, SyncPlan};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Pop3(#[from] postino_pop3::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transport could not be opened (the app's relay WebSocket, a TCP connect).
    #[error("could not connect: {0}")]
    Connect(String),
}

/// What the user can do about a failed sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// Nothing is wrong with the settings: the network, or the server asked to wait.
    TryLater,
    /// The server refused the user name or password.
    FixCredentials,
    /// The server, port, security or certificate setting is wrong.
    FixSettings,
    /// The store is full; the sync stopped before any DELE.
    FreeStorage,
}

impl SyncError {
    pub fn advice(&self) -> Advice {
        use postino_pop3::Error as P;
        match self {
            SyncError::Store(StoreError::QuotaExceeded) => Advice::FreeStorage,
            SyncError::Store(_) => Advice::TryLater,
            SyncError::Connect(_) => Advice::FixSettings,
            SyncError::Pop3(e) if e.is_temporary() => Advice::TryLater,
            SyncError::Pop3(P::LoginFailed { .. }) => Advice::FixCredentials,
            SyncError::Pop3(P::Server { .. }) => Advice::TryLater,
            SyncError::Pop3(_) => Advice::FixSettings,
        }
    }
}

/// Lets the caller stop a sync between two messages. What was stored stays stored, and the
/// session still ends with QUIT, so deletions of stored messages take effect.
#[derive(Clone, Debug, Default)]
pub struct Cancel(std::rc::Rc<std::cell::Cell<bool>>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.set(true);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.get()
    }
}

/// Opens a fresh byte stream to the account's server, once per session.
#[allow(async_fn_in_trait)]
pub trait Connector {
    type Stream: AsyncRead + AsyncWrite + Unpin;
    async fn connect(&mut self) -> Result<Self::Stream, SyncError>;
}

/// Where a sync stands, for the progress bar.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Progress {
    /// Logged in; asking the server what it holds.
    Listing,
    /// `done` of `total` messages, `bytes_done` of `bytes_total` octets.
    Downloading {
        done: usize,
        total: usize,
        bytes_done: u64,
        bytes_total: u64,
    },
    /// Saying QUIT, which applies deletions.
    Finishing,
}

/// What the caller decides for this sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Unix seconds.
    pub now: i64,
    /// Whether the store is safe from eviction; "delete right after download" needs it.
    pub store_persistent: bool,
    /// QUIT (applying deletions) and reconnect after this many DELEs.
    pub expunge_every: usize,
    /// Headers-only messages to download whole this time.
    pub want_full: HashSet<String>,
    pub cancel: Cancel,
    /// At most this many commands in flight, below what the server allows (1: one at a time,
    /// for a server whose PIPELINING is broken, and for measuring what pipelining brings).
    pub max_in_flight: Option<usize>,
}

impl SyncOptions {
    pub fn new(now: i64) -> Self {
        SyncOptions {
            now,
            store_persistent: false,
            expunge_every: 50,
            want_full: HashSet::new(),
            cancel: Cancel::default(),
            max_in_flight: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncReport {
    pub downloaded: usize,
    /// Of `downloaded`, how many were stored headers only.
    pub headers_only: usize,
    pub already_stored: usize,
    /// New messages left for later by the per-session maximum.
    pub deferred: usize,
    /// Messages the server confirmed deleted (at QUIT).
    pub deleted: usize,
    pub bytes: u64,
    pub sessions: usize,
    pub warnings: Vec<Warning>,
    /// The server's `EXPIRE` capability: `Some(Some(0))` means it may remove mail once
    /// retrieved, whatever Postino's policy says.
    pub expire: Option<Option<u64>>,
    /// The server's `LOGIN-DELAY`, seconds: do not check again sooner.
    pub login_delay: Option<u64>,
    /// Messages recognised in the store by their headers (TOP n 0) after the ledger was lost,
    /// and entered in the ledger again without downloading their bodies.
    pub rebuilt: usize,
    /// The caller cancelled; what was stored stays.
    pub cancelled: bool,
    /// Listed, then refused by the server when asked for (deleted meanwhile by another client).
    pub unavailable: usize,
    /// The login method that worked. Store it as [`Account::auth_learned`] so that the next
    /// login tries it first.
    pub auth_used: Option<AuthMethod>,
    /// Methods the server refused before `auth_used` worked (say, SCRAM-SHA-256 listed but not
    /// checkable by its password backend): worth telling the user, who may choose `auth_used`.
    pub auth_refused: Vec<AuthMethod>,
    /// The server has no UIDL: messages were told apart by a digest of their headers
    /// (`TOP n 0`) instead. See [`message_ids`].
    pub ids_from_headers: bool,
}

/// Connect over `stream` as the account says (TLS, STLS or plain), and log in.
pub async fn open_session<S>(
    stream: S,
    account: &Account,
    password: &Secret<String>,
) -> Result<Client<MaybeTls<S>>, SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Ok(open_login(stream, account, password).await?.0)
}

/// As [`open_session`], and which login method worked, and which the server refused first.
/// The login follows [`Account::auth`], trying [`Account::auth_learned`] first.
pub async fn open_login<S>(
    stream: S,
    account: &Account,
    password: &Secret<String>,
) -> Result<(Client<MaybeTls<S>>, AuthMethod, Vec<AuthMethod>), SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Port 995 is POP3 over TLS (RFC 8314): without TLS its server waits for a handshake that
    // never comes. A settings mistake, said at once instead of after a timeout.
    if account.port == 995 && account.security != postino_pop3::Security::Tls {
        return Err(
            postino_pop3::Error::SecurityMismatch(postino_pop3::error::TLS_ONLY_PORT).into(),
        );
    }
    let mut opts = ConnectOptions::new(account.host.clone(), account.security);
    opts.pinned_cert = account.pinned_cert.clone();
    let mut client = connect(stream, &opts).await?;
    let method = client
        .login_with(&account.user, password, account.auth, account.auth_learned)
        .await?;
    let refused = client.refused_before_login().to_vec();
    Ok((client, method, refused))
}

/// Download what the ledger lacks, delete what the policy says, in as many sessions as the
/// deletion chunks need.
pub async fn sync_account<C, St>(
    connector: &mut C,
    store: &St,
    account: &Account,
    password: &Secret<String>,
    options: &SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError>
where
    C: Connector,
    St: Store,
{
    let mut report = SyncReport::default();
    let mut totals: Option<(usize, u64)> = None;
    // Each session but the last applies at least one deletion, so this bounds the loop even
    // against a server that ignores DELE.
    let mut sessions_left: Option<usize> = None;

    loop {
        let stream = connector.connect().await?;
        let (mut client, method, refused) = open_login(stream, account, password).await?;
        report.sessions += 1;
        report.auth_used = Some(method);
        if report.auth_refused.is_empty() {
            report.auth_refused = refused;
        }
        let caps = client.capabilities().clone();
        report.expire = caps.expire;
        report.login_delay = caps.login_delay;
        // A server with LOGIN-DELAY refuses a quick reconnect: one session only.
        let expunge_every = if caps.login_delay.unwrap_or(0) > 0 {
            usize::MAX
        } else {
            options.expunge_every.max(1)
        };

        progress(Progress::Listing);
        let sizes = client.list_all().await?;
        let (uidls, from_headers) = message_ids(&mut client, &sizes).await?;
        report.ids_from_headers |= from_headers;
        let ledger = store.ledger(&account.id).await?;
        // A server that gave UIDLs before and none now would have every stored message named
        // anew, and downloaded again: stop instead, nothing changed.
        if from_headers && ledger.iter().any(|e| !e.uidl.starts_with(HEADER_ID_PREFIX)) {
            return Err(SyncError::Pop3(postino_pop3::Error::Server {
                code: None,
                text: "the server refused UIDL this time, though it gave message ids before; \
                       nothing was downloaded or deleted, try again later"
                    .into(),
            }));
        }
        let plan = SyncPlan::new(&PlanInput {
            uidls: &uidls,
            sizes: &sizes,
            ledger: &ledger,
            policy: &account.policy,
            now: options.now,
            store_persistent: options.store_persistent,
            want_full: &options.want_full,
            // What earlier sessions of this sync downloaded counts against the maximum.
            budget: account
                .policy
                .max_per_session
                .map(|m| m.saturating_sub(report.downloaded)),
        });
        let (total, bytes_total) = *totals.get_or_insert_with(|| {
            report.already_stored = plan.already_stored;
            report.deferred = plan.deferred;
            report.warnings = plan.warnings.clone();
            (plan.fetch.len(), plan.total_bytes())
        });
        let remaining = sessions_left.get_or_insert(
            2 + (plan.fetch.len() + plan.delete.len()) / expunge_every.min(usize::MAX / 2),
        );
        *remaining = remaining.saturating_sub(1);
        progress(Progress::Downloading {
            done: report.downloaded,
            total,
            bytes_done: report.bytes,
            bytes_total,
        });

        // A lost ledger: stored messages are recognised by their headers, not downloaded again.
        let mut to_fetch: Vec<&Fetch> = plan.fetch.iter().collect();
        if ledger.is_empty() && !plan.fetch.is_empty() {
            let orphans = orphans_by_message_id(store, &account.id).await?;
            if !orphans.is_empty() {
                to_fetch =
                    adopt_orphans(&mut client, store, account, &plan.fetch, orphans, options)
                        .await?
                        .into_iter()
                        .filter_map(|(fetch, adopted)| match adopted {
                            Some(size) => {
                                report.rebuilt += 1;
                                report.downloaded += 1;
                                report.bytes += size;
                                None
                            }
                            None => Some(fetch),
                        })
                        .collect();
            }
        }

        let outcome = download(
            &mut client,
            store,
            account,
            &to_fetch,
            &plan,
            options,
            expunge_every,
            &mut report,
            &mut |report: &SyncReport| {
                progress(Progress::Downloading {
                    done: report.downloaded,
                    total,
                    bytes_done: report.bytes,
                    bytes_total,
                })
            },
        )
        .await?;
        if !outcome.quit {
            return Ok(report);
        }
        progress(Progress::Finishing);
        client.quit().await?;
        report.deleted += outcome.deleted;
        if !outcome.more || *remaining == 0 || report.cancelled {
            return Ok(report);
        }
    }
}

/// Prefix of the ids [`message_ids`] makes from headers when the server has no UIDL.
pub const HEADER_ID_PREFIX: &str = "postino-headers-sha256:";

/// Header lines that mbox-based servers (qpopper, UW ipop3d) add or change once a message was
/// read: left out of the header digest, so that a message keeps its id after download.
const VOLATILE_HEADERS: [&str; 6] = [
    "status:",
    "x-status:",
    "x-uid:",
    "x-keywords:",
    "x-imap",
    "content-length:",
];

/// Each listed message's unique id: its UIDL; or, when the server has no UIDL (RFC 1939 makes
/// it optional; `-ERR` to UIDL), a SHA-256 of its header (`TOP n 0`, pipelined) without the
/// lines mbox servers rewrite, prefixed with [`HEADER_ID_PREFIX`]. Identical headers get `#2`,
/// `#3`... in listing order. Returns the ids and whether they came from headers.
///
/// A server with neither UIDL nor TOP cannot be told apart from one session to the next:
/// [`postino_pop3::Error::Unsupported`] saying so.
pub async fn message_ids<S>(
    client: &mut Client<S>,
    sizes: &[(u32, u64)],
) -> Result<(Vec<(u32, String)>, bool), SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match client.uidl_all().await {
        Ok(uidls) => return Ok((uidls, false)),
        Err(postino_pop3::Error::Unsupported(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let neither = postino_pop3::Error::Unsupported(
        "UIDL (unique message ids) nor TOP (headers), so Postino cannot tell which messages it \
         already downloaded; ask the provider to enable UIDL",
    );
    let mut numbers = sizes.iter().map(|(n, _)| *n);
    let mut out = Vec::with_capacity(sizes.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    let window = client.window();
    loop {
        while client.in_flight() < window {
            match numbers.next() {
                Some(n) => client.send_pipelined(Command::Top(n, 0))?,
                None => break,
            }
        }
        if client.in_flight() == 0 {
            return Ok((out, true));
        }
        let mut head = Vec::new();
        let response = client
            .next_response(&mut |chunk| {
                let room = crate::triage::MAX_HEADER_BYTES.saturating_sub(head.len());
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                Ok(())
            })
            .await?;
        let Command::Top(number, _) = response.command else {
            continue;
        };
        if !response.status.ok {
            return Err(neither.into());
        }
        // The size too: two messages with the same headers and different bodies never share
        // a name, so the deletion of one cannot hand its name (and its ledger entry) to the
        // other. Twins that agree in both are told apart by position only: see `is_twin`.
        let size = sizes
            .iter()
            .find(|(n, _)| *n == number)
            .map_or(0, |(_, s)| *s);
        let digest = format!("{}-{size}", header_digest(&head));
        let count = seen.entry(digest.clone()).or_insert(0);
        *count += 1;
        let id = match *count {
            1 => format!("{HEADER_ID_PREFIX}{digest}"),
            k => format!("{HEADER_ID_PREFIX}{digest}#{k}"),
        };
        out.push((number, id));
    }
}

/// SHA-256 (hex) of a header block, line endings normalised, volatile lines left out.
fn header_digest(head: &[u8]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let volatile = VOLATILE_HEADERS
            .iter()
            .any(|h| line.len() >= h.len() && line[..h.len()].eq_ignore_ascii_case(h.as_bytes()));
        if !volatile {
            ctx.update(line);
            ctx.update(b"\n");
        }
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How one session's download ended.
pub(crate) struct SessionOutcome {
    /// DELEs the server accepted; they take effect at QUIT.
    pub(crate) deleted: usize,
    /// The deletion chunk is full and work remains: QUIT and connect again.
    pub(crate) more: bool,
    /// End with QUIT (false when cancelled with responses still in flight).
    pub(crate) quit: bool,
}

/// Download `to_fetch` and delete what the plan says, pipelined: up to `client.window()`
/// commands in flight (1 without PIPELINING). Each message is committed as its response is
/// read, and only then is its DELE queued (invariant 1). Also used by server triage
/// (`crate::triage`) for the messages the user chose to download or delete.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn download<S, St>(
    client: &mut Client<S>,
    store: &St,
    account: &Account,
    to_fetch: &[&Fetch],
    plan: &SyncPlan,
    options: &SyncOptions,
    expunge_every: usize,
    report: &mut SyncReport,
    on_progress: &mut dyn FnMut(&SyncReport),
) -> Result<SessionOutcome, SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: Store,
{
    let mut fetches = to_fetch.iter().copied().peekable();
    let mut deletes = plan.delete.iter().peekable();
    let mut dele_queue: VecDeque<u32> = VecDeque::new();
    let mut fetching: HashMap<u32, &Fetch> = HashMap::new();
    let mut deles_sent = 0usize;
    let mut deleted = 0usize;
    let mut more = false;
    let mut stop_new = false;
    // Messages read and not yet committed.
    let mut batch: Vec<(&Fetch, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0usize;
    let window = client
        .window()
        .min(options.max_in_flight.unwrap_or(usize::MAX))
        .max(1);
    loop {
        while client.in_flight() < window {
            if let Some(number) = dele_queue.pop_front() {
                client.send_pipelined(Command::Dele(number))?;
                deles_sent += 1;
                continue;
            }
            if stop_new {
                break;
            }
            if options.cancel.is_cancelled() {
                report.cancelled = true;
                stop_new = true;
                break;
            }
            let work_left = fetches.peek().is_some() || deletes.peek().is_some();
            if deles_sent >= expunge_every && work_left {
                more = true;
                stop_new = true;
                break;
            }
            // With deletion after download, no more fetches in flight than the chunk can
            // still delete, so that the chunk's QUIT comes after them.
            let chunk_room = !plan.delete_after_fetch
                || deles_sent + dele_queue.len() + fetching.len() + batch.len() < expunge_every;
            if !chunk_room && fetches.peek().is_some() {
                break;
            }
            if let Some(fetch) = fetches.next() {
                client.send_pipelined(if fetch.headers_only {
                    Command::Top(fetch.number, 0)
                } else {
                    Command::Retr(fetch.number)
                })?;
                fetching.insert(fetch.number, fetch);
            } else if let Some(delete) = deletes.next() {
                client.send_pipelined(Command::Dele(delete.number))?;
                deles_sent += 1;
            } else {
                break;
            }
        }
        if client.in_flight() == 0 {
            return Ok(SessionOutcome {
                deleted,
                more,
                quit: true,
            });
        }
        let mut raw = Vec::new();
        let response = client
            .next_response(&mut |chunk| {
                raw.extend_from_slice(chunk);
                Ok(())
            })
            .await?;
        match response.command {
            Command::Retr(number) | Command::Top(number, _) => {
                let Some(fetch) = fetching.remove(&number) else {
                    continue;
                };
                if !response.status.ok {
                    // Gone meanwhile (another client deleted it): the next sync lists again.
                    report.unavailable += 1;
                } else {
                    batch_bytes += raw.len();
                    batch.push((fetch, raw));
                }
            }
            Command::Dele(_) => deleted += usize::from(response.status.ok),
            _ => {}
        }
        // Commit when the batch is big enough, or when nothing else is on its way (waiting
        // would only delay the commit). DELEs are queued only after the commit.
        if !batch.is_empty()
            && (batch.len() >= BATCH_MESSAGES
                || batch_bytes >= BATCH_BYTES
                || client.in_flight() == 0)
        {
            let committed = commit_batch(store, account, &mut batch, options.now).await?;
            for (fetch, size) in committed {
                report.downloaded += 1;
                report.headers_only += usize::from(fetch.headers_only);
                report.bytes += size;
                if plan.delete_after_fetch && !fetch.headers_only {
                    dele_queue.push_back(fetch.number);
                }
            }
            batch_bytes = 0;
            on_progress(report);
            if options.cancel.is_cancelled() {
                // Stop now: responses still in flight are dropped with the connection. No QUIT,
                // so this session deletes nothing; stored is stored.
                report.cancelled = true;
                return Ok(SessionOutcome {
                    deleted: 0,
                    more: false,
                    quit: false,
                });
            }
        }
    }
}

/// A store transaction holds at most this many messages...
pub(crate) const BATCH_MESSAGES: usize = 64;
/// ...or this many bytes, past which it is committed.
pub(crate) const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Store the batch's messages, each with its ledger entry, in one transaction; returns what
/// was committed with its size, and leaves the batch empty.
async fn commit_batch<'f, St: Store>(
    store: &St,
    account: &Account,
    batch: &mut Vec<(&'f Fetch, Vec<u8>)>,
    now: i64,
) -> Result<Vec<(&'f Fetch, u64)>, StoreError> {
    let fetched: Vec<(&Fetch, u64)> = batch
        .iter()
        .map(|(f, raw)| (*f, raw.len() as u64))
        .collect();
    let records: Vec<(LedgerEntry, Summary, Vec<u8>)> = batch
        .drain(..)
        .map(|(fetch, raw)| {
            let (entry, summary) = record(&account.id, &fetch.uidl, fetch.headers_only, &raw, now);
            (entry, summary, raw)
        })
        .collect();
    store.commit_messages(&records).await?;
    Ok(fetched)
}

/// With a lost ledger: for each message to fetch, read its headers (TOP n 0) and, if the store
/// holds a message with that Message-ID, enter it in the ledger again from the stored bytes.
/// Returns each fetch with the adopted size, or `None` when it must be downloaded.
async fn adopt_orphans<'p, S, St>(
    client: &mut Client<S>,
    store: &St,
    account: &Account,
    fetches: &'p [Fetch],
    mut orphans: HashMap<String, Summary>,
    options: &SyncOptions,
) -> Result<Vec<(&'p Fetch, Option<u64>)>, SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: Store,
{
    let mut out = Vec::with_capacity(fetches.len());
    for fetch in fetches {
        if orphans.is_empty() || fetch.headers_only {
            out.push((fetch, None));
            continue;
        }
        let mut head = Vec::new();
        client
            .top(fetch.number, 0, &mut |c| {
                head.extend_from_slice(c);
                Ok(())
            })
            .await?;
        let id = Summary::from_raw(&account.id, &fetch.uidl, &head).message_id_header;
        let orphan = id.and_then(|id| orphans.remove(&id));
        let raw = match orphan {
            Some(o) => store.raw_message(&o.id).await?,
            None => None,
        };
        match raw {
            Some(raw) => {
                commit(store, account, fetch, &raw, options.now).await?;
                out.push((fetch, Some(raw.len() as u64)));
            }
            None => out.push((fetch, None)),
        }
    }
    Ok(out)
}

/// Store a message with its ledger entry, in one transaction.
async fn commit<St: Store>(
    store: &St,
    account: &Account,
    fetch: &Fetch,
    raw: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    let (entry, summary) = record(&account.id, &fetch.uidl, fetch.headers_only, raw, now);
    store.commit_message(&entry, &summary, raw).await
}

/// The ledger entry and the summary of a message about to be stored: read from the server, or
/// imported from a file (`crate::import`).
pub(crate) fn record(
    account: &str,
    uidl: &str,
    headers_only: bool,
    raw: &[u8],
    now: i64,
) -> (LedgerEntry, Summary) {
    let entry = LedgerEntry {
        account: account.to_owned(),
        uidl: uidl.to_owned(),
        size: raw.len() as u64,
        digest: sha256_hex(raw),
        downloaded_at: now,
        message_id: message_id(account, uidl),
        headers_only,
        deleted_locally: false,
        skipped: false,
    };
    let summary = Summary::from_raw(account, uidl, raw);
    (entry, summary)
}

/// Stored messages of the account, by Message-ID: with an empty ledger, all of them are orphans.
async fn orphans_by_message_id<St: Store>(
    store: &St,
    account: &str,
) -> Result<HashMap<String, Summary>, StoreError> {
    Ok(store
        .summaries()
        .await?
        .into_iter()
        .filter(|s| s.account == account)
        .filter_map(|s| s.message_id_header.clone().map(|id| (id, s)))
        .collect())
}

/// SHA-256, lowercase hex: the ledger's digest, and the UIDL of imported mail.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
