//! The download session: one POP3 session's fetches and deletions, as a sans-IO machine
//! ([`Session`]) and one thin async driver ([`run`]).
//!
//! The machine owns the plan, the pipelining window, the batch being filled, the batch being
//! committed and the outcome. It does no I/O and reads no clock (DESIGN.md invariant 6): the
//! caller asks [`Session::next_action`] what to do, does it, and reports back with
//! [`Session::handle_response`] (a response read) and [`Session::handle_committed`] (the store
//! confirmed a commit), like imap-next's `next()` and quinn-proto's `poll_*`/`handle_*`.
//! Decisions are therefore testable without a server, and the driver is a loop over
//! [`Action`].
//!
//! Invariants (DESIGN.md 1 and 3):
//! - a fetched message's DELE is handed out only after [`Session::handle_committed`] for the
//!   batch that holds it; a failed commit ends the session (the driver returns the error), so
//!   no DELE of that batch is ever sent and, without QUIT, none of the session's DELEs applies;
//! - memory is bounded: at most one batch committing and one batch being filled, each at most
//!   [`BATCH_MESSAGES`] messages or a little over [`BATCH_BYTES`] octets.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{select, Either};
use postino_pop3::{Client, Command};

use crate::plan::Fetch;
use crate::store::Incoming;
use crate::{Account, Cancel, EntryState, Store, StoreError, SyncError, SyncOptions, SyncPlan};

/// A store transaction holds at most this many messages...
pub(crate) const BATCH_MESSAGES: usize = 64;
/// ...or this many bytes, past which it is committed.
pub(crate) const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// ...or once its first message has waited this long (milliseconds), where the driver has a
/// clock: at 1 Mbit/s, 4 MiB take 34 s to arrive, and a stop or a crash meanwhile would lose
/// them all, and the list would show none.
pub const BATCH_AGE_MS: f64 = 2_000.0;

/// How a session runs: fixed when it starts.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The account id, for ledger entries and summaries.
    pub account: String,
    /// Unix seconds: the `downloaded_at` of what this session stores.
    pub now: i64,
    /// Commands in flight at most: the client's window, or less (1: one at a time).
    pub window: usize,
    /// After this many DELEs, stop starting new work: the caller QUITs (applying them) and
    /// connects again (like fetchmail's `expunge N`).
    pub expunge_every: usize,
    /// The store computes the ledger's digests itself ([`crate::Store::FILLS_DIGEST`]); set by
    /// [`run`] from its store's type.
    pub store_fills_digest: bool,
    /// Where the driver reads the time ([`crate::SyncOptions::clock`]).
    pub clock: Option<fn() -> f64>,
}

impl SessionConfig {
    /// For `account` as `options` say (the time, `max_in_flight`), over a client whose window
    /// is `window`.
    pub fn new(
        account: &Account,
        options: &SyncOptions,
        window: usize,
        expunge_every: usize,
    ) -> Self {
        SessionConfig {
            account: account.id.clone(),
            now: options.now,
            window: window.min(options.max_in_flight.unwrap_or(usize::MAX)),
            expunge_every,
            store_fills_digest: false,
            clock: options.clock,
        }
    }
}

/// What the driver does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Queue this command (pipelined: it goes out with the next read).
    Send(Command),
    /// Start committing this batch to the store, and go on reading meanwhile.
    Commit(Vec<Incoming>),
    /// Read the next response; a commit may be running meanwhile.
    Read,
    /// Wait for the running commit, then call [`Session::handle_committed`].
    AwaitCommit,
    /// The session's work is over. With [`SessionOutcome::quit`] the caller ends with QUIT.
    Done(SessionOutcome),
}

/// How one session ended, and what it did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionOutcome {
    /// Messages committed to the store.
    pub downloaded: usize,
    /// Of `downloaded`, stored headers only.
    pub headers_only: usize,
    /// Octets committed.
    pub bytes: u64,
    /// Fetches the server refused (`-ERR`: deleted meanwhile by another client).
    pub unavailable: usize,
    /// DELEs the server accepted; they take effect at QUIT.
    pub deleted: usize,
    /// DELEs the server refused.
    pub delete_refused: usize,
    /// The deletion chunk is full and work remains: QUIT and connect again.
    pub more: bool,
    /// End with QUIT (false when cancelled with responses still in flight: nothing deleted).
    pub quit: bool,
    /// The caller cancelled.
    pub cancelled: bool,
}

/// One session's downloads and deletions, sans-IO. See the module docs for the contract.
///
/// Call [`Session::next_action`] until it returns [`Action::Done`]; after an
/// [`Action::Read`] call [`Session::handle_response`] with what was read, after an
/// [`Action::Commit`] call [`Session::handle_committed`] once the store confirmed it (or stop
/// on its error). [`Session::cancel`] may be called at any time.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    plan: SyncPlan,
    /// The next fetch and delete of the plan to send.
    next_fetch: usize,
    next_delete: usize,
    /// Fetches sent and not answered, by message number: index into `plan.fetch`.
    fetching: HashMap<u32, usize>,
    /// Commands sent and not answered.
    in_flight: usize,
    /// DELEs of committed messages, not sent yet.
    dele_queue: VecDeque<u32>,
    deles_sent: usize,
    /// No new fetch or delete is started.
    stop_new: bool,
    /// Topping the window up: set when it is half empty, cleared when full (or nothing is
    /// left to send), so that commands go out many to a write (one TLS record, one WebSocket
    /// frame) rather than one per response read: a browser's cost is largely per frame.
    refilling: bool,
    /// Cancelled: end without QUIT once nothing is committing.
    abort: bool,
    filling: Vec<Incoming>,
    /// The message number of each message in `filling`.
    filling_numbers: Vec<u32>,
    filling_bytes: usize,
    /// The time ([`Session::set_time`]) when the first message of `filling` arrived.
    filling_since: Option<f64>,
    /// The time as the driver last said, in milliseconds; `None` without a clock.
    now_ms: Option<f64>,
    /// The batch the store is committing: (message number, whole message) of each.
    committing: Option<Vec<(u32, bool)>>,
    outcome: SessionOutcome,
}

impl Session {
    /// A session that carries out `plan`: its fetches, then its deletions; with
    /// `plan.delete_after_fetch`, each fetched message's DELE once it is committed.
    pub fn new(plan: SyncPlan, config: SessionConfig) -> Self {
        Session {
            config: SessionConfig {
                window: config.window.max(1),
                ..config
            },
            plan,
            next_fetch: 0,
            next_delete: 0,
            fetching: HashMap::new(),
            in_flight: 0,
            dele_queue: VecDeque::new(),
            deles_sent: 0,
            stop_new: false,
            refilling: false,
            abort: false,
            filling: Vec::new(),
            filling_numbers: Vec::new(),
            filling_bytes: 0,
            filling_since: None,
            now_ms: None,
            committing: None,
            outcome: SessionOutcome::default(),
        }
    }

    /// The time now, in milliseconds from any fixed point: a batch whose first message came
    /// [`BATCH_AGE_MS`] ago commits though not full. A session never told the time commits
    /// only full batches, or when nothing more is on its way.
    pub fn set_time(&mut self, now_ms: f64) {
        self.now_ms = Some(now_ms);
    }

    /// What was done so far.
    pub fn outcome(&self) -> &SessionOutcome {
        &self.outcome
    }

    /// The plan this session carries out.
    pub fn plan(&self) -> &SyncPlan {
        &self.plan
    }

    /// Stop as soon as no commit is running: the running one completes (what was stored stays),
    /// messages read but not committed are dropped, and the session ends without QUIT, so it
    /// deletes nothing.
    pub fn cancel(&mut self) {
        self.stop_new = true;
        self.abort = true;
        self.outcome.cancelled = true;
    }

    /// What to do next.
    pub fn next_action(&mut self) -> Action {
        if self.abort {
            if self.committing.is_some() {
                return Action::AwaitCommit;
            }
            // Read and not committed: dropped, the next sync fetches it again.
            self.filling.clear();
            self.filling_numbers.clear();
            self.outcome.quit = false;
            self.outcome.deleted = 0;
            return Action::Done(self.outcome.clone());
        }
        // Commit when the batch is full, or when no response is on its way (waiting would only
        // delay the commit and its DELEs); the next commands go out while it runs.
        let old = matches!((self.now_ms, self.filling_since),
            (Some(now), Some(since)) if now - since >= BATCH_AGE_MS);
        let full = self.filling.len() >= BATCH_MESSAGES || self.filling_bytes >= BATCH_BYTES || old;
        if self.committing.is_none() && !self.filling.is_empty() && (full || self.in_flight == 0) {
            return self.start_commit();
        }
        if self.in_flight <= self.config.window / 2 {
            self.refilling = true;
        }
        if self.refilling && self.in_flight < self.config.window {
            if let Some(command) = self.next_command() {
                self.in_flight += 1;
                return Action::Send(command);
            }
        }
        self.refilling = false;
        if self.in_flight > 0 {
            // One batch committing and one filling: a full one waits for the commit.
            if full {
                return Action::AwaitCommit;
            }
            return Action::Read;
        }
        if self.committing.is_some() {
            return Action::AwaitCommit;
        }
        self.outcome.quit = true;
        Action::Done(self.outcome.clone())
    }

    fn next_command(&mut self) -> Option<Command> {
        if let Some(number) = self.dele_queue.pop_front() {
            self.deles_sent += 1;
            return Some(Command::Dele(number));
        }
        if self.stop_new {
            return None;
        }
        let fetch_left = self.next_fetch < self.plan.fetch.len();
        let work_left = fetch_left || self.next_delete < self.plan.delete.len();
        if self.deles_sent >= self.config.expunge_every && work_left {
            self.outcome.more = true;
            self.stop_new = true;
            return None;
        }
        if fetch_left {
            // With deletion after download, no more fetches on their way than the chunk can
            // still delete, so that the chunk's QUIT comes after them.
            let pending = self.deles_sent
                + self.dele_queue.len()
                + self.fetching.len()
                + self.filling.len()
                + self.committing.as_ref().map_or(0, Vec::len);
            if self.plan.delete_after_fetch && pending >= self.config.expunge_every {
                return None;
            }
            let fetch = &self.plan.fetch[self.next_fetch];
            self.fetching.insert(fetch.number, self.next_fetch);
            self.next_fetch += 1;
            return Some(fetch_command(fetch));
        }
        let delete = self.plan.delete.get(self.next_delete)?;
        self.next_delete += 1;
        self.deles_sent += 1;
        Some(Command::Dele(delete.number))
    }

    fn start_commit(&mut self) -> Action {
        let batch = std::mem::take(&mut self.filling);
        let numbers = std::mem::take(&mut self.filling_numbers);
        self.filling_bytes = 0;
        self.filling_since = None;
        self.committing = Some(
            numbers
                .into_iter()
                .zip(&batch)
                .map(|(number, m)| (number, m.entry.state == EntryState::Stored))
                .collect(),
        );
        Action::Commit(batch)
    }

    /// The response to `command` (the oldest in flight): `ok` for `+OK`, `body` the
    /// dot-unstuffed multi-line body (empty for others). A fetched message joins the batch.
    pub fn handle_response(&mut self, command: &Command, ok: bool, body: Vec<u8>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match *command {
            Command::Retr(number) | Command::Top(number, _) => {
                let Some(index) = self.fetching.remove(&number) else {
                    return;
                };
                if !ok {
                    // Gone meanwhile (another client deleted it): the next sync lists again.
                    self.outcome.unavailable += 1;
                    return;
                }
                let fetch = &self.plan.fetch[index];
                if self.filling.is_empty() {
                    self.filling_since = self.now_ms;
                }
                self.filling_bytes += body.len();
                self.filling_numbers.push(number);
                self.filling.push(Incoming::for_store(
                    &self.config.account,
                    &fetch.uidl,
                    fetch.headers_only,
                    body,
                    self.config.now,
                    self.config.store_fills_digest,
                ));
            }
            Command::Dele(_) if ok => self.outcome.deleted += 1,
            Command::Dele(_) => self.outcome.delete_refused += 1,
            _ => {}
        }
    }

    /// The size LIST gave for message `number` if this session fetches it, else 0.
    pub fn listed_size(&self, number: u32) -> usize {
        self.fetching
            .get(&number)
            .and_then(|&index| self.plan.fetch.get(index))
            .map_or(0, |fetch| usize::try_from(fetch.size).unwrap_or(usize::MAX))
    }

    /// The store confirmed the commit of the last [`Action::Commit`]: its messages count as
    /// downloaded, and with deletion after download their DELEs may go now.
    pub fn handle_committed(&mut self, bytes: u64) {
        let Some(batch) = self.committing.take() else {
            return;
        };
        self.outcome.downloaded += batch.len();
        self.outcome.bytes += bytes;
        for (number, whole) in batch {
            self.outcome.headers_only += usize::from(!whole);
            if self.plan.delete_after_fetch && whole && !self.outcome.cancelled {
                self.dele_queue.push_back(number);
            }
        }
    }
}

/// Tells `session` the time, where its config has a clock.
fn tell_time(session: &mut Session) {
    if let Some(clock) = session.config.clock {
        session.set_time(clock());
    }
}

fn fetch_command(fetch: &Fetch) -> Command {
    if fetch.headers_only {
        Command::Top(fetch.number, 0)
    } else {
        Command::Retr(fetch.number)
    }
}

/// What [`run`] reserves for a message at most before its bytes arrive.
const RESERVE_AT_MOST: usize = 8 << 20;

/// A commit running while the driver reads on. Store futures are not `Send` (IndexedDB).
type Commit<'s> = Pin<Box<dyn Future<Output = Result<u64, StoreError>> + 's>>;

/// Drive `session` over `client` into `store` until it is done: the one async loop over the
/// machine. A batch commits while the next responses are read (both polled in this task);
/// `progress` sees the outcome after each commit. Does not QUIT: the caller does when the
/// outcome says so. On an error (network, server, store) the client must be dropped.
pub async fn run<S, St>(
    client: &mut Client<S>,
    store: &St,
    session: &mut Session,
    cancel: &Cancel,
    progress: &mut dyn FnMut(&SessionOutcome),
) -> Result<SessionOutcome, SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: Store,
{
    let mut committing: Option<Commit<'_>> = None;
    session.config.store_fills_digest = St::FILLS_DIGEST;
    loop {
        if cancel.is_cancelled() && !session.outcome.cancelled {
            session.cancel();
        }
        tell_time(session);
        match session.next_action() {
            Action::Send(command) => client.send_pipelined(command)?,
            Action::Commit(batch) => {
                committing = Some(Box::pin(async move {
                    store.commit_messages(&batch).await?;
                    Ok(batch.iter().map(|m| m.raw.len() as u64).sum())
                }));
            }
            Action::AwaitCommit => {
                if let Some(commit) = committing.take() {
                    session.handle_committed(commit.await?);
                    progress(session.outcome());
                }
            }
            Action::Read => {
                // Room for the whole message at once (the size LIST gave, within reason: a
                // server's claim is not trusted with memory), not a copy at each doubling.
                let expected = match client.next_in_flight() {
                    Some(&Command::Retr(number)) => session.listed_size(number),
                    _ => 0,
                };
                let mut body = Vec::with_capacity(expected.min(RESERVE_AT_MOST));
                let mut sink = |chunk: &[u8]| {
                    body.extend_from_slice(chunk);
                    Ok(())
                };
                let read = client.next_response(&mut sink);
                let response = match committing.as_mut() {
                    None => read.await?,
                    Some(commit) => {
                        futures_util::pin_mut!(read);
                        match select(read, commit.as_mut()).await {
                            Either::Left((response, _)) => response?,
                            Either::Right((committed, read)) => {
                                committing = None;
                                session.handle_committed(committed?);
                                progress(session.outcome());
                                read.await?
                            }
                        }
                    }
                };
                // The time the message arrived, which a slow read may have made much later.
                tell_time(session);
                if body.capacity() > 2 * body.len() {
                    // LIST said more than came: held until its batch commits, so not kept.
                    body.shrink_to_fit();
                }
                session.handle_response(&response.command, response.status.ok, body);
            }
            Action::Done(outcome) => return Ok(outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Delete;

    fn config(window: usize, expunge_every: usize) -> SessionConfig {
        SessionConfig {
            account: "a".into(),
            now: 0,
            window,
            expunge_every,
            store_fills_digest: false,
            clock: None,
        }
    }

    fn plan(fetch: u32, delete: &[u32], delete_after_fetch: bool) -> SyncPlan {
        SyncPlan {
            fetch: (1..=fetch)
                .map(|n| Fetch {
                    number: n,
                    uidl: format!("u{n}"),
                    size: 10,
                    headers_only: false,
                })
                .collect(),
            delete: delete
                .iter()
                .map(|&n| Delete {
                    number: n,
                    uidl: format!("u{n}"),
                })
                .collect(),
            delete_after_fetch,
            ..SyncPlan::default()
        }
    }

    fn message(n: u32) -> Vec<u8> {
        format!("Subject: {n}\r\n\r\nbody\r\n").into_bytes()
    }

    /// Server says `+OK` to everything, the store commits at once: the transcript of actions.
    fn transcript(session: &mut Session) -> Vec<String> {
        let mut sent = VecDeque::new();
        let mut log = Vec::new();
        loop {
            match session.next_action() {
                Action::Send(c) => {
                    log.push(format!("send {c:?}"));
                    sent.push_back(c);
                }
                Action::Read => {
                    let c = sent.pop_front().expect("a read with nothing in flight");
                    let body = match c {
                        Command::Retr(n) | Command::Top(n, _) => message(n),
                        _ => Vec::new(),
                    };
                    session.handle_response(&c, true, body);
                }
                Action::Commit(batch) => {
                    let uidls: Vec<&str> = batch.iter().map(|m| m.entry.uidl.as_str()).collect();
                    log.push(format!("commit {uidls:?}"));
                    let bytes = batch.iter().map(|m| m.raw.len() as u64).sum();
                    session.handle_committed(bytes);
                }
                Action::AwaitCommit => unreachable!("commits complete at once here"),
                Action::Done(outcome) => {
                    log.push(format!(
                        "done quit={} more={} deleted={}",
                        outcome.quit, outcome.more, outcome.deleted
                    ));
                    return log;
                }
            }
        }
    }

    #[test]
    fn commands_go_out_in_runs_when_the_window_is_half_empty() {
        let mut s = Session::new(plan(200, &[], false), config(8, 50));
        let mut runs = Vec::new();
        let mut run = 0;
        let mut sent = VecDeque::new();
        loop {
            match s.next_action() {
                Action::Send(c) => {
                    run += 1;
                    sent.push_back(c);
                }
                action => {
                    if run > 0 {
                        runs.push(run);
                        run = 0;
                    }
                    match action {
                        Action::Read => {
                            let c = sent.pop_front().unwrap();
                            s.handle_response(&c, true, message(1));
                        }
                        Action::Commit(batch) => s.handle_committed(batch.len() as u64),
                        Action::Done(_) => break,
                        _ => {}
                    }
                }
            }
        }
        // The first run fills the window; then one run per half window, not one per response.
        assert_eq!(runs[0], 8);
        assert!(
            runs[1..runs.len() - 1].iter().all(|&r| r >= 4),
            "runs of sends: {runs:?}"
        );
        assert_eq!(runs.iter().sum::<usize>(), 200);
    }

    #[test]
    fn one_at_a_time_commits_each_message_before_its_dele() {
        let mut s = Session::new(plan(2, &[], true), config(1, 50));
        assert_eq!(
            transcript(&mut s),
            [
                "send Retr(1)",
                "commit [\"u1\"]",
                "send Dele(1)",
                "send Retr(2)",
                "commit [\"u2\"]",
                "send Dele(2)",
                "done quit=true more=false deleted=2",
            ]
        );
    }

    #[test]
    fn pipelined_fetches_go_out_together_and_commit_as_one_batch() {
        let mut s = Session::new(plan(3, &[7], false), config(64, 50));
        assert_eq!(
            transcript(&mut s),
            [
                "send Retr(1)",
                "send Retr(2)",
                "send Retr(3)",
                "send Dele(7)",
                "commit [\"u1\", \"u2\", \"u3\"]",
                "done quit=true more=false deleted=1",
            ]
        );
        assert_eq!(s.outcome().downloaded, 3);
    }

    #[test]
    fn on_a_slow_link_a_batch_commits_once_its_first_message_waited_long_enough() {
        // Three fetches in flight; the second answer comes 2.5 s after the first.
        let run = |clock: bool| {
            let mut s = Session::new(plan(3, &[], false), config(64, 50));
            let mut sent = VecDeque::new();
            let mut log = Vec::new();
            let mut now = 0.0;
            loop {
                if clock {
                    s.set_time(now);
                }
                match s.next_action() {
                    Action::Send(c) => sent.push_back(c),
                    Action::Read => {
                        let c = sent.pop_front().unwrap();
                        let Command::Retr(n) = c else { unreachable!() };
                        // The driver waited that long in this read.
                        now += if n == 2 { 2_500.0 } else { 10.0 };
                        if clock {
                            s.set_time(now);
                        }
                        s.handle_response(&c, true, message(n));
                    }
                    Action::Commit(batch) => log.push(
                        batch
                            .iter()
                            .map(|m| m.entry.uidl.clone())
                            .collect::<Vec<_>>(),
                    ),
                    Action::AwaitCommit => s.handle_committed(0),
                    Action::Done(_) => break,
                }
            }
            log
        };
        assert_eq!(run(true), [vec!["u1", "u2"], vec!["u3"]]);
        assert_eq!(
            run(false),
            [vec!["u1", "u2", "u3"]],
            "without a clock, as before"
        );
    }

    #[test]
    fn a_full_deletion_chunk_ends_the_session_with_more() {
        let mut s = Session::new(plan(3, &[], true), config(64, 2));
        let log = transcript(&mut s);
        assert_eq!(log.last().unwrap(), "done quit=true more=true deleted=2");
        assert_eq!(s.outcome().downloaded, 2, "{log:?}");
    }

    #[test]
    fn a_filled_batch_waits_for_the_commit_before_reading_on() {
        let mut s = Session::new(plan(200, &[], false), config(64, usize::MAX));
        let mut committing = false;
        let mut sent = VecDeque::new();
        let mut max_held = 0;
        loop {
            match s.next_action() {
                Action::Send(c) => sent.push_back(c),
                Action::Read => {
                    let c = sent.pop_front().unwrap();
                    let Command::Retr(n) = c else { unreachable!() };
                    s.handle_response(&c, true, message(n));
                }
                // The store is slow: the commit completes only when the driver must wait.
                Action::Commit(batch) => {
                    assert!(!committing, "two commits at once");
                    committing = true;
                    max_held = max_held.max(batch.len());
                }
                Action::AwaitCommit => {
                    assert!(committing);
                    committing = false;
                    s.handle_committed(0);
                }
                Action::Done(o) => {
                    assert_eq!(o.downloaded, 200);
                    break;
                }
            }
            max_held = max_held.max(s.filling.len());
        }
        assert!(max_held <= BATCH_MESSAGES);
    }

    #[test]
    fn cancel_ends_without_quit_once_the_running_commit_is_done() {
        let mut s = Session::new(plan(3, &[9], true), config(1, 50));
        assert_eq!(s.next_action(), Action::Send(Command::Retr(1)));
        assert_eq!(s.next_action(), Action::Read);
        s.handle_response(&Command::Retr(1), true, message(1));
        let Action::Commit(batch) = s.next_action() else {
            panic!("the read message is committed");
        };
        assert_eq!(batch.len(), 1);
        assert_eq!(s.next_action(), Action::Send(Command::Retr(2)));
        s.cancel();
        assert_eq!(s.next_action(), Action::AwaitCommit);
        s.handle_committed(1);
        let Action::Done(outcome) = s.next_action() else {
            panic!("no DELE after a cancel");
        };
        assert!(!outcome.quit && outcome.cancelled);
        assert_eq!(outcome.downloaded, 1);
    }

    #[test]
    fn a_refused_fetch_is_unavailable_and_never_deleted() {
        let mut s = Session::new(plan(1, &[], true), config(1, 50));
        assert_eq!(s.next_action(), Action::Send(Command::Retr(1)));
        assert_eq!(s.next_action(), Action::Read);
        s.handle_response(&Command::Retr(1), false, Vec::new());
        let Action::Done(outcome) = s.next_action() else {
            panic!("nothing to commit, nothing to delete");
        };
        assert_eq!((outcome.unavailable, outcome.deleted), (1, 0));
    }
}
