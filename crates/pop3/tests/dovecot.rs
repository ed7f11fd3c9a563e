//! The client against a real Dovecot: implicit TLS, STLS, pinning, certificate errors, login
//! failures, every fixture retrieved byte for byte, SASL mechanisms, a pipelined download of
//! 1,000 messages, TOP, DELE, RSET and a locked mailbox.

use std::time::Instant;

use postino_pop3::tls::CertProblem;
use postino_pop3::{
    connect, Client, Command, ConnectOptions, Error, MaybeTls, Mechanism, ResponseCode, Secret,
    Security,
};
use postino_testkit::{
    fixtures, generated_mailbox, workspace_root, Dovecot, DovecotExtras, DovecotOptions,
};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

fn mails() -> Vec<Vec<u8>> {
    fixtures(workspace_root().join("tests/fixtures/mail"))
        .into_iter()
        .map(|(_, raw)| raw)
        .collect()
}

fn dovecot(password: &str) -> Dovecot {
    Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: password.into(),
        fixtures: mails(),
    })
    .expect("dovecot starts")
}

async fn tcp(port: u16) -> Compat<TcpStream> {
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect")
        .compat()
}

fn pinned(d: &Dovecot, security: Security) -> ConnectOptions {
    let mut o = ConnectOptions::new("localhost", security);
    o.pinned_cert = Some(d.fingerprint());
    o
}

#[tokio::test]
async fn implicit_tls_retrieves_every_fixture_exactly() {
    let d = dovecot("s3cret");
    let expected = mails();
    let mut client = connect(tcp(d.pop3s_port()).await, &pinned(&d, Security::Tls))
        .await
        .unwrap();
    assert!(client.get_ref().is_encrypted());
    assert!(client.capabilities().uidl && client.capabilities().top);
    client
        .login("alice", &Secret::new("s3cret".into()))
        .await
        .unwrap();

    let stat = client.stat().await.unwrap();
    assert_eq!(stat.count as usize, expected.len());
    let uidls = client.uidl_all().await.unwrap();
    assert_eq!(uidls.len(), expected.len());
    let unique: std::collections::HashSet<_> = uidls.iter().map(|(_, u)| u).collect();
    assert_eq!(unique.len(), expected.len());
    let sizes = client.list_all().await.unwrap();
    assert_eq!(sizes.iter().map(|(_, s)| s).sum::<u64>(), stat.size);

    for (i, want) in expected.iter().enumerate() {
        let mut got = Vec::new();
        let n = client
            .retr(i as u32 + 1, &mut |chunk| {
                got.extend_from_slice(chunk);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(n as usize, got.len());
        assert_eq!(
            sizes[i].1 as usize,
            got.len(),
            "LIST size of message {}",
            i + 1
        );
        assert!(got == *want, "message {} differs from its fixture", i + 1);
    }
    client.quit().await.unwrap();
}

#[tokio::test]
async fn stls_upgrades_and_asks_capabilities_again() {
    let d = dovecot("s3cret");
    let mut client = connect(tcp(d.pop3_port()).await, &pinned(&d, Security::Stls))
        .await
        .unwrap();
    assert!(client.get_ref().is_encrypted());
    // Dovecot offers STLS only before TLS: seeing it gone proves CAPA was asked again.
    assert!(!client.capabilities().stls);
    client
        .login("alice", &Secret::new("s3cret".into()))
        .await
        .unwrap();
    assert_eq!(client.stat().await.unwrap().count as usize, mails().len());
    client.quit().await.unwrap();
}

#[tokio::test]
async fn self_signed_certificate_is_refused_with_its_fingerprint() {
    let d = dovecot("s3cret");
    let opts = ConnectOptions::new("localhost", Security::Tls);
    let err = connect(tcp(d.pop3s_port()).await, &opts)
        .await
        .err()
        .expect("refused");
    match err {
        Error::Certificate(c) => {
            assert_eq!(c.problem, CertProblem::UnknownIssuer);
            assert_eq!(c.fingerprint, Some(d.fingerprint()));
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[tokio::test]
async fn changed_certificate_is_refused_when_pinned() {
    let d = dovecot("s3cret");
    let mut opts = ConnectOptions::new("localhost", Security::Stls);
    let other = postino_pop3::tls::fingerprint_sha256(b"another certificate");
    opts.pinned_cert = Some(other.clone());
    let err = connect(tcp(d.pop3_port()).await, &opts)
        .await
        .err()
        .expect("refused");
    match err {
        Error::Certificate(c) => {
            assert_eq!(c.problem, CertProblem::PinChanged { pinned: other });
            assert_eq!(c.fingerprint, Some(d.fingerprint()));
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_password_is_a_login_failure_not_a_temporary_error() {
    let d = dovecot("s3cret");
    let mut client = connect(tcp(d.pop3s_port()).await, &pinned(&d, Security::Tls))
        .await
        .unwrap();
    let err = client
        .login("alice", &Secret::new("wrong".into()))
        .await
        .unwrap_err();
    match &err {
        Error::LoginFailed { code, text } => {
            assert_eq!(code, &Some(ResponseCode::Auth), "server said {text:?}");
        }
        other => panic!("expected a login failure, got {other:?}"),
    }
    assert!(!err.is_temporary());
}

type TlsClient = Client<MaybeTls<Compat<TcpStream>>>;

async fn tls_session(d: &Dovecot) -> TlsClient {
    connect(tcp(d.pop3s_port()).await, &pinned(d, Security::Tls))
        .await
        .unwrap()
}

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.into())
}

#[tokio::test]
async fn sasl_mechanisms_as_configured_in_dovecot() {
    let d = dovecot("s3cret");
    let count = mails().len() as u32;
    for mechanism in [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
    ] {
        let mut client = tls_session(&d).await;
        client
            .authenticate("alice", &secret("s3cret"), mechanism)
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}; log: {}", d.log_tail(5)));
        assert_eq!(client.stat().await.unwrap().count, count, "{mechanism:?}");
        client.quit().await.unwrap();

        // Dovecot delays each failure from the same address (anvil's auth penalty): check a
        // wrong password for two mechanisms only.
        if !matches!(mechanism, Mechanism::CramMd5 | Mechanism::ScramSha256) {
            continue;
        }
        let mut client = tls_session(&d).await;
        let err = client
            .authenticate("alice", &secret("wrong"), mechanism)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::LoginFailed { .. }),
            "{mechanism:?}: {err:?}"
        );
        assert!(!err.is_temporary(), "{mechanism:?}: {err:?}");
    }
    // The automatic choice is the strongest both sides offer.
    let client = tls_session(&d).await;
    assert_eq!(
        Mechanism::strongest(&client.capabilities().sasl),
        Some(Mechanism::ScramSha256)
    );
}

/// Downloads `numbers` with RETR, keeping `client.window()` commands in flight; returns the
/// messages in order.
async fn pipelined_download(client: &mut TlsClient, numbers: &[u32]) -> Vec<Vec<u8>> {
    let mut next = numbers.iter().copied();
    let mut out = Vec::with_capacity(numbers.len());
    loop {
        while client.in_flight() < client.window() {
            match next.next() {
                Some(n) => client.send_pipelined(Command::Retr(n)).unwrap(),
                None => break,
            }
        }
        if client.in_flight() == 0 {
            return out;
        }
        let mut message = Vec::new();
        let response = client
            .next_response(&mut |chunk| {
                message.extend_from_slice(chunk);
                Ok(())
            })
            .await
            .unwrap();
        assert!(response.status.ok, "{response:?}");
        assert_eq!(response.body_len as usize, message.len());
        out.push(message);
    }
}

#[tokio::test]
async fn pipelined_download_of_a_thousand_messages() {
    let generated = generated_mailbox(1000, 7);
    let d = Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: "s3cret".into(),
        fixtures: generated.clone(),
    })
    .expect("dovecot starts");
    let mut client = tls_session(&d).await;
    client.login("alice", &secret("s3cret")).await.unwrap();
    assert!(
        client.capabilities().pipelining,
        "Dovecot offers PIPELINING"
    );
    assert_eq!(client.window(), postino_pop3::client::PIPELINE_WINDOW);
    let numbers: Vec<u32> = (1..=1000).collect();
    let total: usize = generated.iter().map(Vec::len).sum();

    let started = Instant::now();
    let got = pipelined_download(&mut client, &numbers).await;
    let pipelined = started.elapsed();
    assert_eq!(got.len(), generated.len());
    for (i, (got, want)) in got.iter().zip(&generated).enumerate() {
        assert!(got == want, "message {} differs", i + 1);
    }

    // The same download one command at a time, for comparison.
    let started = Instant::now();
    for &n in &numbers {
        client.retr(n, &mut |_| Ok(())).await.unwrap();
    }
    let sequential = started.elapsed();
    eprintln!(
        "1000 messages, {total} octets, loopback TLS to Dovecot: pipelined {pipelined:?}, \
         one at a time {sequential:?}"
    );
    client.quit().await.unwrap();
}

#[tokio::test]
async fn top_dele_rset_and_quit() {
    let d = dovecot("s3cret");
    let count = mails().len() as u32;
    let mut client = tls_session(&d).await;
    client.login("alice", &secret("s3cret")).await.unwrap();

    // TOP n 0: the header and the blank line only.
    let mut head = Vec::new();
    client
        .top(1, 0, &mut |c| {
            head.extend_from_slice(c);
            Ok(())
        })
        .await
        .unwrap();
    let first = &mails()[0];
    let header_end = first
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header")
        + 4;
    assert_eq!(head, &first[..header_end]);
    let uidl_1 = client.uidl(1).await.unwrap();
    assert_eq!(client.list(1).await.unwrap(), first.len() as u64);

    // DELE then RSET: nothing is removed.
    client.dele(1).await.unwrap();
    assert_eq!(client.stat().await.unwrap().count, count - 1);
    client.rset().await.unwrap();
    client.noop().await.unwrap();
    assert_eq!(client.stat().await.unwrap().count, count);

    // Pipelined DELE with a -ERR in the middle: the other answers stay in step.
    client.send_pipelined(Command::Dele(1)).unwrap();
    client.send_pipelined(Command::Dele(9999)).unwrap();
    client.send_pipelined(Command::Stat).unwrap();
    let mut statuses = Vec::new();
    while client.in_flight() > 0 {
        let r = client.next_response(&mut |_| Ok(())).await.unwrap();
        statuses.push((r.command, r.status.ok));
    }
    assert_eq!(
        statuses,
        [
            (Command::Dele(1), true),
            (Command::Dele(9999), false),
            (Command::Stat, true)
        ]
    );
    client.quit().await.unwrap();

    // QUIT applied the DELE.
    let mut client = tls_session(&d).await;
    client.login("alice", &secret("s3cret")).await.unwrap();
    assert_eq!(client.stat().await.unwrap().count, count - 1);
    let uidls = client.uidl_all().await.unwrap();
    assert!(uidls.iter().all(|(_, u)| *u != uidl_1));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn a_locked_mailbox_is_in_use_and_temporary() {
    let d = Dovecot::start_with(
        &DovecotOptions {
            user: "alice".into(),
            password: "s3cret".into(),
            fixtures: mails(),
        },
        &DovecotExtras {
            pop3_lock_session: true,
            ..DovecotExtras::default()
        },
    )
    .expect("dovecot starts");
    let mut holder = tls_session(&d).await;
    holder.login("alice", &secret("s3cret")).await.unwrap();

    let t = Instant::now();
    let mut second = tls_session(&d).await;
    let err = second
        .login("alice", &secret("s3cret"))
        .await
        .expect_err("the mailbox is locked");
    match &err {
        Error::LoginFailed { code, text } => {
            assert_eq!(code, &Some(ResponseCode::InUse), "server said {text:?}")
        }
        other => panic!("expected a login failure, got {other:?}"),
    }
    assert!(err.is_temporary());
    // Dovecot waits 10 s for the lock before it answers IN-USE.
    eprintln!("IN-USE after {:?}", t.elapsed());
    holder.quit().await.unwrap();
}

/// Issue 19: Dovecot with hashed passwords lists CRAM-MD5 and SCRAM, and refuses them with
/// `-ERR [AUTH] Authentication failed.` whatever the password ("Requested SCRAM-SHA-256 scheme,
/// but we have only SHA256" in its log). The login falls back to PLAIN, which it can check.
#[tokio::test]
async fn dovecot_with_hashed_passwords_refuses_scram_and_plain_logs_in() {
    use base64::Engine as _;
    let d = dovecot("hashed secret");
    let passwd_path = d.dir().join("passwd");
    let passwd = std::fs::read_to_string(&passwd_path).unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        b"hashed secret",
    ));
    let hashed = passwd.replacen("{PLAIN}hashed secret", &format!("{{SHA256}}{hash}"), 1);
    assert_ne!(hashed, passwd);
    std::fs::write(&passwd_path, hashed).unwrap();

    let mut client = tls_session(&d).await;
    assert!(client
        .capabilities()
        .sasl
        .contains(&"SCRAM-SHA-256".to_string()));
    let method = client
        .login("alice", &secret("hashed secret"))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log_tail(20)));
    assert_eq!(method, postino_pop3::AuthMethod::Sasl(Mechanism::Plain));
    assert_eq!(
        client.refused_before_login(),
        [postino_pop3::AuthMethod::Sasl(Mechanism::ScramSha256)]
    );
    assert!(client.stat().await.unwrap().count > 0);
    client.quit().await.unwrap();

    // A wrong password: one message, the methods tried named once.
    let mut client = tls_session(&d).await;
    let err = client.login("alice", &secret("wrong")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server refused the login: Authentication failed. (tried SCRAM-SHA-256 and PLAIN)"
    );
}

/// A stream that keeps a copy of each write, to see what went out together.
struct Writes<S> {
    inner: S,
    log: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl<S: futures::AsyncRead + Unpin> futures::AsyncRead for Writes<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: futures::AsyncWrite + Unpin> futures::AsyncWrite for Writes<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            self.log.lock().unwrap().push(buf[..*n].to_vec());
        }
        poll
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[tokio::test]
async fn the_capa_after_login_goes_out_with_list_and_uidl() {
    let d = dovecot("s3cret");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stream = Writes {
        inner: tcp(d.pop3_port()).await,
        log: log.clone(),
    };
    let mut client = connect(stream, &ConnectOptions::new("127.0.0.1", Security::None))
        .await
        .unwrap();
    client.login("alice", &secret("s3cret")).await.unwrap();
    let (sizes, uidls) = client.list_and_uidl_all().await.unwrap();
    assert_eq!(sizes.len(), mails().len());
    assert_eq!(uidls.unwrap().len(), mails().len());
    let writes: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    // Before the login CAPA goes alone (what it says decides the login); after it, in one
    // write with the listing: one round trip, not two.
    assert_eq!(
        writes.first().map(String::as_str),
        Some("CAPA\r\n"),
        "{writes:?}"
    );
    assert_eq!(
        writes.iter().filter(|w| w.contains("CAPA")).count(),
        2,
        "{writes:?}"
    );
    assert_eq!(
        writes.last().map(String::as_str),
        Some("CAPA\r\nLIST\r\nUIDL\r\n"),
        "{writes:?}"
    );
    // What that CAPA said is what the client holds now.
    let held = client.capabilities().clone();
    assert!(held.pipelining && held.uidl && held.top);
    assert_eq!(&held, client.refresh_capabilities().await.unwrap());
    client.quit().await.unwrap();

    // QUIT right after a login reads the CAPA first, and ends the session cleanly.
    let stream = tcp(d.pop3_port()).await;
    let mut client = connect(stream, &ConnectOptions::new("127.0.0.1", Security::None))
        .await
        .unwrap();
    client.login("alice", &secret("s3cret")).await.unwrap();
    assert_eq!(client.in_flight(), 0, "the owed CAPA is not the caller's");
    client.quit().await.unwrap();
}
