//! A real OAuth 2.0 server for tests: `tests/oauth/mock.mjs`, which runs the npm package
//! `oauth2-mock-server` (authorization code with PKCE, refresh, RS256 JWTs) on 127.0.0.1, as
//! strict as Google where the tests need it (client secret, PKCE, refresh tokens it issued).
//! It stands in for the providers' authorize and token endpoints, and its public key lets
//! Dovecot validate the access tokens itself ([`crate::DovecotOAuth2`]).
//!
//! Needs Node.js and `npm ci --no-audit --no-fund --prefix tests/oauth` done once.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fixtures::workspace_root;

/// How long node may take to print the server's address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Each request to the mock's test routes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest answer read from the mock's test routes.
const MAX_ANSWER: u64 = 1 << 20;

/// The registered client the mock accepts.
#[derive(Clone, Debug)]
pub struct OAuthMockOptions {
    pub client_id: String,
    pub client_secret: String,
    /// The user tokens are for: `sub` and `email` of the access and ID tokens.
    pub sub: String,
}

/// A running `tests/oauth/mock.mjs`; dropping it stops it.
pub struct OAuthMock {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
    kid: String,
    public_key_pem: String,
}

impl std::fmt::Debug for OAuthMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthMock")
            .field("url", &self.url)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl OAuthMock {
    /// Starts the mock and waits (bounded) for its address. Fails with the install command
    /// when its npm package is missing.
    pub fn start(options: &OAuthMockOptions) -> io::Result<OAuthMock> {
        let dir = oauth_dir();
        if !dir.join("node_modules/oauth2-mock-server").is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "the OAuth stand-in is not installed: run `npm ci --no-audit --no-fund \
                     --prefix tests/oauth` (from {}); it needs Node.js 20 or later",
                    workspace_root().display()
                ),
            ));
        }
        let mut child = Command::new(std::env::var_os("POSTINO_NODE").unwrap_or("node".into()))
            .arg(dir.join("mock.mjs"))
            .current_dir(&dir)
            .env("MOCK_CLIENT_ID", &options.client_id)
            .env("MOCK_CLIENT_SECRET", &options.client_secret)
            .env("MOCK_SUB", &options.sub)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run node: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let result = BufReader::new(stdout.take(64 * 1024))
                .read_line(&mut line)
                .map(|_| line);
            let _ = send.send(result);
        });
        let mut mock = OAuthMock {
            child,
            stdin,
            url: String::new(),
            kid: String::new(),
            public_key_pem: String::new(),
        };
        let line = match receive.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.is_empty() => line,
            Ok(Ok(_)) | Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = mock.child.wait()?;
                return Err(io::Error::other(format!(
                    "tests/oauth/mock.mjs ended before it was ready ({status}); see its \
                     message above"
                )));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("tests/oauth/mock.mjs was not ready within {START_TIMEOUT:?}"),
                ))
            }
        };
        let ready: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| io::Error::other(format!("mock.mjs said {line:?}: {e}")))?;
        let field = |key: &str| {
            ready[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| io::Error::other(format!("mock.mjs said no {key}: {line}")))
        };
        mock.url = field("url")?;
        mock.kid = field("kid")?;
        mock.public_key_pem = field("public_key_pem")?;
        Ok(mock)
    }

    /// The issuer URL (`http://localhost:PORT`), also the base of its endpoints.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    /// The `kid` of the signing key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signing key's public half, PEM (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// An access token signed with the published key: for `sub`, ending `expires_in` seconds
    /// from now (negative: already expired), from `issuer` (default: this server).
    pub fn access_token(
        &self,
        sub: &str,
        expires_in: i64,
        issuer: Option<&str>,
    ) -> io::Result<String> {
        let mut path = format!(
            "/test/token?sub={}&expires_in={expires_in}",
            query_escape(sub)
        );
        if let Some(issuer) = issuer {
            path.push_str(&format!("&iss={}", query_escape(issuer)));
        }
        let (status, body) = self.request("GET", &path)?;
        let json: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| io::Error::other(format!("{status} {body:?}: {e}")))?;
        json["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| io::Error::other(format!("no token in {status} {body:?}")))
    }

    /// Every refresh token issued so far stops working (invalid_grant).
    pub fn revoke_refresh_tokens(&self) -> io::Result<()> {
        let (status, body) = self.request("POST", "/test/revoke")?;
        if status != 204 {
            return Err(io::Error::other(format!("revoke: {status} {body}")));
        }
        Ok(())
    }

    /// A plain HTTP/1.1 request to the mock; the status and the body.
    pub fn request(&self, method: &str, path: &str) -> io::Result<(u16, String)> {
        let (status, _, body) = http(self.port(), method, path, &[], "")?;
        Ok((status, body))
    }
}

impl Drop for OAuthMock {
    fn drop(&mut self) {
        // Closing stdin asks it to stop; then it is killed if still there.
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oauth_dir() -> PathBuf {
    workspace_root().join("tests/oauth")
}

/// An HTTP answer: the status, the headers (lower-case names) and the body.
pub type HttpAnswer = (u16, Vec<(String, String)>, String);

/// One HTTP/1.1 request to 127.0.0.1:`port` with `Connection: close`.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> io::Result<HttpAnswer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other(format!("no HTTP head in {answer:?}")))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no HTTP status in {head:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, headers, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encoding for a query value: everything but unreserved characters.
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
