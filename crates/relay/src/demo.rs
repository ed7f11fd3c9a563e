//! The demo mailbox: a POP3 server on loopback, TLS from the first byte, filled with sample
//! mail, so a new user sees the app work without an account.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use postino_pop3::server::{serve, Mailbox, MailboxMessage};
use postino_pop3::Secret;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::compat::TokioAsyncReadCompatExt;
use tracing::{debug, warn};

pub const USER: &str = "demo";
pub const PASSWORD: &str = "demo";

/// A whole demo session may last this long (the sample mailbox downloads in a second).
const SESSION_TIMEOUT: Duration = Duration::from_secs(600);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The sample mails, written with LF in the repository and sent with CRLF.
const SAMPLES: [(&str, &str); 5] = [
    (
        "postino-demo-welcome",
        include_str!("../demo/01-welcome.eml"),
    ),
    (
        "postino-demo-offline",
        include_str!("../demo/02-offline.eml"),
    ),
    ("postino-demo-relay", include_str!("../demo/03-relay.eml")),
    ("postino-demo-picnic", include_str!("../demo/04-picnic.eml")),
    ("postino-demo-recipe", include_str!("../demo/05-recipe.eml")),
];

/// What `GET /v1/demo` answers: how the app reaches the demo mailbox.
#[derive(Debug, Clone, Serialize)]
pub struct DemoInfo {
    pub host: String,
    pub port: u16,
    pub security: &'static str,
    pub user: &'static str,
    pub password: &'static str,
    /// SHA-256 of the self-signed certificate, upper-case hex bytes joined by `:`.
    pub fingerprint: String,
}

/// The running demo mailbox. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct DemoMailbox {
    pub addr: SocketAddr,
    pub info: DemoInfo,
    /// The DER certificate the mailbox presents, for clients that pin it.
    pub certificate: CertificateDer<'static>,
    accept_loop: JoinHandle<()>,
}

impl Drop for DemoMailbox {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// The sample mailbox: user `demo`, password `demo`.
pub fn sample_mailbox() -> Mailbox {
    Mailbox {
        user: USER.into(),
        password: Secret::new(PASSWORD.into()),
        messages: SAMPLES
            .iter()
            .map(|(uidl, text)| MailboxMessage {
                uidl: (*uidl).into(),
                raw: to_crlf(text),
            })
            .collect(),
    }
}

fn to_crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// Start the demo mailbox on 127.0.0.1 with a fresh self-signed certificate for `localhost` and
/// `127.0.0.1`.
pub async fn start() -> std::io::Result<DemoMailbox> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(std::io::Error::other)?;
    let certificate = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], key)
        .map_err(std::io::Error::other)?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let mailbox = Arc::new(sample_mailbox());
    let accept_loop = tokio::spawn(async move {
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(error = %e, "demo mailbox: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let mailbox = Arc::clone(&mailbox);
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => return debug!(error = %e, "demo mailbox: TLS handshake failed"),
                    Err(_) => return debug!("demo mailbox: TLS handshake timed out"),
                };
                match tokio::time::timeout(SESSION_TIMEOUT, serve(tls.compat(), &mailbox)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => debug!(error = %e, "demo mailbox: session ended"),
                    Err(_) => debug!("demo mailbox: session timed out"),
                }
            });
        }
    });

    let info = DemoInfo {
        host: addr.ip().to_string(),
        port: addr.port(),
        security: "tls",
        user: USER,
        password: PASSWORD,
        fingerprint: postino_pop3::tls::fingerprint_sha256(&certificate),
    };
    Ok(DemoMailbox {
        addr,
        info,
        certificate,
        accept_loop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_crlf_mails_with_headers() {
        let mailbox = sample_mailbox();
        assert!((4..=6).contains(&mailbox.messages.len()));
        for m in &mailbox.messages {
            let text = std::str::from_utf8(&m.raw).unwrap();
            assert!(!text.replace("\r\n", "").contains('\n'), "{}", m.uidl);
            for header in ["From: ", "To: ", "Subject: ", "Date: ", "Message-ID: "] {
                assert!(text.contains(header), "{} lacks {header}", m.uidl);
            }
            assert!(text.contains("\r\n\r\n"));
            assert!(text.ends_with("\r\n"));
        }
        let welcome = std::str::from_utf8(&mailbox.messages[0].raw).unwrap();
        assert!(welcome.contains("demo mailbox"));
    }
}
