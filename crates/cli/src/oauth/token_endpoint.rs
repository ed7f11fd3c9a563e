//! One call to a provider's token endpoint (RFC 6749 section 3.2): a form POST over HTTPS
//! (HTTP/1.1, hyper, rustls with the webpki roots), under one deadline for connecting, TLS,
//! sending and reading, with a bounded answer; the answer read as RFC 6749 section 5.
//!
//! The same stack and shape as the relay's `oauth/token_endpoint.rs` (the relay is a binary
//! of its own, so the code is not shared yet).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use postino_pop3::Secret;
use postino_sync::untrusted::display_text;
use rustls::pki_types::ServerName;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The largest answer read from a token endpoint.
const MAX_ANSWER: usize = 64 * 1024;
/// Connecting, TLS, sending and reading one answer.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// What a token endpoint granted (RFC 6749 section 5.1).
#[derive(Debug)]
pub struct Grant {
    pub access_token: Secret<String>,
    /// A new refresh token: always at sign-in, sometimes at a refresh (rotation).
    pub refresh_token: Option<Secret<String>>,
    /// Seconds the access token lives, if said.
    pub expires_in: Option<i64>,
}

/// Why no grant.
#[derive(Debug)]
pub enum TokenError {
    /// The endpoint answered with an RFC 6749 section 5.2 error (`invalid_grant`: the refresh
    /// token was revoked or expired): signing in again is the way on.
    Refused(String),
    /// No usable answer: the network, a timeout, a server error. Another run may do.
    Unreachable(String),
}

#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

/// POST `form` to `url` and read the grant.
pub async fn request(url: &str, form: &[(&str, &Secret<String>)]) -> Result<Grant, TokenError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| TokenError::Unreachable(format!("{url}: {e}")))?;
    let (status, body) = tokio::time::timeout(DEADLINE, call(&uri, encode_form(form)))
        .await
        .map_err(|_| {
            TokenError::Unreachable(format!(
                "the token endpoint did not answer within {DEADLINE:?}"
            ))
        })??;
    let answer: Option<Answer> = serde_json::from_slice(&body).ok();
    match answer {
        Some(Answer {
            access_token: Some(access_token),
            refresh_token,
            expires_in,
            ..
        }) if status.is_success() && !access_token.is_empty() => Ok(Grant {
            access_token: Secret::new(access_token),
            refresh_token: refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            // A number, or (some providers) a string of digits.
            expires_in: expires_in.and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        }),
        Some(Answer {
            error: Some(error),
            error_description,
            ..
        }) if status.is_client_error() => {
            let mut text = display_text(&error).into_owned();
            if let Some(description) = error_description {
                let description: String = description.chars().take(300).collect();
                text = format!("{text}: {}", display_text(&description));
            }
            Err(TokenError::Refused(text))
        }
        _ if status.is_client_error() => Err(TokenError::Refused(format!("HTTP {status}"))),
        _ => Err(TokenError::Unreachable(format!(
            "the token endpoint answered HTTP {status} without a token"
        ))),
    }
}

async fn call(uri: &Uri, form: Secret<String>) -> Result<(hyper::StatusCode, Bytes), TokenError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| TokenError::Unreachable(format!("{what}: {e}"));
    let host = uri
        .host()
        .ok_or_else(|| TokenError::Unreachable("the token URL has no host".into()))?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_else(|| host.to_owned());
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let tcp = TcpStream::connect((bare_host, port))
        .await
        .map_err(|e| failed("connect", &e))?;
    let _ = tcp.set_nodelay(true);
    let request = Request::post(path)
        .header(HOST, authority)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, concat!("postino/", env!("CARGO_PKG_VERSION")))
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::from(form.expose().clone())))
        .map_err(|e| failed("request", &e))?;
    if https {
        let name =
            ServerName::try_from(bare_host.to_owned()).map_err(|e| failed("server name", &e))?;
        let stream = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|e| failed("TLS", &e))?;
        exchange(TokioIo::new(stream), request).await
    } else {
        // Only loopback gets here (`super::check_endpoint`): tests and local providers.
        exchange(TokioIo::new(tcp), request).await
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
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

async fn exchange<I>(
    io: I,
    request: Request<Full<Bytes>>,
) -> Result<(hyper::StatusCode, Bytes), TokenError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let failed =
        |what: &str, e: &dyn std::fmt::Display| TokenError::Unreachable(format!("{what}: {e}"));
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

/// Percent-encoding for a form or query value: unreserved characters as they are, the rest %XX.
pub fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded`.
fn encode_form(form: &[(&str, &Secret<String>)]) -> Secret<String> {
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
