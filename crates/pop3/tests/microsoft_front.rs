//! OAuth 2.0 logins through a front as strict as Microsoft's POP3 servers
//! (`postino_testkit::MicrosoftFront`: CAPA as Microsoft answers, AUTH in two steps only,
//! command lines over 4,096 octets refused) before a real Dovecot that validates the tokens
//! itself, with tokens from a real OAuth server (`tests/oauth/mock.mjs`).
//!
//! Tokens over 4 KB (Microsoft's often are) are what getmail6, mpop and MailKit fail on: here
//! one is made by an issuer URL of some 3,000 characters, which Dovecot is told to trust.
//!
//! Needs `npm ci --no-audit --no-fund --prefix tests/oauth` (Node.js 20 or later).

use postino_pop3::{connect, Client, ConnectOptions, Error, MaybeTls, Mechanism, Secret, Security};
use postino_testkit::{
    Dovecot, DovecotExtras, DovecotOAuth2, DovecotOptions, MicrosoftFront, OAuthMock,
    OAuthMockOptions, MAX_COMMAND_LINE,
};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

const USER: &str = "alice";

struct Servers {
    mock: OAuthMock,
    /// The issuer Dovecot trusts: long, so that its tokens are long.
    issuer: String,
    front: MicrosoftFront,
    dovecot: Dovecot,
}

/// The servers, with an issuer URL `issuer_len` characters longer than the mock's own: the
/// tokens grow with it.
fn servers(issuer_len: usize) -> Servers {
    let mock = OAuthMock::start(&OAuthMockOptions {
        client_id: "postino-test".into(),
        client_secret: "mock-client-secret".into(),
        sub: USER.into(),
    })
    .expect("the OAuth stand-in starts");
    let issuer = format!("{}/tenant/{}", mock.url(), "t".repeat(issuer_len));
    let dovecot = Dovecot::start_with(
        &DovecotOptions {
            user: USER.into(),
            password: "a password that is not used here".into(),
            fixtures: vec![b"Subject: hi\r\n\r\nhello\r\n".to_vec()],
        },
        &DovecotExtras {
            oauth2: Some(DovecotOAuth2 {
                issuer: issuer.clone(),
                kid: mock.kid().to_owned(),
                public_key_pem: mock.public_key_pem().to_owned(),
            }),
            ..DovecotExtras::default()
        },
    )
    .expect("dovecot starts");
    let front = MicrosoftFront::start(&dovecot).expect("the front starts");
    Servers {
        mock,
        issuer,
        front,
        dovecot,
    }
}

type Session = Client<MaybeTls<Compat<TcpStream>>>;

/// A session through the front under the host name `host` (Dovecot's certificate, pinned).
async fn session(s: &Servers, host: &str, security: Security) -> Session {
    let port = match security {
        Security::Tls => s.front.pop3s_port(),
        _ => s.front.pop3_port(),
    };
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect")
        .compat();
    let mut options = ConnectOptions::new(host, security);
    options.pinned_cert = Some(s.dovecot.fingerprint());
    connect(tcp, &options)
        .await
        .unwrap_or_else(|e| panic!("TLS and greeting through the front: {e}"))
}

/// A token the trusted (long) issuer signed, and the length of its XOAUTH2 initial response
/// in base64: what a one-line `AUTH XOAUTH2` would carry.
fn signed_token(s: &Servers) -> (Secret<String>, usize) {
    let token = s
        .mock
        .access_token(USER, 3600, Some(&s.issuer))
        .expect("a token");
    let initial = format!("user={USER}\x01auth=Bearer {token}\x01\x01");
    let base64_len = initial.len().div_ceil(3) * 4;
    (Secret::new(token), base64_len)
}

async fn logged_in_and_reads(mut client: Session) {
    assert_eq!(client.stat().await.expect("STAT after login").count, 1);
    client.quit().await.expect("QUIT");
}

#[tokio::test]
async fn a_token_over_4_kb_logs_in_in_two_steps_on_both_ports() {
    let s = servers(3000);
    let (token, one_line) = signed_token(&s);
    assert!(
        token.expose().len() > 4096 && "AUTH XOAUTH2 ".len() + one_line > MAX_COMMAND_LINE,
        "the token must not fit Microsoft's line: {} octets",
        token.expose().len()
    );

    // Microsoft's host name: two steps whatever the line's length.
    let mut client = session(&s, "outlook.office365.com", Security::Tls).await;
    assert!(client.sasl_two_step());
    assert_eq!(client.capabilities().sasl, ["PLAIN", "XOAUTH2"]);
    let mechanism = client
        .login_oauth(USER, &token)
        .await
        .unwrap_or_else(|e| panic!("long token, port like 995: {e}\n{}", log(&s)));
    assert_eq!(mechanism, Mechanism::XOAuth2);
    logged_in_and_reads(client).await;

    // Like 110: CAPA lists no SASL before STLS; after it, the client asks again.
    let mut client = session(&s, "outlook.office365.com", Security::Stls).await;
    assert_eq!(client.capabilities().sasl, ["PLAIN", "XOAUTH2"]);
    assert_eq!(
        client.login_oauth(USER, &token).await.expect("after STLS"),
        Mechanism::XOAuth2
    );
    logged_in_and_reads(client).await;
}

#[tokio::test]
async fn a_normal_token_logs_in_through_the_front() {
    let s = servers(0);
    let (token, one_line) = signed_token(&s);
    assert!("AUTH XOAUTH2 ".len() + one_line + 2 <= MAX_COMMAND_LINE);
    let mut client = session(&s, "outlook.office365.com", Security::Tls).await;
    assert_eq!(
        client
            .login_oauth(USER, &token)
            .await
            .unwrap_or_else(|e| panic!("normal token: {e}\n{}", log(&s))),
        Mechanism::XOAuth2
    );
    logged_in_and_reads(client).await;

    // The front passes Dovecot's refusals on: an expired token is TokenRefused, to refresh.
    let expired = s
        .mock
        .access_token(USER, -600, Some(&s.issuer))
        .expect("a token");
    let mut client = session(&s, "outlook.office365.com", Security::Tls).await;
    let err = client
        .login_oauth(USER, &Secret::new(expired))
        .await
        .expect_err("expired");
    let Error::TokenRefused(refusal) = &err else {
        panic!("{err:?}");
    };
    assert!(refusal.should_refresh(), "{err:?}");
}

#[tokio::test]
async fn one_line_auth_is_refused_as_microsoft_does() {
    let s = servers(1000);
    let (token, _) = signed_token(&s);
    // A client that is not told this is Microsoft, and that puts the whole initial response
    // on the AUTH line (what getmail6 and MailKit do): refused although the line fits.
    let mut client = session(&s, "localhost", Security::Tls).await;
    assert!(!client.sasl_two_step());
    client.set_max_auth_line(8192);
    let err = client
        .authenticate(USER, &token, Mechanism::XOAuth2)
        .await
        .expect_err("one line");
    assert!(err.to_string().contains("initial response"), "{err}");
    // The session is still usable: two steps log in.
    client.set_sasl_two_step(true);
    client
        .authenticate(USER, &token, Mechanism::XOAuth2)
        .await
        .unwrap_or_else(|e| panic!("two steps after the refusal: {e}\n{}", log(&s)));
    logged_in_and_reads(client).await;

    // A line over 4,096 octets: refused and the connection closed.
    let s = servers(3000);
    let (token, _) = signed_token(&s);
    let mut client = session(&s, "localhost", Security::Tls).await;
    client.set_max_auth_line(16384);
    let err = client
        .authenticate(USER, &token, Mechanism::XOAuth2)
        .await
        .expect_err("a line over 4 KB");
    assert!(err.to_string().contains("Line too long"), "{err}");
}

fn log(s: &Servers) -> String {
    s.dovecot.log_tail(20)
}
