//! The client against a real Dovecot: implicit TLS, STLS, pinning, certificate errors, login
//! failures, and every fixture retrieved byte for byte.

use postino_pop3::tls::CertProblem;
use postino_pop3::{connect, ConnectOptions, Error, ResponseCode, Secret, Security};
use postino_testkit::{fixtures, workspace_root, Dovecot, DovecotOptions};
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
