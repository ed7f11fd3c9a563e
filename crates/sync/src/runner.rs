//! The runner: connects, plans, downloads each message into the store, deletes what the policy
//! says, QUITs.
//!
//! Invariants (DESIGN.md 1-3): a message is committed with its ledger entry in one store
//! transaction before anything else happens to it; DELE is sent only for a message whose commit
//! the store confirmed; deletions take effect at QUIT, so a session that breaks deletes nothing
//! and the next sync lists again and skips what the ledger holds. Deletions are committed in
//! chunks (QUIT and reconnect every `expunge_every` DELEs, like fetchmail's `expunge N`), so a
//! drop late in a long session loses no work.

use std::collections::{HashMap, HashSet};

use futures_io::{AsyncRead, AsyncWrite};
use postino_pop3::command::Command;
use postino_pop3::{connect, AuthMethod, Client, ConnectOptions, MaybeTls, Secret};

use crate::plan::{Fetch, PlanInput, Warning};
use crate::session::{self, Session, SessionConfig, SessionOutcome};
use crate::store::Incoming;
use crate::{Account, Store, StoreError, Summary, SyncPlan};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Pop3(#[from] postino_pop3::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transport could not be opened (the app's relay WebSocket, a TCP connect).
    #[error("could not connect: {0}")]
    Connect(ConnectError),
}

/// Why the byte stream to the server could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The name lookup or the TCP handshake failed.
    #[error("{host}:{port}: {source}")]
    Tcp {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// No connection within the deadline.
    #[error("{host}:{port}: no connection within {seconds} s")]
    TimedOut {
        host: String,
        port: u16,
        seconds: u64,
    },
    /// The relay's WebSocket did not open (the app): what the browser or the relay said.
    #[error("{0}")]
    Relay(String),
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
    /// Milliseconds from any fixed point: with a clock, a batch that has been filling for
    /// [`crate::session::BATCH_AGE_MS`] commits though not full, so that on a slow link mail
    /// is kept (and shown) within seconds of arriving. Without, batches commit only full or
    /// when nothing more is on its way.
    pub clock: Option<fn() -> f64>,
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
            clock: None,
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

/// A session already open and logged in, to carry on with: the first check's survey hands its
/// session to the download that follows the user's answer ([`sync_account_carrying`]), which
/// saves a connection, a TLS handshake and a login: several round trips on a slow link.
pub struct LoggedIn<S: AsyncRead + AsyncWrite + Unpin> {
    pub client: Client<MaybeTls<S>>,
    /// The login method that worked, and those the server refused before it.
    pub method: AuthMethod,
    pub refused: Vec<AuthMethod>,
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
    Ok(open_login(stream, account, password).await?.client)
}

/// As [`open_session`], and which login method worked, and which the server refused first.
/// The login follows [`Account::auth`], trying [`Account::auth_learned`] first.
pub async fn open_login<S>(
    stream: S,
    account: &Account,
    password: &Secret<String>,
) -> Result<LoggedIn<S>, SyncError>
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
    let method = if account.oauth.is_some() {
        // `password` is the access token.
        AuthMethod::Sasl(client.login_oauth(&account.user, password).await?)
    } else {
        client
            .login_with(&account.user, password, account.auth, account.auth_learned)
            .await?
    };
    let refused = client.refused_before_login().to_vec();
    Ok(LoggedIn {
        client,
        method,
        refused,
    })
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
    sync_account_carrying(None, connector, store, account, password, options, progress).await
}

/// As [`sync_account`], its first session `carried` when one is given (logged in to the same
/// account, nothing pipelined in flight). A carried session that no longer answers (the server
/// or the relay timed it out while it waited) is replaced by a new one: it has sent nothing
/// but the listing, so nothing is lost or done twice.
pub async fn sync_account_carrying<C, St>(
    mut carried: Option<LoggedIn<C::Stream>>,
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
        let resumed = carried.take();
        let was_carried = resumed.is_some();
        let LoggedIn {
            mut client,
            method,
            refused,
        } = match resumed {
            Some(session) => session,
            None => open_login(connector.connect().await?, account, password).await?,
        };
        progress(Progress::Listing);
        let (sizes, uidls, from_headers) = match listing(&mut client).await {
            Ok(listed) => listed,
            // Whatever the failure, a new session either works or says it again.
            Err(_) if was_carried => continue,
            Err(e) => return Err(e),
        };
        report.sessions += 1;
        // A password method to try first next time; a sign-in with a provider has nothing to
        // learn (its mechanism is chosen from CAPA each time).
        report.auth_used = account.oauth.is_none().then_some(method);
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
        let mut plan = plan;
        if ledger.is_empty() && !plan.fetch.is_empty() {
            let orphans = orphans_by_message_id(store, &account.id).await?;
            if !orphans.is_empty() {
                let fetches = std::mem::take(&mut plan.fetch);
                let (rest, rebuilt, bytes) =
                    adopt_orphans(&mut client, store, account, fetches, orphans, options.now)
                        .await?;
                plan.fetch = rest;
                report.rebuilt += rebuilt;
                report.downloaded += rebuilt;
                report.bytes += bytes;
            }
        }

        let config = SessionConfig::new(account, options, client.window(), expunge_every);
        let mut session = Session::new(plan, config);
        let (done_before, bytes_before) = (report.downloaded, report.bytes);
        let outcome = session::run(
            &mut client,
            store,
            &mut session,
            &options.cancel,
            &mut |o: &SessionOutcome| {
                progress(Progress::Downloading {
                    done: done_before + o.downloaded,
                    total,
                    bytes_done: bytes_before + o.bytes,
                    bytes_total,
                })
            },
        )
        .await?;
        report.downloaded += outcome.downloaded;
        report.headers_only += outcome.headers_only;
        report.bytes += outcome.bytes;
        report.unavailable += outcome.unavailable;
        report.cancelled |= outcome.cancelled;
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

/// What a session works from: every message's number and size (LIST) and its unique id
/// ([`message_ids`]), and whether the ids came from headers. LIST and UIDL go out together
/// where the server pipelines.
pub async fn listing<S>(
    client: &mut Client<S>,
) -> Result<(Vec<(u32, u64)>, Vec<(u32, String)>, bool), SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (sizes, uidls) = client.list_and_uidl_all().await?;
    let (ids, from_headers) = message_ids(client, &sizes, uidls).await?;
    Ok((sizes, ids, from_headers))
}

/// Each listed message's unique id: its UIDL (`uidls`, the server's answer to UIDL); or, when
/// the server has no UIDL (RFC 1939 makes it optional; `-ERR` to UIDL), a SHA-256 of its header
/// (`TOP n 0`, pipelined) without the lines mbox servers rewrite, prefixed with
/// [`HEADER_ID_PREFIX`]. Identical headers get `#2`, `#3`... in listing order. Returns the ids
/// and whether they came from headers.
///
/// A server with neither UIDL nor TOP cannot be told apart from one session to the next:
/// [`postino_pop3::Error::Unsupported`] saying so.
pub async fn message_ids<S>(
    client: &mut Client<S>,
    sizes: &[(u32, u64)],
    uidls: postino_pop3::client::UidlListing,
) -> Result<(Vec<(u32, String)>, bool), SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match uidls {
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
    crate::digest::hex(ctx.finish().as_ref())
}

/// With a lost ledger: for each message to fetch, read its headers (TOP n 0) and, if the store
/// holds a message with that Message-ID, enter it in the ledger again from the stored bytes.
/// Returns the fetches still to download, and how many were adopted with their octets.
async fn adopt_orphans<S, St>(
    client: &mut Client<S>,
    store: &St,
    account: &Account,
    fetches: Vec<Fetch>,
    mut orphans: HashMap<String, Summary>,
    now: i64,
) -> Result<(Vec<Fetch>, usize, u64), SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: Store,
{
    let mut rest = Vec::with_capacity(fetches.len());
    let (mut adopted, mut bytes) = (0, 0);
    for fetch in fetches {
        if orphans.is_empty() || fetch.headers_only {
            rest.push(fetch);
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
                bytes += raw.len() as u64;
                adopted += 1;
                let message = Incoming::new(&account.id, &fetch.uidl, false, raw, now);
                store.commit_message(&message).await?;
            }
            None => rest.push(fetch),
        }
    }
    Ok((rest, adopted, bytes))
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
