//! One call to a provider's token endpoint (RFC 6749 section 3.2): a form POST over HTTPS
//! (HTTP/1.1, hyper, rustls with the webpki roots), under one deadline for connecting, TLS,
//! sending and reading, with a bounded answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use axum::http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use postino_pop3::secret::Secret;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The largest answer read from a token endpoint.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Why a call did not get an answer.
#[derive(Debug)]
pub enum CallError {
    /// The deadline passed.
    Timeout,
    /// Connecting, TLS or HTTP failed (what happened, without secrets).
    Failed(String),
}

/// The TLS client settings for token endpoints.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        })
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// POST `form` to `url`; the status and the body.
pub async fn post_form(
    url: &Uri,
    form: &[(&str, &Secret<String>)],
    tls: &Arc<rustls::ClientConfig>,
    deadline: Duration,
) -> Result<(StatusCode, Bytes), CallError> {
    tokio::time::timeout(deadline, call(url, encode_form(form), tls))
        .await
        .map_err(|_| CallError::Timeout)?
}

async fn call(
    url: &Uri,
    form: Secret<String>,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(StatusCode, Bytes), CallError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| CallError::Failed(format!("{what}: {e}"));
    let host = url
        .host()
        .ok_or_else(|| CallError::Failed("no host".into()))?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let https = url.scheme_str() == Some("https");
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = url
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_else(|| host.to_owned());
    let path = url.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let tcp = TcpStream::connect((bare_host, port))
        .await
        .map_err(|e| failed("connect", &e))?;
    let _ = tcp.set_nodelay(true);
    let request = Request::post(path)
        .header(HOST, authority)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .header(
            USER_AGENT,
            concat!("postino-relay/", env!("CARGO_PKG_VERSION")),
        )
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::from(form.expose().clone())))
        .map_err(|e| failed("request", &e))?;
    if https {
        let name =
            ServerName::try_from(bare_host.to_owned()).map_err(|e| failed("server name", &e))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| failed("TLS", &e))?;
        exchange(TokioIo::new(stream), request).await
    } else {
        exchange(TokioIo::new(tcp), request).await
    }
}

async fn exchange<I>(io: I, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), CallError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let failed = |what: &str, e: &dyn std::fmt::Display| CallError::Failed(format!("{what}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| failed("HTTP", &e))?;
    // The connection is driven beside the request, and stopped with it (deadline included).
    let _connection = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed("HTTP", &e))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| failed("reading the answer", &e))?
        .to_bytes();
    Ok((status, body))
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are, the rest %XX.
fn encode_form(form: &[(&str, &Secret<String>)]) -> Secret<String> {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v.expose())))
        .collect();
    Secret::new(body.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_percent_encoded() {
        let a = Secret::new("a b&c=d/é".to_string());
        let b = Secret::new("plain-1.2_3~".to_string());
        assert_eq!(
            encode_form(&[("x", &a), ("y", &b)]).expose(),
            "x=a%20b%26c%3Dd%2F%C3%A9&y=plain-1.2_3~"
        );
    }
}
