//! TLS failures as the user reads them, against an in-process TLS server: a self-made
//! certificate authority's certificate used by a server (`openssl req -x509` defaults), a
//! pinned one, and a connection cut without TLS close_notify.

use std::sync::Arc;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use postino_pop3::server::{serve, Mailbox, MailboxMessage};
use postino_pop3::tls::{fingerprint_sha256, CertProblem};
use postino_pop3::{connect, ConnectOptions, Error, Secret, Security};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::DuplexStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// A certificate for "localhost" with basic constraints CA:TRUE, as `openssl req -x509` makes
/// by default: self-signed and a certificate authority's.
fn ca_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

fn acceptor(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> futures_rustls::TlsAcceptor {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    futures_rustls::TlsAcceptor::from(Arc::new(config))
}

fn mailbox() -> Mailbox {
    Mailbox {
        user: "demo".into(),
        password: Secret::new("demo".into()),
        messages: vec![MailboxMessage {
            uidl: "one".into(),
            raw: b"Subject: x\r\n\r\nhi\r\n".to_vec(),
        }],
    }
}

/// Our POP3 server behind TLS with `cert` on one end of a pipe; the other end for the client.
fn tls_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (Compat<DuplexStream>, tokio::task::JoinHandle<()>) {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let acceptor = acceptor(cert, key);
    let task = tokio::spawn(async move {
        // The client may refuse the certificate: then the handshake fails here.
        if let Ok(tls) = acceptor.accept(server_end.compat()).await {
            let _ = serve(tls, &mailbox()).await;
        }
    });
    (client_end.compat(), task)
}

#[tokio::test]
async fn a_self_made_authority_certificate_is_refused_in_a_sentence_with_its_fingerprint() {
    let (cert, key) = ca_certificate();
    let fp = fingerprint_sha256(cert.as_ref());
    let (stream, server) = tls_server(cert, key);
    let opts = ConnectOptions::new("localhost", Security::Tls);
    let err = connect(stream, &opts).await.err().expect("refused");
    let Error::Certificate(cert_err) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(cert_err.problem, CertProblem::AuthorityAsServer);
    assert_eq!(cert_err.fingerprint_to_pin(), Some(fp.as_str()));
    assert_eq!(
        err.to_string(),
        format!(
            "the server's certificate is made for a certificate authority, not for a server \
             (as `openssl req -x509` makes by default), so no authority vouches for it; its \
             SHA-256 fingerprint is {fp}: pin it only if it is the one your server shows"
        )
    );
    assert!(!err.to_string().contains("OtherError"));
    server.await.unwrap();
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_whatever_its_extensions() {
    let (cert, key) = ca_certificate();
    let fp = fingerprint_sha256(cert.as_ref());
    let (stream, server) = tls_server(cert, key);
    let mut opts = ConnectOptions::new("localhost", Security::Tls);
    opts.pinned_cert = Some(fp);
    let mut client = connect(stream, &opts).await.unwrap();
    client
        .login("demo", &Secret::new("demo".into()))
        .await
        .unwrap();
    assert_eq!(client.stat().await.unwrap().count, 1);
    client.quit().await.unwrap();
    server.await.unwrap();
}

/// A TLS connection cut without close_notify reads as the same "connection closed" as a plain
/// one, not as rustls' "peer closed connection without sending TLS close_notify: https://...".
#[tokio::test]
async fn a_tls_connection_cut_reads_as_connection_closed() {
    let (cert, key) = ca_certificate();
    let fp = fingerprint_sha256(cert.as_ref());
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let acceptor = acceptor(cert, key);
    let server = tokio::spawn(async move {
        let mut tls = acceptor.accept(server_end.compat()).await.unwrap();
        tls.write_all(b"+OK ready\r\n").await.unwrap();
        tls.flush().await.unwrap();
        let mut buf = [0u8; 64];
        let n = tls.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"CAPA\r\n");
        // Drop the TCP stream without close_notify.
        let (inner, _) = tls.into_inner();
        drop(inner);
    });
    let mut opts = ConnectOptions::new("localhost", Security::Tls);
    opts.pinned_cert = Some(fp);
    let err = connect(client_end.compat(), &opts).await.err().unwrap();
    assert!(matches!(err, Error::Closed), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the server closed the connection unexpectedly"
    );
    server.await.unwrap();
}
