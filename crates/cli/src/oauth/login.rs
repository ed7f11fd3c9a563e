//! `postino login NAME`: sign in with the account's OAuth 2.0 client, in the user's browser.
//!
//! The authorization code flow for native apps (RFC 8252): postino listens on 127.0.0.1, on a
//! port the system picks (section 7.3: a loopback redirect URI of any port), prints the
//! authorization URL for the user to open, with PKCE S256 (RFC 7636) and a `state` of its own,
//! and waits (bounded) for the browser to come back with the code. The browser gets a short
//! page; the code and the verifier go to the token endpoint, and the tokens into
//! [`super::store`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use postino_oauth_client::escape;
use postino_pop3::Secret;
use postino_sync::untrusted::display_text;
use ring::rand::SecureRandom as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::token_endpoint::{self, TokenError};
use super::{client_form, store};
use crate::config::{AccountConfig, OAuthSettings, TokenSource};
use crate::exit::Exit;

/// How long the user has to sign in in the browser.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one browser request may take to arrive.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request head read from the browser.
const MAX_REQUEST: usize = 16 * 1024;

/// Sign `account` in; the exit status.
pub fn run(account: &AccountConfig) -> Exit {
    let settings = match account.token_source() {
        Ok(Some(TokenSource::Client(settings))) => settings,
        Ok(_) => {
            eprintln!(
                "postino: account {}: `postino login` is for an account with auth = \"oauth2\" \
                 and an [account.oauth] table (a token_command gives its own tokens)",
                account.name
            );
            return Exit::Usage;
        }
        Err(e) => {
            eprintln!("postino: {e}");
            return Exit::Usage;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("postino: {e}");
            return Exit::Failed;
        }
    };
    match runtime.block_on(login(&account.name, &settings)) {
        Ok(path) => {
            println!(
                "Signed in. The tokens of {} are in {} (readable by you only); postino \
                 renews them by itself.",
                account.name,
                path.display()
            );
            Exit::NewMail
        }
        Err(e) => {
            eprintln!("postino: {}: {}", account.name, display_text(&e));
            Exit::Failed
        }
    }
}

async fn login(account: &str, settings: &OAuthSettings) -> Result<std::path::PathBuf, String> {
    // Read first: a missing secret file is better said before the user signs in.
    let client = client_form(settings)?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let verifier = random_base64url(32)?;
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.expose().as_bytes(),
    ));
    let state = random_base64url(16)?;
    let url = authorization_url(settings, &redirect_uri, &challenge, state.expose());
    println!(
        "To sign in to {account}, open this address in a browser (on this machine):\n\n  \
         {url}\n\nWaiting for the browser (at most {} minutes)...",
        BROWSER_TIMEOUT.as_secs() / 60
    );
    let code = tokio::time::timeout(BROWSER_TIMEOUT, wait_for_code(&listener, state.expose()))
        .await
        .map_err(|_| {
            format!(
                "no answer from the browser within {} minutes; run postino login again",
                BROWSER_TIMEOUT.as_secs() / 60
            )
        })??;
    drop(listener);

    let (grant_type, redirect) = (
        Secret::new("authorization_code".to_owned()),
        Secret::new(redirect_uri),
    );
    let mut form: Vec<(&str, &Secret<String>)> = vec![
        ("grant_type", &grant_type),
        ("code", &code),
        ("redirect_uri", &redirect),
        ("code_verifier", &verifier),
    ];
    form.extend(client.iter().map(|(k, v)| (*k, v)));
    let grant = token_endpoint::request(&settings.token_url, &form)
        .await
        .map_err(|e| match e {
            TokenError::Refused(why) => format!("the provider refused the sign-in: {why}"),
            TokenError::Unreachable(why) => format!("cannot reach the token endpoint: {why}"),
        })?;
    let refresh_token = grant.refresh_token.ok_or_else(|| {
        "the provider gave no refresh token, so postino could not renew the sign-in: add the \
         scope that asks for one (offline_access for Microsoft) to oauth.scopes"
            .to_owned()
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let path = store::path(account);
    store::save(
        &path,
        &store::Tokens {
            refresh_token,
            access_token: grant.access_token,
            expires_at: now + grant.expires_in.unwrap_or(3600),
        },
    )
    .map_err(|e| format!("cannot save the tokens in {}: {e}", path.display()))?;
    Ok(path)
}

/// The provider's authorization URL with our query (RFC 6749 section 4.1.1, RFC 7636).
fn authorization_url(
    settings: &OAuthSettings,
    redirect_uri: &str,
    challenge: &str,
    state: &str,
) -> String {
    let scope = settings.scopes.join(" ");
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", settings.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if !scope.is_empty() {
        query.push(("scope", &scope));
    }
    // Google issues a refresh token only when asked this way (Microsoft: the offline_access
    // scope).
    if settings
        .authorize_url
        .starts_with("https://accounts.google.com/")
    {
        query.push(("access_type", "offline"));
        query.push(("prompt", "consent"));
    }
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", escape(v)))
        .collect();
    let separator = if settings.authorize_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{separator}{}", settings.authorize_url, query.join("&"))
}

fn random_base64url(bytes: usize) -> Result<Secret<String>, String> {
    let mut random = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| "no random numbers from the system".to_owned())?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(random)))
}

/// Serve the browser until it brings a code with our `state` (or the provider's refusal).
/// Each connection is served on its own, so a browser's idle preconnection does not hold up
/// the request that matters.
async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<Secret<String>, String> {
    let (send, mut outcomes) = tokio::sync::mpsc::channel(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) =
                    accepted.map_err(|e| format!("cannot take the browser's connection: {e}"))?;
                let (send, state) = (send.clone(), state.to_owned());
                tokio::spawn(async move {
                    if let Ok(Some(outcome)) =
                        tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &state)).await
                    {
                        let _ = send.send(outcome).await;
                    }
                });
            }
            Some(outcome) = outcomes.recv() => return outcome,
        }
    }
}

/// One browser request: `Some` when it ends the wait (a code, or the provider's refusal).
async fn answer(mut stream: TcpStream, state: &str) -> Option<Result<Secret<String>, String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("GET "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/" {
        let _ = reply(&mut stream, "404 Not Found", "Not found.").await;
        return None;
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (unescape(k), unescape(v)))
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // Not our request (another tab, a stale one, or forged): it does not end the wait.
    if param("state").as_deref() != Some(state) {
        let _ = reply(
            &mut stream,
            "400 Bad Request",
            "This answer is not for the sign-in postino is waiting for.",
        )
        .await;
        return None;
    }
    if let Some(error) = param("error") {
        let _ = reply(
            &mut stream,
            "200 OK",
            "The sign-in did not succeed. The terminal says why; you can close this tab.",
        )
        .await;
        let description = param("error_description")
            .map(|d| format!(": {}", d.chars().take(300).collect::<String>()))
            .unwrap_or_default();
        return Some(Err(format!(
            "the provider refused the sign-in ({error}{description})"
        )));
    }
    let code = param("code").filter(|c| !c.is_empty())?;
    let _ = reply(
        &mut stream,
        "200 OK",
        "Postino is signed in. You can close this tab and go back to the terminal.",
    )
    .await;
    Some(Ok(Secret::new(code)))
}

async fn reply(stream: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body =
        format!("<!doctype html><meta charset=\"utf-8\"><title>Postino</title><p>{text}</p>\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Percent-decoding of a query value (`+` is a space in forms).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(unescape("a%20b+c%2Fd"), "a b c/d");
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%zz"), "%zz");
        assert_eq!(unescape("%é"), "%é");
    }

    #[test]
    fn the_authorization_url_carries_pkce_and_state() {
        let settings = OAuthSettings {
            authorize_url: "https://login.example/authorize?tenant=x".into(),
            token_url: "https://login.example/token".into(),
            client_id: "id 1".into(),
            client_secret_file: None,
            scopes: vec!["a".into(), "offline_access".into()],
        };
        let url = authorization_url(&settings, "http://127.0.0.1:5/", "CH", "ST");
        assert_eq!(
            url,
            "https://login.example/authorize?tenant=x&response_type=code&client_id=id%201&\
             redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2F&state=ST&code_challenge=CH&\
             code_challenge_method=S256&scope=a%20offline_access"
        );
    }
}
