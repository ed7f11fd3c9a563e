//! Server triage against a real Dovecot with the memory store: the listing shows each message's
//! headers and size without downloading any, and the user's choices (download, skip, delete on
//! the server) do exactly what was chosen. Plain POP3 on loopback through the recording proxy,
//! so the tests can read every command the client sent. A scripted server stands in for the
//! servers Dovecot cannot imitate: one without TOP, and one with endless headers.

mod support;

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use postino_sync::{
    apply_triage, server_listing, Account, Choice, DeletePolicy, EntryState, MemoryStore, Policy,
    Progress, Security, ServerMessage, ServerState, Store, Summary, SyncOptions, TriageReport,
};
use support::{account, dovecot, mails, server_count, sorted, RecordingProxy, Tcp};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const NOW: i64 = 1_700_000_000;

/// Dovecot behind the recording proxy, plain POP3 (loopback only).
async fn setup(policy: Policy) -> (postino_testkit::Dovecot, RecordingProxy, Account) {
    let d = dovecot();
    let proxy = RecordingProxy::start(d.pop3_port()).await;
    let mut acc = account(&d, policy);
    acc.security = Security::None;
    acc.port = proxy.port;
    (d, proxy, acc)
}

async fn listing(port: u16, store: &MemoryStore, acc: &Account) -> Vec<ServerMessage> {
    server_listing(
        &mut Tcp::loopback(port),
        store,
        acc,
        &support::password(),
        &mut |_| {},
    )
    .await
    .unwrap()
}

async fn triage(
    port: u16,
    store: &MemoryStore,
    acc: &Account,
    choices: &[(String, Choice)],
) -> TriageReport {
    apply_triage(
        &mut Tcp::loopback(port),
        store,
        acc,
        &support::password(),
        choices,
        &SyncOptions::new(NOW),
        &mut |_| {},
    )
    .await
    .unwrap()
}

fn subject_of(raw: &[u8]) -> String {
    Summary::from_raw("x", "x", raw).subject
}

/// How many times the client sent `command` (e.g. "RETR ") at the start of a line.
fn count(sent: &str, command: &str) -> usize {
    sent.lines().filter(|l| l.starts_with(command)).count()
}

#[tokio::test]
async fn listing_shows_subjects_and_sizes_without_downloading_anything() {
    let (_d, proxy, acc) = setup(Policy::default()).await;
    let store = MemoryStore::default();
    let expected = mails();

    let mut events = Vec::new();
    let list = server_listing(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        &mut |p| events.push(p),
    )
    .await
    .unwrap();

    assert_eq!(list.len(), expected.len());
    for (message, raw) in list.iter().zip(&expected) {
        assert_eq!(message.size, raw.len() as u64, "LIST size");
        assert_eq!(
            message.summary.size, message.size,
            "the real size, not the headers'"
        );
        assert_eq!(message.summary.subject, subject_of(raw));
        assert_eq!(message.summary.uidl, message.uidl);
        assert_eq!(message.summary.id, format!("{}/{}", acc.id, message.uidl));
        assert_eq!(message.state, ServerState::New);
        assert!(message.summary.snippet.is_empty(), "headers only: no body");
    }
    assert!(list.iter().any(|m| m.summary.subject == "Grüße aus Köln"));
    let large = list.iter().max_by_key(|m| m.size).unwrap();
    assert!(large.size > 250_000);
    assert!(large.summary.from.contains('@'), "{:?}", large.summary.from);

    let sent = proxy.client_bytes_when_closed().await;
    assert_eq!(count(&sent, "RETR "), 0, "{sent}");
    assert_eq!(count(&sent, "TOP "), expected.len(), "{sent}");
    assert!(
        sent.lines()
            .filter(|l| l.starts_with("TOP "))
            .all(|l| l.ends_with(" 0")),
        "{sent}"
    );
    assert_eq!(count(&sent, "DELE "), 0, "{sent}");
    assert!(sent.ends_with("QUIT\r\n"), "{sent}");
    assert!(events.starts_with(&[Progress::Listing]));
    assert!(events.iter().any(|p| matches!(
        p,
        Progress::Downloading { done, total, .. } if *done == expected.len() && *total == expected.len()
    )));
    // Nothing stored, nothing deleted.
    assert!(block_on(store.summaries()).unwrap().is_empty());
    assert!(block_on(store.ledger(&acc.id)).unwrap().is_empty());
    assert_eq!(server_count(&_d).await, expected.len());
}

#[tokio::test]
async fn listing_states_follow_the_ledger() {
    let (_d, proxy, mut acc) = setup(Policy::default()).await;
    let store = MemoryStore::default();
    // The large message is stored headers only, the others whole...
    acc.policy.size_limit = Some(100_000);
    support::sync(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &SyncOptions::new(NOW),
    )
    .await
    .unwrap();
    // ...one of them is then deleted in Postino.
    let first = listing(proxy.port, &store, &acc).await[0].uidl.clone();
    let entry = store.ledger_entry(&acc.id, &first).unwrap();
    block_on(store.delete_message(&entry.into_deleted_locally())).unwrap();

    let list = listing(proxy.port, &store, &acc).await;
    let large = list.iter().max_by_key(|m| m.size).unwrap();
    assert_eq!(large.state, ServerState::HeadersOnly);
    assert_eq!(list[0].state, ServerState::DeletedLocally);
    let stored = list
        .iter()
        .filter(|m| m.state == ServerState::Stored)
        .count();
    assert_eq!(stored, mails().len() - 2);
}

#[tokio::test]
async fn download_of_two_chosen_messages_stores_exactly_them() {
    let (d, proxy, acc) = setup(Policy::default()).await;
    let store = MemoryStore::default();
    let expected = mails();
    let list = listing(proxy.port, &store, &acc).await;
    let before = count(&proxy.client_bytes_when_closed().await, "RETR ");
    assert_eq!(before, 0);
    // The large one (whatever a size limit would say) and an ordinary one.
    let large = list.iter().position(|m| m.size > 250_000).unwrap();
    let picks = [0, large];
    let choices: Vec<(String, Choice)> = picks
        .iter()
        .map(|&i| (list[i].uidl.clone(), Choice::Download))
        .collect();

    let mut limited = acc.clone();
    limited.policy.size_limit = Some(100_000);
    let report = triage(proxy.port, &store, &limited, &choices).await;
    assert_eq!(report.downloaded, 2);
    assert_eq!(
        report.bytes,
        picks.iter().map(|&i| expected[i].len() as u64).sum::<u64>()
    );
    assert_eq!(
        (report.deleted, report.skipped, report.unavailable),
        (0, 0, 0)
    );
    assert!(report.not_on_server.is_empty() && report.unchanged.is_empty());
    assert_eq!(
        support::stored_raws(&store),
        sorted(picks.iter().map(|&i| expected[i].clone()).collect())
    );
    let ledger = block_on(store.ledger(&acc.id)).unwrap();
    assert_eq!(ledger.len(), 2);
    assert!(ledger
        .iter()
        .all(|e| e.state == EntryState::Stored && !e.digest.is_empty()));

    let sent = proxy.client_bytes_when_closed().await;
    assert_eq!(count(&sent, "RETR "), 2, "{sent}");
    assert_eq!(count(&sent, "DELE "), 0, "{sent}");
    assert_eq!(server_count(&d).await, expected.len(), "left on the server");

    // Chosen again: already stored, nothing downloaded twice.
    let report = triage(proxy.port, &store, &acc, &choices).await;
    assert_eq!(report.downloaded, 0);
    assert_eq!(report.unchanged.len(), 2);
    assert_eq!(store.commit_count(), 2);
    // And a sync takes the rest only.
    let report = support::sync(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &SyncOptions::new(NOW),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.downloaded, report.already_stored),
        (expected.len() - 2, 2)
    );
    assert_eq!(support::stored_raws(&store), sorted(expected));
}

#[tokio::test]
async fn skipped_is_never_downloaded_by_a_sync_nor_deleted_by_a_policy() {
    let (d, proxy, mut acc) = setup(Policy::default()).await;
    let store = MemoryStore::default();
    let expected = mails();
    let list = listing(proxy.port, &store, &acc).await;
    let skipped = list[1].uidl.clone();
    let skipped_raw = expected[1].clone();

    let report = triage(proxy.port, &store, &acc, &[(skipped.clone(), Choice::Skip)]).await;
    assert_eq!(report.skipped, 1);
    let entry = store.ledger_entry(&acc.id, &skipped).unwrap();
    assert_eq!(entry.state, EntryState::Skipped);
    assert_eq!(entry.size, skipped_raw.len() as u64);
    assert!(
        block_on(store.summaries()).unwrap().is_empty(),
        "nothing stored"
    );
    let list = listing(proxy.port, &store, &acc).await;
    assert_eq!(list[1].state, ServerState::Skipped);

    // A sync downloads everything else, never the skipped one.
    let mut opts = SyncOptions::new(NOW);
    let report = support::sync(&mut Tcp::loopback(proxy.port), &store, &acc, &opts)
        .await
        .unwrap();
    assert_eq!(report.downloaded, expected.len() - 1);
    assert_eq!(report.already_stored, 0);
    let mut rest = expected.clone();
    rest.remove(1);
    assert_eq!(support::stored_raws(&store), sorted(rest.clone()));

    // "Delete right after download" (persistent store) empties the server but for it.
    acc.policy.delete = DeletePolicy::AfterDownload;
    opts.store_persistent = true;
    let report = support::sync(&mut Tcp::loopback(proxy.port), &store, &acc, &opts)
        .await
        .unwrap();
    assert_eq!(report.deleted, expected.len() - 1);
    assert_eq!(server_count(&d).await, 1);
    // "After N days", long after, does not delete it either.
    acc.policy.delete = DeletePolicy::AfterDays(0);
    opts.now = NOW + 365 * 86_400;
    let report = support::sync(&mut Tcp::loopback(proxy.port), &store, &acc, &opts)
        .await
        .unwrap();
    assert_eq!((report.deleted, report.downloaded), (0, 0));
    let list = listing(proxy.port, &store, &acc).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].uidl, skipped);
    assert_eq!(list[0].state, ServerState::Skipped);
    assert_eq!(list[0].summary.subject, subject_of(&skipped_raw));

    let sent = proxy.client_bytes_when_closed().await;
    assert_eq!(count(&sent, "RETR "), expected.len() - 1, "{sent}");

    // The user changes their mind: downloading it replaces the skipped entry.
    let report = triage(
        proxy.port,
        &store,
        &acc,
        &[(skipped.clone(), Choice::Download)],
    )
    .await;
    assert_eq!(report.downloaded, 1);
    assert_eq!(
        store.ledger_entry(&acc.id, &skipped).unwrap().state,
        EntryState::Stored
    );
    assert_eq!(support::stored_raws(&store), sorted(expected));
}

#[tokio::test]
async fn delete_removes_exactly_the_chosen_ones_from_the_server() {
    let (d, proxy, acc) = setup(Policy::default()).await;
    let store = MemoryStore::default();
    let expected = mails();
    let list = listing(proxy.port, &store, &acc).await;
    let n = list.len();
    assert!(n >= 4, "the test needs four fixtures");

    // Message 3 is stored first; deleting it on the server keeps its ledger entry.
    let report = triage(
        proxy.port,
        &store,
        &acc,
        &[(list[2].uidl.clone(), Choice::Download)],
    )
    .await;
    assert_eq!(report.downloaded, 1);

    // Message 1 goes in a session of its own: every later number shifts by one, so the next
    // session must find the others by UIDL, not by the numbers this listing saw.
    let report = triage(
        proxy.port,
        &store,
        &acc,
        &[(list[0].uidl.clone(), Choice::Delete)],
    )
    .await;
    assert_eq!(report.deleted, 1);
    assert_eq!(server_count(&d).await, n - 1);

    let chosen = [2, n - 1];
    let mut choices: Vec<(String, Choice)> = chosen
        .iter()
        .map(|&i| (list[i].uidl.clone(), Choice::Delete))
        .collect();
    // Gone already, and never there: reported, not an error.
    choices.push((list[0].uidl.clone(), Choice::Delete));
    choices.push(("no-such-uidl".into(), Choice::Skip));
    let report = triage(proxy.port, &store, &acc, &choices).await;
    assert_eq!(report.deleted, 2);
    assert_eq!(report.delete_refused, 0);
    assert_eq!(report.downloaded, 0);
    assert_eq!(
        report.not_on_server,
        [list[0].uidl.clone(), "no-such-uidl".to_string()]
    );

    let left = listing(proxy.port, &store, &acc).await;
    let left_uidls: Vec<&str> = left.iter().map(|m| m.uidl.as_str()).collect();
    let want: Vec<&str> = (0..n)
        .filter(|i| *i != 0 && !chosen.contains(i))
        .map(|i| list[i].uidl.as_str())
        .collect();
    assert_eq!(left_uidls, want);
    let left_subjects: Vec<String> = left.iter().map(|m| m.summary.subject.clone()).collect();
    let want_subjects: Vec<String> = (0..n)
        .filter(|i| *i != 0 && !chosen.contains(i))
        .map(|i| subject_of(&expected[i]))
        .collect();
    assert_eq!(left_subjects, want_subjects);

    // The ledger holds exactly what it held: the stored message (still stored), no entry for
    // the ones deleted without download.
    let ledger = block_on(store.ledger(&acc.id)).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].uidl, list[2].uidl);
    assert_eq!(ledger[0].state, EntryState::Stored);
    assert_eq!(support::stored_raws(&store), vec![expected[2].clone()]);

    let sent = proxy.client_bytes_when_closed().await;
    assert_eq!(count(&sent, "DELE "), 3, "{sent}");
    assert_eq!(count(&sent, "RETR "), 1, "{sent}");
}

#[tokio::test]
async fn no_choices_open_no_session() {
    let store = MemoryStore::default();
    let acc = account_for_port(1);
    // Port 1 refuses connections: a session would be an error.
    let report = apply_triage(
        &mut Tcp::loopback(1),
        &store,
        &acc,
        &support::password(),
        &[],
        &SyncOptions::new(NOW),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report, TriageReport::default());
}

// ---- A scripted server, for what Dovecot cannot do ----

/// How the scripted server answers `TOP n 0`.
#[derive(Clone, Copy)]
enum Top {
    /// `-ERR`.
    Refuse,
    /// The message's headers.
    Headers,
}

/// A one-user POP3 server on loopback that answers from a script and records the commands.
struct Scripted {
    port: u16,
    commands: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    async fn start(capa: Option<&'static str>, top: Top, messages: Vec<Vec<u8>>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let record = commands.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (record, messages) = (record.clone(), messages.clone());
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"+OK scripted\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        record.lock().unwrap().push(line.clone());
                        let words: Vec<&str> = line.split_whitespace().collect();
                        let nth = |i: usize| {
                            words
                                .get(i)
                                .and_then(|w| w.parse::<usize>().ok())
                                .and_then(|n| messages.get(n.wrapping_sub(1)))
                        };
                        let reply: Vec<u8> = match words.first().copied().unwrap_or("") {
                            "CAPA" => match capa {
                                Some(c) => format!("+OK\r\n{c}.\r\n").into_bytes(),
                                None => b"-ERR no CAPA\r\n".to_vec(),
                            },
                            "USER" | "PASS" | "NOOP" => b"+OK\r\n".to_vec(),
                            "UIDL" => multi(
                                messages
                                    .iter()
                                    .enumerate()
                                    .map(|(i, _)| format!("{} id-{}\r\n", i + 1, i + 1))
                                    .collect::<String>()
                                    .as_bytes(),
                            ),
                            "LIST" => multi(
                                messages
                                    .iter()
                                    .enumerate()
                                    .map(|(i, m)| format!("{} {}\r\n", i + 1, m.len()))
                                    .collect::<String>()
                                    .as_bytes(),
                            ),
                            "TOP" => match (top, nth(1)) {
                                (Top::Headers, Some(m)) => {
                                    let end = m
                                        .windows(4)
                                        .position(|w| w == b"\r\n\r\n")
                                        .map_or(m.len(), |i| i + 4);
                                    multi(&m[..end])
                                }
                                _ => b"-ERR no such command\r\n".to_vec(),
                            },
                            "RETR" => match nth(1) {
                                Some(m) => multi(m),
                                None => b"-ERR no such message\r\n".to_vec(),
                            },
                            "QUIT" => {
                                let _ = write.write_all(b"+OK bye\r\n").await;
                                return;
                            }
                            _ => b"-ERR unknown\r\n".to_vec(),
                        };
                        if write.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Scripted { port, commands }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}

/// A multi-line reply; the bodies used here have no line starting with ".".
fn multi(body: &[u8]) -> Vec<u8> {
    assert!(!body.starts_with(b".") && !body.windows(3).any(|w| w == b"\n.."));
    let mut out = b"+OK\r\n".to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(b".\r\n");
    out
}

fn account_for_port(port: u16) -> Account {
    Account {
        id: "acc1".into(),
        name: "alice@localhost".into(),
        relay: String::new(),
        host: "localhost".into(),
        port,
        security: Security::None,
        user: "alice".into(),
        pinned_cert: None,
        policy: Policy::default(),
        relay_token: None,
        remember_password: false,
        auth: Default::default(),
        auth_learned: None,
        oauth: None,
    }
}

fn small_mails(n: usize) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|i| {
            format!("From: a@example.org\r\nSubject: number {i}\r\n\r\nbody {i}\r\n").into_bytes()
        })
        .collect()
}

#[tokio::test]
async fn a_server_without_top_in_capa_lists_sizes_only() {
    let messages = small_mails(3);
    let server = Scripted::start(Some("USER\r\nUIDL\r\n"), Top::Refuse, messages.clone()).await;
    let acc = account_for_port(server.port);
    let store = MemoryStore::default();
    let list = listing(server.port, &store, &acc).await;
    assert_eq!(list.len(), 3);
    for (m, raw) in list.iter().zip(&messages) {
        assert_eq!(m.size, raw.len() as u64);
        assert_eq!(m.summary.size, m.size);
        assert_eq!(m.summary.subject, "");
        assert_eq!(m.state, ServerState::New);
    }
    let commands = server.commands();
    assert!(
        !commands.iter().any(|c| c.starts_with("TOP")),
        "{commands:?}"
    );
    assert!(
        !commands.iter().any(|c| c.starts_with("RETR")),
        "{commands:?}"
    );
    assert_eq!(commands.last().map(String::as_str), Some("QUIT"));

    // Choices work without TOP too.
    let report = triage(
        server.port,
        &store,
        &acc,
        &[
            ("id-2".into(), Choice::Download),
            ("id-3".into(), Choice::Skip),
        ],
    )
    .await;
    assert_eq!((report.downloaded, report.skipped), (1, 1));
    assert_eq!(support::stored_raws(&store), vec![messages[1].clone()]);
}

#[tokio::test]
async fn a_server_that_refuses_top_lists_sizes_only_after_two_tries() {
    // No CAPA at all: the client assumes TOP (RFC 2449 defaults), the server refuses it.
    let messages = small_mails(20);
    let server = Scripted::start(None, Top::Refuse, messages.clone()).await;
    let acc = account_for_port(server.port);
    let list = listing(server.port, &MemoryStore::default(), &acc).await;
    assert_eq!(list.len(), 20);
    assert!(list.iter().all(|m| m.summary.subject.is_empty()));
    assert!(list
        .iter()
        .zip(&messages)
        .all(|(m, raw)| m.size == raw.len() as u64));
    let tops = server
        .commands()
        .iter()
        .filter(|c| c.starts_with("TOP"))
        .count();
    assert_eq!(tops, 2, "{:?}", server.commands());
}

#[tokio::test]
async fn endless_headers_are_cut_not_kept() {
    // 2 MiB of header lines, then one header of 1 MiB without any line end in it, then a
    // normal message after both.
    let mut long = b"Subject: long one\r\nFrom: a@example.org\r\n".to_vec();
    for i in 0..2048 {
        long.extend_from_slice(format!("X-Filler-{i}: ").as_bytes());
        long.extend_from_slice(&[b'x'; 1000]);
        long.extend_from_slice(b"\r\n");
    }
    long.extend_from_slice(b"\r\nbody\r\n");
    let mut one_line = b"X-Huge: ".to_vec();
    one_line.extend_from_slice(&vec![b'y'; 1024 * 1024]);
    one_line.extend_from_slice(b"\r\n\r\nbody\r\n");
    let mut messages = vec![long, one_line];
    messages.extend(small_mails(1));
    let server = Scripted::start(
        Some("USER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n"),
        Top::Headers,
        messages.clone(),
    )
    .await;
    let acc = account_for_port(server.port);
    let list = listing(server.port, &MemoryStore::default(), &acc).await;
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].summary.subject, "long one");
    assert_eq!(list[0].size, messages[0].len() as u64);
    assert_eq!(list[0].summary.size, messages[0].len() as u64);
    assert_eq!(list[1].summary.subject, "");
    assert_eq!(list[1].size, messages[1].len() as u64);
    assert_eq!(list[2].summary.subject, "number 1");
}
