//! Deterministic fault tests, no Dovecot: the sync runs over an in-memory pipe against
//! `postino_pop3::server`, whose mailbox loses what a QUIT deleted, with faults drawn from a
//! seed: the connection cut at byte N, `-ERR` to RETR, DELE refused, a server that ignores
//! DELE, every UIDL listed twice, LOGIN-DELAY, a store commit that fails; policies, deletion
//! chunks and pipelining drawn too. After the faulty sync, clean syncs run until one succeeds.
//!
//! Checked for every seed (DESIGN.md invariants 1-3): a message the server deleted was stored
//! before its QUIT; at the end every message is stored once, byte for byte, and the server
//! holds what the policy leaves there.
//!
//! `POSTINO_FAULT_SEEDS` sets how many seeds run (default 2,000); `POSTINO_FAULT_SEED` runs one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use postino_pop3::server::{serve_session, Behaviour, Faults, Mailbox, MailboxMessage};
use postino_pop3::Secret;
use postino_sync::{
    sync_account, Account, Connector, DeletePolicy, Incoming, LedgerEntry, MemoryStore, Policy,
    Security, Store, StoreError, Summary, SyncError, SyncOptions,
};
use tokio::task::{JoinHandle, LocalSet};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// xorshift64*: reproducible draws without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The server's mailbox as it stands between sessions: what a QUIT deleted is gone.
type Maildrop = Rc<RefCell<Vec<MailboxMessage>>>;

/// The memory store, with commits that take `yields` turns of the executor: the driver reads
/// on meanwhile, so the overlap of reading and committing is exercised.
struct SlowStore {
    inner: Rc<MemoryStore>,
    yields: u64,
}

impl Store for SlowStore {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.inner.accounts().await
    }
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.inner.put_account(account).await
    }
    async fn ledger(&self, account: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        self.inner.ledger(account).await
    }
    async fn commit_message(&self, message: &Incoming) -> Result<(), StoreError> {
        self.inner.commit_message(message).await
    }
    async fn commit_messages(&self, batch: &[Incoming]) -> Result<(), StoreError> {
        for _ in 0..self.yields {
            tokio::task::yield_now().await;
        }
        self.inner.commit_messages(batch).await
    }
    async fn summaries(&self) -> Result<Vec<Summary>, StoreError> {
        self.inner.summaries().await
    }
    async fn raw_message(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.raw_message(id).await
    }
    async fn delete_message(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        self.inner.delete_message(entry).await
    }
}

/// The server's side of the pipe, watching what the client sends: a `DELE n` for a message
/// the store has not committed breaks invariant 1, whatever happens after.
struct Watch<S> {
    inner: S,
    line: Vec<u8>,
    uidls: Vec<String>,
    store: Rc<MemoryStore>,
    violations: Rc<RefCell<Vec<String>>>,
}

impl<S: futures_io::AsyncRead + Unpin> futures_io::AsyncRead for Watch<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        for &b in &buf[..n] {
            this.line.push(b);
            if b != b'\n' {
                continue;
            }
            let line = String::from_utf8_lossy(&this.line).trim_end().to_owned();
            this.line.clear();
            let Some(number) = line
                .strip_prefix("DELE ")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let Some(uidl) = number.checked_sub(1).and_then(|i| this.uidls.get(i)) else {
                continue;
            };
            if this.store.ledger_entry("faults", uidl).is_none() {
                this.violations
                    .borrow_mut()
                    .push(format!("DELE {number} ({uidl}) before its commit"));
            }
        }
        Poll::Ready(Ok(n))
    }
}

impl<S: futures_io::AsyncWrite + Unpin> futures_io::AsyncWrite for Watch<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Connects to a fresh server session over an in-memory pipe. The first connection of the
/// faulty phase gets the faults, later ones the server's quirks only.
struct Pipe {
    maildrop: Maildrop,
    quirks: Behaviour,
    faults: Option<Faults>,
    server: Option<JoinHandle<()>>,
    store: Rc<MemoryStore>,
    violations: Rc<RefCell<Vec<String>>>,
}

impl Pipe {
    /// Wait until the last session ended and applied its deletions.
    async fn settle(&mut self) {
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }
}

impl Connector for Pipe {
    type Stream = Compat<tokio::io::DuplexStream>;

    async fn connect(&mut self) -> Result<Self::Stream, SyncError> {
        self.settle().await;
        let (client, server) = tokio::io::duplex(4096);
        let behaviour = Behaviour {
            faults: self
                .faults
                .take()
                .unwrap_or_else(|| self.quirks.faults.clone()),
            ..self.quirks.clone()
        };
        let maildrop = self.maildrop.clone();
        let mailbox = Mailbox {
            user: "user".into(),
            password: Secret::new("pw".into()),
            messages: maildrop.borrow().clone(),
        };
        let watched = Watch {
            inner: server.compat(),
            line: Vec::new(),
            uidls: mailbox.messages.iter().map(|m| m.uidl.clone()).collect(),
            store: self.store.clone(),
            violations: self.violations.clone(),
        };
        self.server = Some(tokio::task::spawn_local(async move {
            let deleted = serve_session(watched, &mailbox, behaviour)
                .await
                .unwrap_or_default();
            maildrop.borrow_mut().retain(|m| !deleted.contains(&m.uidl));
        }));
        Ok(client.compat())
    }
}

/// A message with the shapes that matter on the wire: dot lines, a missing final CRLF.
fn message(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mut raw = format!("Subject: message {i}\r\nMessage-ID: <{i}@faults>\r\n\r\n").into_bytes();
    for line in 0..rng.below(6) {
        match rng.below(4) {
            0 => raw.extend_from_slice(b".\r\n"),
            1 => raw.extend_from_slice(b"..dots\r\n"),
            _ => raw.extend_from_slice(format!("line {line} of {i}\r\n").as_bytes()),
        }
    }
    if rng.chance(20) {
        raw.extend_from_slice(b"no final line end");
    }
    raw
}

fn account(policy: Policy) -> Account {
    Account {
        host: "localhost".into(),
        port: 110,
        security: Security::None,
        user: "user".into(),
        policy,
        ..postino_sync::conformance::sample_account("faults")
    }
}

/// The stored messages of the account, by UIDL.
async fn stored(store: &MemoryStore) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in store.ledger("faults").await.unwrap() {
        let raw = store.raw_message(&entry.message_id).await.unwrap();
        out.insert(entry.uidl, raw.expect("a ledger entry without its message"));
    }
    out
}

/// One seed: a mailbox, a faulty sync, clean syncs, and the invariants. Returns what went
/// wrong, with the seed, instead of panicking, so that the caller can name the seed.
async fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let count = rng.below(9) as usize;
    let original: Vec<MailboxMessage> = (0..count)
        .map(|i| MailboxMessage {
            uidl: format!("uid-{i}"),
            raw: message(&mut rng, i),
        })
        .collect();
    // What the client receives: the server ends the last line with CRLF (RFC 1939 section 3).
    let received: Vec<MailboxMessage> = original
        .iter()
        .map(|m| {
            let mut raw = m.raw.clone();
            if !raw.ends_with(b"\r\n") {
                raw.extend_from_slice(b"\r\n");
            }
            MailboxMessage { raw, ..m.clone() }
        })
        .collect();
    let uidl = |rng: &mut Rng| format!("uid-{}", rng.below(count.max(1) as u64));

    let policy = Policy {
        delete: match rng.below(3) {
            0 => DeletePolicy::LeaveOnServer,
            1 => DeletePolicy::AfterDownload,
            _ => DeletePolicy::AfterDays(0),
        },
        ..Policy::default()
    };
    let quirks = Behaviour {
        login_delay: rng.chance(15).then_some(900),
        faults: Faults {
            uidl_twice: rng.chance(15),
            ignore_dele: rng.chance(10),
            ..Faults::default()
        },
        ..Behaviour::default()
    };
    let mut faults = quirks.faults.clone();
    if rng.chance(60) {
        // Up to a little past a whole session's bytes.
        let session: u64 = original
            .iter()
            .map(|m| m.raw.len() as u64 + 40)
            .sum::<u64>()
            + 400;
        faults.cut_after = Some(rng.below(session));
    }
    if rng.chance(30) {
        faults.refuse_retr.push(uidl(&mut rng));
    }
    if rng.chance(30) {
        faults.refuse_dele.push(uidl(&mut rng));
    }

    let mut options = SyncOptions::new(1_700_000_000);
    options.store_persistent = true;
    options.expunge_every = 1 + rng.below(4) as usize;
    options.max_in_flight = rng.chance(30).then_some(1);
    let store = Rc::new(MemoryStore::default());
    let fail_commit = rng.chance(20);
    if fail_commit {
        store.fail_next_commit(StoreError::QuotaExceeded);
    }

    let mut pipe = Pipe {
        maildrop: Rc::new(RefCell::new(original.clone())),
        quirks: quirks.clone(),
        faults: Some(faults.clone()),
        server: None,
        store: store.clone(),
        violations: Rc::default(),
    };
    let memory = store.clone();
    let store = &SlowStore {
        inner: store,
        yields: rng.below(4) * rng.below(8),
    };
    let account = account(policy.clone());
    let password = Secret::new("pw".to_owned());
    let context = format!("seed {seed}: {policy:?}, {faults:?}, commit fails: {fail_commit}");

    // The faulty sync: it may fail anywhere, that is the point.
    let _ = sync_account(&mut pipe, store, &account, &password, &options, &mut |_| {}).await;
    pipe.settle().await;
    check_deleted_were_stored(&memory, &received, &pipe.maildrop, &context).await?;

    // Clean syncs until one succeeds: every fault was a one-off.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result =
            sync_account(&mut pipe, store, &account, &password, &options, &mut |_| {}).await;
        pipe.settle().await;
        check_deleted_were_stored(&memory, &received, &pipe.maildrop, &context).await?;
        match result {
            Ok(_) => break,
            Err(e) if attempts < 3 => {
                let _ = e;
            }
            Err(e) => return Err(format!("{context}: does not recover: {e}")),
        }
    }

    if let Some(v) = pipe.violations.borrow().first() {
        return Err(format!("{context}: {v}"));
    }
    let want: BTreeMap<String, Vec<u8>> = received
        .iter()
        .map(|m| (m.uidl.clone(), m.raw.clone()))
        .collect();
    let have = stored(&memory).await;
    if have != want {
        return Err(format!(
            "{context}: stored {:?}, server had {:?}",
            have.keys(),
            want.keys()
        ));
    }
    if memory.commit_count() != count as u64 {
        return Err(format!(
            "{context}: {} commits for {count} messages: one stored twice",
            memory.commit_count()
        ));
    }
    let left: Vec<String> = pipe
        .maildrop
        .borrow()
        .iter()
        .map(|m| m.uidl.clone())
        .collect();
    let keeps_all = policy.delete == DeletePolicy::LeaveOnServer || quirks.faults.ignore_dele;
    let expected_left = if keeps_all { count } else { 0 };
    // AfterDays(0) deletes what earlier sessions stored; the last clean sync may have stored
    // the rest, which the next sync deletes. AfterDownload deletes each once stored.
    let deletes_in_same_sync = policy.delete == DeletePolicy::AfterDownload;
    if (keeps_all || deletes_in_same_sync) && left.len() != expected_left {
        return Err(format!("{context}: the server still holds {left:?}"));
    }
    Ok(())
}

/// Invariant 1 as the server sees it: whatever left the server is in the store.
async fn check_deleted_were_stored(
    store: &MemoryStore,
    original: &[MailboxMessage],
    maildrop: &Maildrop,
    context: &str,
) -> Result<(), String> {
    let have = stored(store).await;
    let left = maildrop.borrow();
    for m in original {
        let on_server = left.iter().any(|l| l.uidl == m.uidl);
        if !on_server && have.get(&m.uidl) != Some(&m.raw) {
            return Err(format!("{context}: {} deleted and not stored", m.uidl));
        }
    }
    Ok(())
}

fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("POSTINO_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return vec![seed];
    }
    let n = std::env::var("POSTINO_FAULT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    (1..=n).collect()
}

#[test]
fn no_mail_lost_or_stored_twice_under_seeded_faults() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let seeds = seeds();
    let failures: Vec<String> = LocalSet::new().block_on(&runtime, async {
        let mut failures = Vec::new();
        for &seed in &seeds {
            if let Err(e) = run_seed(seed).await {
                failures.push(e);
            }
        }
        failures
    });
    eprintln!(
        "{} seeds in {:.2} s",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed; the first:\n{}",
        failures.len(),
        seeds.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
