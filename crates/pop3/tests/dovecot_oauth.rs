//! OAuth 2.0 logins against a real Dovecot that validates the tokens itself (passdb oauth2,
//! `introspection_mode = local`, the issuer's public key), with tokens from a real OAuth server
//! (`tests/oauth/mock.mjs`, oauth2-mock-server): XOAUTH2 and OAUTHBEARER, the initial response
//! on the AUTH line and in two steps, Microsoft's host name taking two steps by itself, and
//! refused tokens (expired, another user, another issuer) as Error::TokenRefused.
//!
//! Needs `npm ci --no-audit --no-fund --prefix tests/oauth` (Node.js 20 or later).

use postino_pop3::sasl::TokenProblem;
use postino_pop3::{connect, Client, ConnectOptions, Error, MaybeTls, Mechanism, Secret, Security};
use postino_testkit::{
    Dovecot, DovecotExtras, DovecotOAuth2, DovecotOptions, OAuthMock, OAuthMockOptions,
};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

const USER: &str = "alice";

struct Servers {
    mock: OAuthMock,
    dovecot: Dovecot,
}

fn servers() -> Servers {
    let mock = OAuthMock::start(&OAuthMockOptions {
        client_id: "postino-test".into(),
        client_secret: "mock-client-secret".into(),
        sub: USER.into(),
    })
    .expect("the OAuth stand-in starts");
    let dovecot = Dovecot::start_with(
        &DovecotOptions {
            user: USER.into(),
            password: "a password that is not used here".into(),
            fixtures: vec![b"Subject: hi\r\n\r\nhello\r\n".to_vec()],
        },
        &DovecotExtras {
            oauth2: Some(DovecotOAuth2 {
                issuer: mock.url().to_owned(),
                kid: mock.kid().to_owned(),
                public_key_pem: mock.public_key_pem().to_owned(),
            }),
            ..DovecotExtras::default()
        },
    )
    .expect("dovecot starts");
    Servers { mock, dovecot }
}

type Session = Client<MaybeTls<Compat<TcpStream>>>;

/// A TLS session to Dovecot, under the host name `host` (the certificate is pinned).
async fn session(d: &Dovecot, host: &str) -> Session {
    let tcp = TcpStream::connect(("127.0.0.1", d.pop3s_port()))
        .await
        .expect("connect")
        .compat();
    let mut options = ConnectOptions::new(host, Security::Tls);
    options.pinned_cert = Some(d.fingerprint());
    connect(tcp, &options)
        .await
        .unwrap_or_else(|e| panic!("TLS and greeting: {e}\n{}", d.log_tail(30)))
}

fn token(s: &Servers, sub: &str, expires_in: i64, issuer: Option<&str>) -> Secret<String> {
    Secret::new(
        s.mock
            .access_token(sub, expires_in, issuer)
            .expect("a token"),
    )
}

async fn logged_in_and_reads(mut client: Session) {
    assert_eq!(client.stat().await.expect("STAT after login").count, 1);
    client.quit().await.expect("QUIT");
}

#[tokio::test]
async fn tokens_log_in_with_both_mechanisms_in_one_step_and_in_two() {
    let s = servers();
    let good = token(&s, USER, 3600, None);
    // A JWT does not fit 255 octets: two steps by the RFC's rule.
    assert!(good.expose().len() > 255);
    for mechanism in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
        let mut client = session(&s.dovecot, "localhost").await;
        assert!(!client.sasl_two_step());
        assert!(client
            .capabilities()
            .sasl
            .iter()
            .any(|m| m == mechanism.name()));
        client
            .authenticate(USER, &good, mechanism)
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?} in two steps: {e}\n{}", log(&s)));
        logged_in_and_reads(client).await;

        // The server takes long lines: the token on the AUTH line itself.
        let mut client = session(&s.dovecot, "localhost").await;
        client.set_max_auth_line(8192);
        client
            .authenticate(USER, &good, mechanism)
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?} in one step: {e}\n{}", log(&s)));
        logged_in_and_reads(client).await;
    }
    // login_oauth picks OAUTHBEARER.
    let mut client = session(&s.dovecot, "localhost").await;
    assert_eq!(
        client.login_oauth(USER, &good).await.unwrap(),
        Mechanism::OAuthBearer
    );
    logged_in_and_reads(client).await;
}

#[tokio::test]
async fn microsofts_host_name_takes_two_steps_by_itself() {
    let s = servers();
    let mut client = session(&s.dovecot, "outlook.office365.com").await;
    assert!(client.sasl_two_step());
    // Even a line that would fit goes in two steps; the long token logs in.
    client.set_max_auth_line(8192);
    client
        .authenticate(USER, &token(&s, USER, 3600, None), Mechanism::XOAuth2)
        .await
        .unwrap();
    logged_in_and_reads(client).await;
}

#[tokio::test]
async fn refused_tokens_are_typed_errors_to_refresh_or_sign_in_again() {
    let s = servers();
    let other_issuer = format!("{}/elsewhere", s.mock.url());
    let cases = [
        ("expired", token(&s, USER, -600, None)),
        ("for another user", token(&s, "bob", 3600, None)),
        (
            "from another issuer",
            token(&s, USER, 3600, Some(&other_issuer)),
        ),
        ("not a JWT", Secret::new("not-a-token".to_string())),
    ];
    for (what, bad) in cases {
        for mechanism in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
            for two_step in [false, true] {
                let mut client = session(&s.dovecot, "localhost").await;
                if !two_step {
                    client.set_max_auth_line(8192);
                }
                let err = client
                    .authenticate(USER, &bad, mechanism)
                    .await
                    .expect_err(what);
                let Error::TokenRefused(refusal) = &err else {
                    panic!("{what}, {mechanism:?}: {err:?}");
                };
                assert_eq!(refusal.mechanism, mechanism);
                // Dovecot answers with an error challenge saying 401 / invalid_token.
                let challenge = refusal
                    .challenge
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}, {mechanism:?}: no challenge: {err}"));
                assert_eq!(
                    refusal.problem(),
                    TokenProblem::ExpiredOrRevoked,
                    "{what}, {mechanism:?}: {challenge:?}"
                );
                assert!(refusal.should_refresh());
                let shown = format!("{err} {err:?}");
                assert!(!shown.contains(bad.expose().as_str()), "{shown}");
                // The session is still usable: the right token logs in.
                client
                    .authenticate(USER, &token(&s, USER, 3600, None), mechanism)
                    .await
                    .unwrap_or_else(|e| panic!("after {what}, {mechanism:?}: {e}"));
                logged_in_and_reads(client).await;
            }
        }
    }
}

fn log(s: &Servers) -> String {
    s.dovecot.log_tail(20)
}
