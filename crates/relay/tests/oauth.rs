//! Sign-in through the relay (a relay-held OAuth client, as Google needs) against a real OAuth
//! server (`tests/oauth/mock.mjs`: oauth2-mock-server, strict about the client secret, PKCE and
//! the refresh tokens it issued): the provider list, a code exchanged with PKCE, the refresh
//! token sealed and refreshed, the access token logging in to a Dovecot that validates it, and
//! every refusal with its error JSON: revoked grant, another account, a wrong client secret, a
//! token endpoint that never answers, another origin, a large body, the rate limit.
//!
//! Needs `npm ci --no-audit --no-fund --prefix tests/oauth` (Node.js 20 or later).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use postino_pop3::{connect, ConnectOptions, Mechanism, Secret, Security};
use postino_relay::{start, RelayConfig, RelayHandle};
use postino_testkit::oauth_mock::query_escape;
use postino_testkit::{
    Dovecot, DovecotExtras, DovecotOAuth2, DovecotOptions, OAuthMock, OAuthMockOptions,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CLIENT_ID: &str = "relay-client";
const CLIENT_SECRET: &str = "relay-client-secret-4f1c";
const USER: &str = "alice@example.org";
const REDIRECT: &str = "http://app.example/oauth";

fn mock() -> OAuthMock {
    OAuthMock::start(&OAuthMockOptions {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        sub: USER.into(),
    })
    .expect("the OAuth stand-in starts")
}

fn temp_dir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "postino-relay-oauth-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An oauth file in `dir` for one provider "mock" with `token_url`, the secret `secret`.
fn oauth_file(dir: &Path, mock: &OAuthMock, token_url: &str, secret: &str, extra: &str) -> PathBuf {
    std::fs::write(dir.join("mock.secret"), format!("{secret}\n")).unwrap();
    let text = format!(
        r#"key_file = "oauth.key"
{extra}
[[provider]]
name = "mock"
label = "Mock"
authorize_url = "{authorize}"
token_url = "{token_url}"
client_id = "{CLIENT_ID}"
client_secret_file = "mock.secret"
redirect_uris = ["{REDIRECT}"]
scopes = ["openid", "email", "mail"]
"#,
        authorize = mock.authorize_url(),
    );
    let path = dir.join("oauth.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn start_relay(oauth_file: Option<PathBuf>) -> RelayHandle {
    start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: PathBuf::from("/nonexistent-postino-dist"),
        oauth_file,
        ..RelayConfig::default()
    })
    .await
    .expect("relay starts")
}

struct Answer {
    status: u16,
    headers: String,
    json: Value,
}

/// One HTTP/1.1 request (Connection: close) to 127.0.0.1:`port`, within 20 s.
async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let exchange = async {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            request.push_str(&format!("{n}: {v}\r\n"));
        }
        request.push_str("\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        tcp.write_all(body.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("an answer within 20 s");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        headers: head.to_ascii_lowercase(),
        json: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn post(relay: &RelayHandle, path: &str, body: &Value) -> Answer {
    let origin = format!("http://{}", relay.local_addr());
    http(
        relay.local_addr().port(),
        "POST",
        path,
        &[("Origin", &origin), ("Content-Type", "application/json")],
        &body.to_string(),
    )
    .await
}

/// The browser's part: to the mock's authorize endpoint with a PKCE S256 challenge, and the
/// code from the redirect.
async fn authorize(mock: &OAuthMock, verifier: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    let path = format!(
        "/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&scope={}\
         &state=s1&code_challenge={challenge}&code_challenge_method=S256",
        query_escape(REDIRECT),
        query_escape("openid email mail"),
    );
    let answer = http(mock.port(), "GET", &path, &[], "").await;
    assert_eq!(answer.status, 302, "{}", answer.headers);
    let location = answer
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("a redirect")
        .to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_owned()
}

fn verifier(n: u8) -> String {
    format!("{}{n}", "v3rifier-".repeat(6))
}

fn exchange_body(code: &str, verifier: &str) -> Value {
    json!({"provider": "mock", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT})
}

#[tokio::test]
async fn sign_in_refresh_and_log_in_to_dovecot_through_the_relay() {
    let mock = mock();
    let dir = temp_dir();
    let file = oauth_file(&dir, &mock, &mock.token_url(), CLIENT_SECRET, "");
    let relay = start_relay(Some(file)).await;
    let port = relay.local_addr().port();

    // The providers, never the secret.
    let list = http(port, "GET", "/v1/oauth/providers", &[], "").await;
    assert_eq!(list.status, 200);
    let provider = &list.json["providers"][0];
    assert_eq!(provider["name"], "mock");
    assert_eq!(provider["client_id"], CLIENT_ID);
    assert_eq!(provider["authorize_url"], mock.authorize_url());
    assert!(!list.json.to_string().contains(CLIENT_SECRET));

    // Exchange: the code and verifier, redeemed with the relay's secret.
    let code = authorize(&mock, &verifier(1)).await;
    let signed_in = post(
        &relay,
        "/v1/oauth/exchange",
        &exchange_body(&code, &verifier(1)),
    )
    .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    assert!(signed_in.headers.contains("cache-control: no-store"));
    let s = &signed_in.json;
    assert_eq!(s["account"], USER);
    assert_eq!(s["expires_in"], 3600);
    let access = s["access_token"].as_str().unwrap().to_owned();
    assert_eq!(access.split('.').count(), 3, "a JWT");
    let sealed = s["sealed_refresh"].as_str().unwrap().to_owned();
    assert!(sealed.starts_with("v1."));
    let key = std::fs::metadata(dir.join("oauth.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    assert_eq!(key.len(), 32);

    // The access token logs in to a Dovecot that validates it with the issuer's key.
    let dovecot = Dovecot::start_with(
        &DovecotOptions {
            user: USER.into(),
            password: "unused".into(),
            fixtures: vec![b"Subject: hi\r\n\r\nhello\r\n".to_vec()],
        },
        &DovecotExtras {
            oauth2: Some(DovecotOAuth2 {
                issuer: mock.url().into(),
                kid: mock.kid().into(),
                public_key_pem: mock.public_key_pem().into(),
            }),
            ..DovecotExtras::default()
        },
    )
    .expect("dovecot starts");
    let log_in = |token: String| {
        let dovecot = &dovecot;
        async move {
            use tokio_util::compat::TokioAsyncReadCompatExt as _;
            let tcp = TcpStream::connect(("127.0.0.1", dovecot.pop3s_port()))
                .await
                .unwrap();
            let mut options = ConnectOptions::new("localhost", Security::Tls);
            options.pinned_cert = Some(dovecot.fingerprint());
            let mut client = connect(tcp.compat(), &options).await.unwrap();
            client
                .authenticate(USER, &Secret::new(token), Mechanism::XOAuth2)
                .await
        }
    };
    log_in(access.clone())
        .await
        .expect("the exchanged token logs in");

    // A code is used once.
    let again = post(
        &relay,
        "/v1/oauth/exchange",
        &exchange_body(&code, &verifier(1)),
    )
    .await;
    assert_ne!(again.status, 200, "{}", again.json);
    // A verifier that does not match the challenge is refused by the provider.
    let code = authorize(&mock, &verifier(2)).await;
    let wrong = post(
        &relay,
        "/v1/oauth/exchange",
        &exchange_body(&code, &verifier(3)),
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.json);
    assert_eq!(wrong.json["error"], "provider_refused");
    // A redirect URI the relay was not configured with.
    let mut other = exchange_body("c", &verifier(1));
    other["redirect_uri"] = json!("https://evil.example/");
    let refused = post(&relay, "/v1/oauth/exchange", &other).await;
    assert_eq!(
        (refused.status, refused.json["error"].as_str()),
        (400, Some("redirect_uri"))
    );

    // Refresh: a new access token; the mock rotates refresh tokens, so a new sealed one.
    let refreshed = post(
        &relay,
        "/v1/oauth/refresh",
        &json!({"provider": "mock", "account": USER, "sealed_refresh": sealed}),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let new_access = refreshed.json["access_token"].as_str().unwrap().to_owned();
    // (Minted in the same second with the same claims, it may equal the first: RS256 is
    // deterministic.)
    assert_eq!(new_access.split('.').count(), 3, "a JWT");
    let rotated = refreshed.json["sealed_refresh"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, sealed);
    log_in(new_access)
        .await
        .expect("the refreshed token logs in");

    // Sealed for another account (or altered): sign in again, without asking the provider.
    for (account, sealed) in [("bob@example.org", rotated.as_str()), (USER, "v1.AAAA")] {
        let answer = post(
            &relay,
            "/v1/oauth/refresh",
            &json!({"provider": "mock", "account": account, "sealed_refresh": sealed}),
        )
        .await;
        assert_eq!(answer.status, 401, "{}", answer.json);
        assert_eq!(answer.json["error"], "sign_in_again");
    }

    // The provider revoked the grant: invalid_grant, "sign in again".
    mock.revoke_refresh_tokens().unwrap();
    let revoked = post(
        &relay,
        "/v1/oauth/refresh",
        &json!({"provider": "mock", "account": USER, "sealed_refresh": rotated}),
    )
    .await;
    assert_eq!(revoked.status, 401, "{}", revoked.json);
    assert_eq!(revoked.json["error"], "sign_in_again");
    assert!(revoked.json["message"]
        .as_str()
        .unwrap()
        .ends_with("sign in again"));

    // Unknown provider; a body that is not the contract's.
    let unknown = post(
        &relay,
        "/v1/oauth/refresh",
        &json!({"provider": "nope", "account": "a", "sealed_refresh": "x"}),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.json["error"].as_str()),
        (404, Some("unknown_provider"))
    );
    let junk = post(
        &relay,
        "/v1/oauth/refresh",
        &json!({"provider": "mock", "token": "x"}),
    )
    .await;
    assert_eq!(
        (junk.status, junk.json["error"].as_str()),
        (400, Some("bad_request"))
    );
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn origins_bodies_and_limits_are_enforced_before_the_provider_is_called() {
    let mock = mock();
    let dir = temp_dir();
    let file = oauth_file(
        &dir,
        &mock,
        &mock.token_url(),
        CLIENT_SECRET,
        "requests_per_minute = 3",
    );
    let relay = start_relay(Some(file)).await;
    let port = relay.local_addr().port();
    let body = exchange_body("code", &verifier(1)).to_string();

    // Another page's origin: refused, no CORS header; its preflight too.
    let evil = [
        ("Origin", "https://evil.example"),
        ("Content-Type", "application/json"),
    ];
    let answer = http(port, "POST", "/v1/oauth/exchange", &evil, &body).await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (403, Some("origin"))
    );
    assert!(!answer.headers.contains("access-control-allow-origin"));
    let preflight = http(port, "OPTIONS", "/v1/oauth/exchange", &evil, "").await;
    assert_eq!(preflight.status, 403);
    // No Origin at all (not a browser page): refused as well.
    let answer = http(port, "POST", "/v1/oauth/exchange", &[], &body).await;
    assert_eq!(answer.status, 403);

    // A body over 16 KiB.
    let big = json!({"provider": "mock", "code": "c".repeat(20_000), "code_verifier": "v", "redirect_uri": REDIRECT});
    let answer = post(&relay, "/v1/oauth/exchange", &big).await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (413, Some("too_large"))
    );

    // The third request of the minute passed (413 above counted as the first... and the
    // refused origins before it did not); the rate limit then answers 429.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            post(
                &relay,
                "/v1/oauth/exchange",
                &exchange_body("c", &verifier(1)),
            )
            .await
            .status,
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let limited = post(
        &relay,
        "/v1/oauth/exchange",
        &exchange_body("c", &verifier(1)),
    )
    .await;
    assert_eq!(
        (limited.status, limited.json["error"].as_str()),
        (429, Some("limit"))
    );
    relay.shutdown().await.unwrap();

    // Without an oauth file: an empty list, and exchanges are not offered.
    let plain = start_relay(None).await;
    let list = http(
        plain.local_addr().port(),
        "GET",
        "/v1/oauth/providers",
        &[],
        "",
    )
    .await;
    assert_eq!(list.json, json!({"providers": []}));
    let answer = post(&plain, "/v1/oauth/exchange", &exchange_body("c", "v")).await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (404, Some("not_configured"))
    );
    plain.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_wrong_client_secret_and_a_silent_token_endpoint_are_named() {
    let mock = mock();
    // The relay's secret is not the one the provider has.
    let dir = temp_dir();
    let file = oauth_file(&dir, &mock, &mock.token_url(), "not-the-secret", "");
    let relay = start_relay(Some(file)).await;
    let code = authorize(&mock, &verifier(1)).await;
    let answer = post(
        &relay,
        "/v1/oauth/exchange",
        &exchange_body(&code, &verifier(1)),
    )
    .await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (502, Some("relay_client_refused"))
    );
    assert!(answer.json["message"]
        .as_str()
        .unwrap()
        .contains("whoever runs the relay"));
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // A token endpoint that accepts the connection and never answers: the deadline.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!(
        "http://127.0.0.1:{}/token",
        silent.local_addr().unwrap().port()
    );
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            open.push(tcp);
        }
    });
    let dir = temp_dir();
    let file = oauth_file(&dir, &mock, &silent_url, CLIENT_SECRET, "timeout = 1");
    let relay = start_relay(Some(file)).await;
    let started = Instant::now();
    let answer = post(
        &relay,
        "/v1/oauth/exchange",
        &exchange_body("c", &verifier(1)),
    )
    .await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (504, Some("provider_timeout"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    held.abort();
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A provider without a client secret is a public client (Microsoft registers single-page apps
/// so): the relay lists its token endpoint for the page to call, lets the page's CSP reach that
/// endpoint, and redeems or refreshes nothing for it, so it never sees its tokens.
#[tokio::test]
async fn a_public_client_is_listed_for_the_page_and_never_redeemed_here() {
    let dir = temp_dir();
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>p</title>").unwrap();
    std::fs::write(
        dir.join("oauth.toml"),
        format!(
            r#"key_file = "oauth.key"
[[provider]]
name = "microsoft"
label = "Microsoft"
authorize_url = "https://login.example.com/common/oauth2/v2.0/authorize"
token_url = "https://login.example.com:8443/common/oauth2/v2.0/token"
client_id = "spa-client"
redirect_uris = ["{REDIRECT}"]
scopes = ["offline_access", "openid", "email"]
"#
        ),
    )
    .unwrap();
    let relay = start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: dist.clone(),
        oauth_file: Some(dir.join("oauth.toml")),
        ..RelayConfig::default()
    })
    .await
    .expect("relay starts");
    let port = relay.local_addr().port();

    let list = http(port, "GET", "/v1/oauth/providers", &[], "").await;
    let provider = &list.json["providers"][0];
    assert_eq!(provider["name"], "microsoft");
    assert_eq!(
        provider["token_url"],
        "https://login.example.com:8443/common/oauth2/v2.0/token"
    );

    let page = http(port, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    let csp = page
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .expect("a CSP")
        .to_owned();
    assert!(
        csp.contains("connect-src 'self' ws: wss: https://login.example.com:8443;"),
        "{csp}"
    );

    let exchange = post(
        &relay,
        "/v1/oauth/exchange",
        &json!({"provider": "microsoft", "code": "c", "code_verifier": verifier(1),
                "redirect_uri": REDIRECT}),
    )
    .await;
    assert_eq!(exchange.status, 400, "{}", exchange.json);
    assert_eq!(exchange.json["error"], "public_client");
    let refresh = post(
        &relay,
        "/v1/oauth/refresh",
        &json!({"provider": "microsoft", "account": USER, "sealed_refresh": "x"}),
    )
    .await;
    assert_eq!(refresh.json["error"], "public_client");
    std::fs::remove_dir_all(&dir).unwrap();
}
