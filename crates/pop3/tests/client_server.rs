//! Our client against our own server (the demo mailbox's), over an in-memory pipe: the two
//! sides agree on login, listings and dot-stuffed bodies.

use postino_pop3::server::{serve, serve_with, Behaviour, Mailbox, MailboxMessage, UNICODE_NOTICE};
use postino_pop3::{
    connect, AuthChoice, AuthMethod, ConnectOptions, Error, Mechanism, Secret, Security,
};
use tokio::io::DuplexStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

fn mailbox() -> Mailbox {
    Mailbox {
        user: "demo".into(),
        password: Secret::new("demo".into()),
        messages: vec![
            MailboxMessage {
                uidl: "one".into(),
                raw: b"Subject: first\r\n\r\nhello\r\n".to_vec(),
            },
            MailboxMessage {
                uidl: "two".into(),
                raw: b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n".to_vec(),
            },
        ],
    }
}

#[tokio::test]
async fn client_reads_what_the_server_holds() {
    let (client_end, server_end) = tokio::io::duplex(1024);
    let mb = mailbox();
    let server = tokio::spawn(async move { serve(server_end.compat(), &mb).await });

    let opts = ConnectOptions::new("localhost", Security::None);
    let mut client = connect(client_end.compat(), &opts).await.unwrap();
    assert!(client.capabilities().pipelining && client.capabilities().uidl);
    let bad = client.login("demo", &Secret::new("nope".into())).await;
    assert!(matches!(bad, Err(Error::LoginFailed { .. })));
    client
        .login("demo", &Secret::new("demo".into()))
        .await
        .unwrap();
    let uidls = client.uidl_all().await.unwrap();
    assert_eq!(uidls, [(1, "one".to_string()), (2, "two".to_string())]);
    for (i, want) in mailbox().messages.iter().enumerate() {
        let mut got = Vec::new();
        client
            .retr(i as u32 + 1, &mut |c| {
                got.extend_from_slice(c);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(got, want.raw);
    }
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}

/// Our server, behaving as `behaviour` says, on an in-memory pipe; the client connected with
/// "no encryption" to this machine (so a fallback may send the password itself).
async fn session_with(
    behaviour: Behaviour,
    mb: Mailbox,
) -> (
    postino_pop3::Client<postino_pop3::MaybeTls<Compat<DuplexStream>>>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move { serve_with(server_end.compat(), &mb, behaviour).await });
    let opts = ConnectOptions::new("localhost", Security::None);
    let client = connect(client_end.compat(), &opts).await.unwrap();
    (client, server)
}

/// Like Cyrus with saslauthd or Dovecot with hashed passwords: SCRAM, SCRAM-SHA-1 and CRAM-MD5
/// listed, and refused whatever the password.
fn hashed_password_server() -> Behaviour {
    Behaviour {
        sasl: ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN"]
            .map(String::from)
            .to_vec(),
        ..Behaviour::default()
    }
}

#[tokio::test]
async fn a_server_listing_scram_that_refuses_it_is_logged_in_with_plain() {
    let (mut client, server) = session_with(hashed_password_server(), mailbox()).await;
    let method = client
        .login("demo", &Secret::new("demo".into()))
        .await
        .unwrap();
    assert_eq!(method, AuthMethod::Sasl(Mechanism::Plain));
    assert_eq!(
        client.refused_before_login(),
        [AuthMethod::Sasl(Mechanism::ScramSha256)]
    );
    assert_eq!(client.stat().await.unwrap().count, 2);
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_learned_method_goes_first_and_nothing_is_refused() {
    let (mut client, server) = session_with(hashed_password_server(), mailbox()).await;
    let plain = AuthMethod::Sasl(Mechanism::Plain);
    let method = client
        .login_with(
            "demo",
            &Secret::new("demo".into()),
            AuthChoice::Automatic,
            Some(plain),
        )
        .await
        .unwrap();
    assert_eq!(method, plain);
    assert!(client.refused_before_login().is_empty());
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_wrong_password_gets_one_message_naming_the_methods_tried() {
    let (mut client, server) = session_with(hashed_password_server(), mailbox()).await;
    let err = client
        .login("demo", &Secret::new("wrong".into()))
        .await
        .unwrap_err();
    // PLAIN refused with [AUTH] is conclusive: USER/PASS is not tried with the same password.
    assert_eq!(
        err.to_string(),
        "the server refused the login: Authentication failed. (tried SCRAM-SHA-256 and PLAIN)"
    );
    assert!(matches!(err, Error::LoginFailed { .. }) && !err.is_temporary());
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_server_that_hangs_up_after_a_refusal_names_the_method_to_choose() {
    let behaviour = Behaviour {
        max_login_failures: Some(1),
        ..hashed_password_server()
    };
    let (mut client, server) = session_with(behaviour, mailbox()).await;
    let err = client
        .login("demo", &Secret::new("demo".into()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server refused the login: the server refused SCRAM-SHA-256, then closed the \
         connection before PLAIN could be tried; if the password is right, choose PLAIN as the \
         login method for this account"
    );
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_chosen_method_is_the_only_one_tried() {
    let (mut client, server) = session_with(hashed_password_server(), mailbox()).await;
    let err = client
        .login_with(
            "demo",
            &Secret::new("demo".into()),
            AuthChoice::Only(AuthMethod::Sasl(Mechanism::CramMd5)),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server refused the login: Authentication failed."
    );
    drop(client);
    server.await.unwrap().unwrap();
}

/// RFC 6856: Courier announces UTF8 and, unless the client sends it, replaces a message with
/// UTF-8 in its header by a notice; deleting after download would then lose the original.
#[tokio::test]
async fn utf8_is_sent_when_offered_and_the_original_message_arrives() {
    let raw = "Subject: Grüße aus Köln\r\nFrom: jürgen@example.de\r\n\r\nHallo\r\n".as_bytes();
    let mb = Mailbox {
        messages: vec![MailboxMessage {
            uidl: "u1".into(),
            raw: raw.to_vec(),
        }],
        ..mailbox()
    };
    let behaviour = Behaviour {
        utf8: true,
        ..Behaviour::default()
    };
    let (mut client, server) = session_with(behaviour, mb).await;
    assert!(client.capabilities().utf8 && client.capabilities().utf8_user);
    client
        .login("demo", &Secret::new("demo".into()))
        .await
        .unwrap();
    assert!(client.utf8_enabled());
    let mut got = Vec::new();
    client
        .retr(1, &mut |c| {
            got.extend_from_slice(c);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(got, raw);
    assert_ne!(got, UNICODE_NOTICE);
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_server_without_uidl_is_said_to_lack_it() {
    let behaviour = Behaviour {
        no_uidl: true,
        ..Behaviour::default()
    };
    let (mut client, server) = session_with(behaviour, mailbox()).await;
    assert!(!client.capabilities().uidl);
    client
        .login("demo", &Secret::new("demo".into()))
        .await
        .unwrap();
    let err = client.uidl_all().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server does not support UIDL (unique message ids), so Postino cannot tell by \
         itself which messages it already has"
    );
    // The session goes on: LIST still works.
    assert_eq!(client.list_all().await.unwrap().len(), 2);
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_against_a_plain_port_says_the_port_does_not_speak_tls() {
    let (client_end, server_end) = tokio::io::duplex(4096);
    let mb = mailbox();
    let server = tokio::spawn(async move { serve(server_end.compat(), &mb).await });
    let opts = ConnectOptions::new("localhost", Security::Tls);
    let err = connect(client_end.compat(), &opts).await.err().unwrap();
    assert_eq!(
        err.to_string(),
        "this port does not speak TLS: try STARTTLS on port 110, or check the port"
    );
    let _ = server.await;
}
