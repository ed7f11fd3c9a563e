//! The runner against `postino_pop3::server` behaving like real servers: one that
//! lists SCRAM its password backend cannot check (Cyrus with saslauthd, Dovecot with hashed
//! passwords), and one without UIDL.

use postino_pop3::server::{serve_with, Behaviour, Mailbox, MailboxMessage};
use postino_pop3::{AuthMethod, Mechanism, Secret, Security};
use postino_sync::conformance::sample_account;
use postino_sync::runner::HEADER_ID_PREFIX;
use postino_sync::{Account, Connector, MemoryStore, Store, SyncError, SyncOptions};
use tokio::io::DuplexStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// Each connection gets a fresh session of our server, behaving as `behaviour` says.
struct InMemory {
    mailbox: Mailbox,
    behaviour: Behaviour,
}

impl Connector for InMemory {
    type Stream = Compat<DuplexStream>;

    async fn connect(&mut self) -> Result<Self::Stream, SyncError> {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (mailbox, behaviour) = (self.mailbox.clone(), self.behaviour.clone());
        tokio::spawn(async move {
            let _ = serve_with(server.compat(), &mailbox, behaviour).await;
        });
        Ok(client.compat())
    }
}

fn mailbox() -> Mailbox {
    Mailbox {
        user: "user".into(),
        password: Secret::new("pw".into()),
        messages: (1..=3)
            .map(|i| MailboxMessage {
                uidl: format!("u{i}"),
                raw: format!("Subject: {i}\r\nMessage-ID: <{i}@x>\r\n\r\nbody {i}\r\n")
                    .into_bytes(),
            })
            .collect(),
    }
}

fn account() -> Account {
    Account {
        host: "localhost".into(),
        port: 110,
        security: Security::None,
        ..sample_account("acct")
    }
}

async fn try_sync(
    connector: &mut InMemory,
    store: &MemoryStore,
    account: &Account,
) -> Result<postino_sync::SyncReport, SyncError> {
    postino_sync::sync_account(
        connector,
        store,
        account,
        &Secret::new("pw".into()),
        &SyncOptions::new(1_750_000_000),
        &mut |_| {},
    )
    .await
}

async fn sync(
    connector: &mut InMemory,
    store: &MemoryStore,
    account: &Account,
) -> postino_sync::SyncReport {
    try_sync(connector, store, account).await.unwrap()
}

#[tokio::test]
async fn scram_refused_plain_works_and_the_report_says_so_and_the_next_sync_starts_there() {
    let mut server = InMemory {
        mailbox: mailbox(),
        behaviour: Behaviour {
            sasl: ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN"]
                .map(String::from)
                .to_vec(),
            ..Behaviour::default()
        },
    };
    let store = MemoryStore::default();
    let mut account = account();
    let report = sync(&mut server, &store, &account).await;
    assert_eq!(report.downloaded, 3);
    let plain = AuthMethod::Sasl(Mechanism::Plain);
    assert_eq!(report.auth_used, Some(plain));
    assert_eq!(
        report.auth_refused,
        [AuthMethod::Sasl(Mechanism::ScramSha256)]
    );

    // The app and the CLI remember it; the next login goes straight to PLAIN.
    account.auth_learned = report.auth_used;
    let again = sync(&mut server, &store, &account).await;
    assert_eq!(again.auth_used, Some(plain));
    assert!(again.auth_refused.is_empty());
    assert_eq!(again.already_stored, 3);
}

#[tokio::test]
async fn without_uidl_messages_are_told_apart_by_their_headers_and_never_fetched_twice() {
    let mut server = InMemory {
        mailbox: mailbox(),
        behaviour: Behaviour {
            no_uidl: true,
            ..Behaviour::default()
        },
    };
    let store = MemoryStore::default();
    let account = account();
    let report = sync(&mut server, &store, &account).await;
    assert!(report.ids_from_headers);
    assert_eq!(report.downloaded, 3);
    let ledger = store.ledger(&account.id).await.unwrap();
    assert!(ledger.iter().all(|e| e.uidl.starts_with(HEADER_ID_PREFIX)));

    let again = sync(&mut server, &store, &account).await;
    assert_eq!((again.downloaded, again.already_stored), (0, 3));
}

#[tokio::test]
async fn a_server_that_stops_giving_uidls_downloads_nothing_twice() {
    let mut server = InMemory {
        mailbox: mailbox(),
        behaviour: Behaviour::default(),
    };
    let store = MemoryStore::default();
    let account = account();
    assert_eq!(sync(&mut server, &store, &account).await.downloaded, 3);

    // The same mailbox, now without UIDL: its messages would get new names and come again.
    server.behaviour.no_uidl = true;
    let err = try_sync(&mut server, &store, &account).await.unwrap_err();
    assert!(err.to_string().contains("gave message ids before"), "{err}");
    assert_eq!(
        store.summaries().await.unwrap().len(),
        3,
        "nothing stored twice"
    );
}

#[tokio::test]
async fn header_ids_carry_the_size_so_same_headers_are_not_the_same_message() {
    let mut mb = mailbox();
    // Two messages with the same headers and different bodies.
    for (i, body) in ["short", "a longer body"].iter().enumerate() {
        mb.messages.push(MailboxMessage {
            uidl: format!("t{i}"),
            raw: format!("Subject: twin\r\nMessage-ID: <t@x>\r\n\r\n{body}\r\n").into_bytes(),
        });
    }
    let mut server = InMemory {
        mailbox: mb,
        behaviour: Behaviour {
            no_uidl: true,
            ..Behaviour::default()
        },
    };
    let store = MemoryStore::default();
    let account = account();
    assert_eq!(sync(&mut server, &store, &account).await.downloaded, 5);
    let ledger = store.ledger(&account.id).await.unwrap();
    assert!(
        ledger.iter().all(|e| !e.uidl.contains('#')),
        "different sizes, different names"
    );
    // The first twin leaves the server: the second keeps its own name and is not taken for it.
    server.mailbox.messages.retain(|m| m.uidl != "t0");
    let again = sync(&mut server, &store, &account).await;
    assert_eq!((again.downloaded, again.already_stored), (0, 4));
}

#[tokio::test]
async fn no_encryption_or_starttls_on_port_995_is_refused_at_once() {
    let mut server = InMemory {
        mailbox: mailbox(),
        behaviour: Behaviour::default(),
    };
    let store = MemoryStore::default();
    for security in [Security::None, Security::Stls] {
        let account = Account {
            port: 995,
            security,
            ..account()
        };
        // The in-memory server would answer in plain text: only the settings check stops this.
        let err = try_sync(&mut server, &store, &account).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}",
                SyncError::Pop3(postino_pop3::Error::SecurityMismatch(
                    postino_pop3::error::TLS_ONLY_PORT
                ))
            )
        );
        assert!(
            err.to_string().contains("expects TLS from the first byte"),
            "{err}"
        );
    }
}
