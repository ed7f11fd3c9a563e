//! Our client against our own server (the demo mailbox's), over an in-memory pipe: the two
//! sides agree on login, listings and dot-stuffed bodies.

use postino_pop3::server::{serve, Mailbox, MailboxMessage};
use postino_pop3::{connect, ConnectOptions, Error, Secret, Security};
use tokio_util::compat::TokioAsyncReadCompatExt;

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
