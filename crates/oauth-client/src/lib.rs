//! One call to an OAuth 2.0 token endpoint (RFC 6749 section 3.2): a form POST over HTTPS
//! (HTTP/1.1, hyper, rustls with the webpki roots), under one deadline for connecting, TLS,
//! sending and reading, with a bounded answer. Used by the relay (its relay-held clients) and by
//! the `postino` command (`postino login`, refreshes); each reads the answer and words the
//! failures its own way.
//!
//! - Plain `http://` only to this machine (a test's provider, or a local one), never across a
//!   network; the callers check their settings too, when they load them.
//! - A redirect is not followed: its status comes back like any other (RFC 6749 section 3.2
//!   has the client POST to the endpoint itself).
//! - The form is [`Secret`]s, and so is its encoding: no token, code or client secret reaches a
//!   `Debug`, a log or an error.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use postino_pop3::Secret;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The largest answer read from a token endpoint.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Why a call did not get an answer.
#[derive(Debug)]
pub enum CallError {
    /// The URL names no host.
    NoHost,
    /// Plain `http://` (or another scheme) to a host beyond this machine.
    NotHttps,
    /// The deadline passed.
    Timeout,
    /// Connecting, TLS or HTTP failed (what happened, without secrets).
    Failed(String),
}

/// The TLS client settings for token endpoints: the webpki roots, HTTP/1.1 by ALPN.
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

/// POST `form` to `url` within `deadline`, as `user_agent`; the status and the body (at most
/// [`MAX_ANSWER`] bytes).
pub async fn post_form(
    url: &Uri,
    form: &[(&str, &Secret<String>)],
    tls: &Arc<rustls::ClientConfig>,
    deadline: Duration,
    user_agent: &str,
) -> Result<(StatusCode, Bytes), CallError> {
    tokio::time::timeout(deadline, call(url, encode_form(form), tls, user_agent))
        .await
        .map_err(|_| CallError::Timeout)?
}

/// The hosts that are this machine, to which plain `http://` is allowed.
const LOOPBACK: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "::1"];

async fn call(
    url: &Uri,
    form: Secret<String>,
    tls: &Arc<rustls::ClientConfig>,
    user_agent: &str,
) -> Result<(StatusCode, Bytes), CallError> {
    let host = url.host().ok_or(CallError::NoHost)?;
    let https = match url.scheme_str() {
        Some("https") => true,
        Some("http") if LOOPBACK.iter().any(|h| host.eq_ignore_ascii_case(h)) => false,
        _ => return Err(CallError::NotHttps),
    };
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
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
        .header(USER_AGENT, user_agent)
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

/// What failed, and how (the error of a library, which never holds the form).
fn failed(what: &str, e: &dyn std::fmt::Display) -> CallError {
    CallError::Failed(format!("{what}: {e}"))
}

async fn exchange<I>(io: I, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), CallError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
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

/// Percent-encoding for a form or query value: unreserved characters (RFC 3986 section 2.3) as
/// they are, the rest %XX.
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

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    #[test]
    fn forms_are_percent_encoded() {
        let a = Secret::new("a b&c=d/é".to_string());
        let b = Secret::new("plain-1.2_3~".to_string());
        assert_eq!(
            encode_form(&[("x", &a), ("y", &b)]).expose(),
            "x=a%20b%26c%3Dd%2F%C3%A9&y=plain-1.2_3~"
        );
    }

    const SECRET: &str = "s3cret-refresh-token";

    /// A token endpoint on loopback that reads one request and answers `answer` (none: it
    /// stays silent); the request it read.
    async fn endpoint(answer: Option<Vec<u8>>) -> (Uri, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.ends_with(SECRET.as_bytes()) {
                let n = tcp.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&buf[..n]);
            }
            match answer {
                Some(answer) => {
                    // The client may close first (an answer over the limit).
                    let _ = tcp.write_all(&answer).await;
                    let _ = tcp.shutdown().await;
                }
                None => tokio::time::sleep(Duration::from_secs(30)).await,
            }
            String::from_utf8(request).unwrap()
        });
        (url.parse().unwrap(), served)
    }

    fn answer(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut answer = format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(body);
        answer
    }

    async fn post(url: &Uri, deadline: Duration) -> Result<(StatusCode, Bytes), CallError> {
        let grant_type = Secret::new("refresh_token".to_owned());
        let token = Secret::new(SECRET.to_owned());
        let form = [("grant_type", &grant_type), ("refresh_token", &token)];
        post_form(url, &form, &tls_config(), deadline, "postino-test/1").await
    }

    #[tokio::test]
    async fn the_form_is_posted_and_the_answer_read() {
        let (url, served) = endpoint(Some(answer("200 OK", "", b"{\"access_token\":\"a\"}"))).await;
        let (status, body) = post(&url, Duration::from_secs(10)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body[..], b"{\"access_token\":\"a\"}");
        let request = served.await.unwrap().to_ascii_lowercase();
        assert!(request.starts_with("post /token http/1.1\r\n"), "{request}");
        assert!(request.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"));
        assert!(request.contains("\r\naccept: application/json\r\n"));
        assert!(request.contains("\r\nuser-agent: postino-test/1\r\n"));
        assert!(request.ends_with(&format!(
            "\r\n\r\ngrant_type=refresh_token&refresh_token={SECRET}"
        )));
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let location = "location: http://127.0.0.1:1/elsewhere\r\n";
        let (url, _served) = endpoint(Some(answer("307 Temporary Redirect", location, b""))).await;
        let (status, body) = post(&url, Duration::from_secs(10)).await.unwrap();
        assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn the_answer_is_bounded() {
        let at_most = vec![b'x'; MAX_ANSWER];
        let (url, _served) = endpoint(Some(answer("200 OK", "", &at_most))).await;
        let (_, body) = post(&url, Duration::from_secs(10)).await.unwrap();
        assert_eq!(body.len(), MAX_ANSWER);

        let over = vec![b'x'; MAX_ANSWER + 1];
        let (url, _served) = endpoint(Some(answer("200 OK", "", &over))).await;
        match post(&url, Duration::from_secs(10)).await {
            Err(CallError::Failed(why)) => assert!(why.starts_with("reading the answer"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_silent_endpoint_meets_the_deadline_and_no_secret_is_shown() {
        let (url, _served) = endpoint(None).await;
        let error = post(&url, Duration::from_millis(300)).await.unwrap_err();
        assert!(matches!(error, CallError::Timeout), "{error:?}");
        assert!(!format!("{error:?}").contains(SECRET));
    }

    #[tokio::test]
    async fn plain_http_is_for_this_machine_only() {
        for url in [
            "http://oauth2.googleapis.com/token",
            "ftp://127.0.0.1/token",
        ] {
            let error = post(&url.parse().unwrap(), Duration::from_secs(10))
                .await
                .unwrap_err();
            assert!(matches!(error, CallError::NotHttps), "{url}: {error:?}");
        }
        let error = post(&"/token".parse().unwrap(), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(error, CallError::NoHost), "{error:?}");
        // Loopback by name, in any case, is allowed: nothing listens on port 1.
        let error = post(
            &"http://LOCALHOST:1/".parse().unwrap(),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, CallError::Failed(ref why) if why.starts_with("connect")));
    }
}
