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
use postino_pop3::{connect, Client, ConnectOptions, MaybeTls, Secret};

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
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl SyncOptions {
    pub fn new(now: i64) -> Self {
        SyncOptions {
            now,
            store_persistent: false,
            expunge_every: 50,
            want_full: HashSet::new(),
            cancel: Cancel::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    let mut opts = ConnectOptions::new(account.host.clone(), account.security);
    opts.pinned_cert = account.pinned_cert.clone();
    let mut client = connect(stream, &opts).await?;
    client.login(&account.user, password).await?;
    Ok(client)
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
    let mut budget = account.policy.max_per_session;
    // Each session but the last applies at least one deletion, so this bounds the loop even
    // against a server that ignores DELE.
    let mut sessions_left: Option<usize> = None;

    loop {
        let stream = connector.connect().await?;
        let mut client = open_session(stream, account, password).await?;
        report.sessions += 1;
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
        let uidls = client.uidl_all().await?;
        let sizes = client.list_all().await?;
        let ledger = store.ledger(&account.id).await?;
        let plan = SyncPlan::new(&PlanInput {
            uidls: &uidls,
            sizes: &sizes,
            ledger: &ledger,
            policy: &account.policy,
            now: options.now,
            store_persistent: options.store_persistent,
            want_full: &options.want_full,
            budget,
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
        let mut orphans = if ledger.is_empty() && !plan.fetch.is_empty() {
            orphans_by_message_id(store, &account.id).await?
        } else {
            HashMap::new()
        };

        let mut pending_deletes = 0usize;
        let mut chunk_full = false;
        for fetch in &plan.fetch {
            if options.cancel.is_cancelled() {
                report.cancelled = true;
                break;
            }
            if !orphans.is_empty() && !fetch.headers_only {
                let mut head = Vec::new();
                client
                    .top(fetch.number, 0, &mut |c| {
                        head.extend_from_slice(c);
                        Ok(())
                    })
                    .await?;
                let id = Summary::from_raw(&account.id, &fetch.uidl, &head).message_id_header;
                if let Some(orphan) = id.and_then(|id| orphans.remove(&id)) {
                    if let Some(raw) = store.raw_message(&orphan.id).await? {
                        commit(store, account, fetch, &raw, options.now).await?;
                        report.rebuilt += 1;
                        report.downloaded += 1;
                        report.bytes += raw.len() as u64;
                        progress(Progress::Downloading {
                            done: report.downloaded,
                            total,
                            bytes_done: report.bytes,
                            bytes_total,
                        });
                        continue;
                    }
                }
            }
            let mut raw = Vec::with_capacity(fetch.size.min(1024 * 1024) as usize);
            let mut sink = |chunk: &[u8]| {
                raw.extend_from_slice(chunk);
                Ok(())
            };
            if fetch.headers_only {
                client.top(fetch.number, 0, &mut sink).await?;
            } else {
                client.retr(fetch.number, &mut sink).await?;
            }
            // Invariant 1: the DELE below is reached only once this commit is confirmed.
            commit(store, account, fetch, &raw, options.now).await?;
            report.downloaded += 1;
            report.headers_only += usize::from(fetch.headers_only);
            report.bytes += raw.len() as u64;
            if let Some(b) = budget.as_mut() {
                *b = b.saturating_sub(1);
            }
            progress(Progress::Downloading {
                done: report.downloaded,
                total,
                bytes_done: report.bytes,
                bytes_total,
            });
            if plan.delete_after_fetch && !fetch.headers_only {
                client.dele(fetch.number).await?;
                pending_deletes += 1;
                if pending_deletes >= expunge_every {
                    chunk_full = true;
                    break;
                }
            }
        }
        if !chunk_full && !report.cancelled {
            for delete in &plan.delete {
                client.dele(delete.number).await?;
                pending_deletes += 1;
                if pending_deletes >= expunge_every {
                    chunk_full = true;
                    break;
                }
            }
        }
        progress(Progress::Finishing);
        client.quit().await?;
        report.deleted += pending_deletes;
        if !chunk_full || *remaining == 0 || report.cancelled {
            return Ok(report);
        }
    }
}

/// Store a message with its ledger entry, in one transaction.
async fn commit<St: Store>(
    store: &St,
    account: &Account,
    fetch: &Fetch,
    raw: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    let entry = LedgerEntry {
        account: account.id.clone(),
        uidl: fetch.uidl.clone(),
        size: raw.len() as u64,
        digest: sha256_hex(raw),
        downloaded_at: now,
        message_id: message_id(&account.id, &fetch.uidl),
        headers_only: fetch.headers_only,
        deleted_locally: false,
    };
    let summary = Summary::from_raw(&account.id, &fetch.uidl, raw);
    store.commit_message(&entry, &summary, raw).await
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

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
