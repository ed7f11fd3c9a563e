//! Transcript tests: a scripted server over an in-memory pipe. Each test reads like the
//! exchange itself: "server sends ..., client sends ...". The server checks every byte the
//! client sends, and at the end that the client sent nothing more.

use postino_pop3::client::PIPELINE_WINDOW;
use postino_pop3::sasl::TokenProblem;
use postino_pop3::{
    connect, AuthChoice, AuthMethod, Client, Command, ConnectOptions, Error, Limits, Mechanism,
    ResponseCode, Secret, Security,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// One step of a transcript.
enum Step {
    /// The server sends these bytes.
    S(&'static str),
    /// The client must send exactly these bytes next.
    C(&'static str),
    /// As `C`, for bytes built at run time.
    COwned(String),
}
use Step::{COwned, C, S};

/// Starts the scripted server; returns the client's end and the server task, which panics on
/// the first difference.
fn scripted(script: Vec<Step>) -> (Compat<DuplexStream>, JoinHandle<()>) {
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(async move {
        for (i, step) in script.into_iter().enumerate() {
            let expected = match step {
                S(text) => {
                    // The client may have closed already (it refused to go on): that is for the
                    // C steps and the final check to judge.
                    let _ = server.write_all(text.as_bytes()).await;
                    continue;
                }
                C(text) => text.to_string(),
                COwned(text) => text,
            };
            let mut got = vec![0; expected.len()];
            let mut filled = 0;
            while filled < got.len() {
                let read = server.read(&mut got[filled..]);
                let n = tokio::time::timeout(std::time::Duration::from_secs(5), read)
                    .await
                    .unwrap_or_else(|_| {
                        panic!(
                            "step {i}: the client sent {:?}, then nothing for 5 s; expected {expected:?}",
                            String::from_utf8_lossy(&got[..filled])
                        )
                    })
                    .unwrap();
                if n == 0 {
                    break;
                }
                filled += n;
            }
            assert_eq!(
                String::from_utf8_lossy(&got[..filled]),
                expected,
                "step {i}: the client sent something else"
            );
        }
        let mut rest = Vec::new();
        let end = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            server.read_to_end(&mut rest),
        );
        let _ = end.await.expect("the client neither sent more nor closed");
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "",
            "the client sent more than the script"
        );
    });
    (client.compat(), task)
}

type Session = Client<Compat<DuplexStream>>;

async fn start(stream: Compat<DuplexStream>) -> Session {
    Client::start(stream, Limits::default()).await.unwrap()
}

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.into())
}

fn collect(buf: &mut Vec<u8>) -> impl FnMut(&[u8]) -> Result<(), Error> + '_ {
    move |c| {
        buf.extend_from_slice(c);
        Ok(())
    }
}

const GREETING: Step = S("+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n");
const CAPA_MIN: [Step; 2] = [C("CAPA\r\n"), S("+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")];

/// Greeting and a minimal CAPA, then the given steps.
fn session(steps: Vec<Step>) -> Vec<Step> {
    let mut all = vec![GREETING];
    all.extend(CAPA_MIN);
    all.extend(steps);
    all
}

#[tokio::test]
async fn server_sends_every_standard_capability_client_parses_them() {
    let (stream, server) = scripted(vec![
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK Capability list follows\r\n\
           TOP\r\nUSER\r\nSASL PLAIN scram-sha-256\r\nRESP-CODES\r\nLOGIN-DELAY 900\r\n\
           PIPELINING\r\nEXPIRE NEVER\r\nUIDL\r\nIMPLEMENTATION Shlemazle Mail 2\r\nSTLS\r\n\
           X-UNKNOWN thing\r\n.\r\n"),
        C("QUIT\r\n"),
        S("+OK bye\r\n"),
    ]);
    let client = start(stream).await;
    let caps = client.capabilities().clone();
    assert!(caps.top && caps.user && caps.resp_codes && caps.pipelining && caps.uidl);
    assert!(caps.stls);
    assert_eq!(caps.sasl, ["PLAIN", "SCRAM-SHA-256"]);
    assert_eq!(caps.login_delay, Some(900));
    assert_eq!(caps.expire, Some(None));
    assert_eq!(caps.implementation.as_deref(), Some("Shlemazle Mail 2"));
    assert_eq!(caps.raw.len(), 11);
    assert_eq!(client.window(), PIPELINE_WINDOW);
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn server_without_capa_gets_rfc1939_defaults() {
    let (stream, server) = scripted(vec![
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("-ERR unknown command\r\n"),
    ]);
    let client = start(stream).await;
    let caps = client.capabilities();
    assert!(caps.user && caps.uidl && caps.top && !caps.pipelining);
    assert_eq!(client.window(), 1);
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn expire_zero_and_login_delay_parse() {
    let (stream, server) = scripted(vec![
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nEXPIRE 0\r\nLOGIN-DELAY 300 USER\r\n.\r\n"),
    ]);
    let client = start(stream).await;
    assert_eq!(client.capabilities().expire, Some(Some(0)));
    assert_eq!(client.capabilities().login_delay, Some(300));
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn pipelining_announced_only_after_login_is_seen() {
    let (stream, server) = scripted(session(vec![
        C("USER alice\r\n"),
        S("+OK\r\n"),
        C("PASS p w\r\n"),
        S("+OK logged in\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    assert_eq!(client.window(), 1);
    client.login("alice", &secret("p w")).await.unwrap();
    assert!(client.capabilities().pipelining);
    assert_eq!(client.window(), PIPELINE_WINDOW);
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn every_transaction_command() {
    let (stream, server) = scripted(session(vec![
        C("STAT\r\n"),
        S("+OK 2 320\r\n"),
        C("LIST\r\n"),
        S("+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"),
        C("LIST 2\r\n"),
        S("+OK 2 200\r\n"),
        C("UIDL\r\n"),
        S("+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"),
        C("UIDL 2\r\n"),
        S("+OK 2 QhdPYR:00WBw1Ph7x7\r\n"),
        C("RETR 1\r\n"),
        S("+OK 120 octets\r\nSubject: a\r\n\r\n..dot\r\nbody\r\n.\r\n"),
        C("TOP 1 0\r\n"),
        S("+OK\r\nSubject: a\r\n\r\n.\r\n"),
        C("DELE 1\r\n"),
        S("+OK message 1 deleted\r\n"),
        C("NOOP\r\n"),
        S("+OK\r\n"),
        C("RSET\r\n"),
        S("+OK maildrop has 2 messages\r\n"),
        C("QUIT\r\n"),
        S("+OK dewey POP3 server signing off\r\n"),
    ]));
    let mut client = start(stream).await;
    let stat = client.stat().await.unwrap();
    assert_eq!((stat.count, stat.size), (2, 320));
    assert_eq!(client.list_all().await.unwrap(), [(1, 120), (2, 200)]);
    assert_eq!(client.list(2).await.unwrap(), 200);
    assert_eq!(
        client.uidl_all().await.unwrap(),
        [
            (1, "whqtswO00WBw418f9t5JxYwZ".to_string()),
            (2, "QhdPYR:00WBw1Ph7x7".to_string())
        ]
    );
    assert_eq!(client.uidl(2).await.unwrap(), "QhdPYR:00WBw1Ph7x7");
    let mut body = Vec::new();
    let n = client.retr(1, &mut collect(&mut body)).await.unwrap();
    assert_eq!(body, b"Subject: a\r\n\r\n.dot\r\nbody\r\n");
    assert_eq!(n as usize, body.len());
    let mut head = Vec::new();
    client.top(1, 0, &mut collect(&mut head)).await.unwrap();
    assert_eq!(head, b"Subject: a\r\n\r\n");
    client.dele(1).await.unwrap();
    client.noop().await.unwrap();
    client.rset().await.unwrap();
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn uidl_quirks_ok_prefix_padding_and_long_ids_are_kept_exactly() {
    let long = "L".repeat(120);
    let listing: &'static str = Box::leak(
        format!("+OK\r\n+OK 1 a-b\r\n2    padded   \r\n3 {long}\r\n.\r\n").into_boxed_str(),
    );
    let (stream, server) = scripted(session(vec![C("UIDL\r\n"), S(listing)]));
    let mut client = start(stream).await;
    assert_eq!(
        client.uidl_all().await.unwrap(),
        [
            (1, "a-b".to_string()),
            (2, "padded".to_string()),
            (3, long.clone())
        ]
    );
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn failing_commands_are_server_errors_and_the_session_goes_on() {
    let (stream, server) = scripted(session(vec![
        C("RETR 9\r\n"),
        S("-ERR no such message\r\n"),
        C("TOP 9 0\r\n"),
        S("-ERR no such message\r\n"),
        C("DELE 9\r\n"),
        S("-ERR [SYS/TEMP] try later\r\n"),
        C("QUIT\r\n"),
        S("-ERR [SYS/PERM] some deleted messages not removed\r\n"),
    ]));
    let mut client = start(stream).await;
    let err = client.retr(9, &mut |_| Ok(())).await.unwrap_err();
    assert!(matches!(err, Error::Server { code: None, .. }), "{err:?}");
    client.top(9, 0, &mut |_| Ok(())).await.unwrap_err();
    let err = client.dele(9).await.unwrap_err();
    assert!(err.is_temporary());
    // A -ERR to QUIT means the deletions may not have happened: an error, not a success.
    let err = client.quit().await.unwrap_err();
    match err {
        Error::Server { code, .. } => assert_eq!(code, Some(ResponseCode::SysPerm)),
        other => panic!("{other:?}"),
    }
    server.await.unwrap();
}

/// RFC 2449 and RFC 3206 response codes on login: which mean "try later".
#[tokio::test]
async fn login_response_codes_say_whether_to_try_later() {
    for (line, code, temporary) in [
        ("-ERR [IN-USE] locked\r\n", Some(ResponseCode::InUse), true),
        (
            "-ERR [LOGIN-DELAY] wait\r\n",
            Some(ResponseCode::LoginDelay),
            true,
        ),
        (
            "-ERR [SYS/TEMP] busy\r\n",
            Some(ResponseCode::SysTemp),
            true,
        ),
        (
            "-ERR [SYS/PERM] gone\r\n",
            Some(ResponseCode::SysPerm),
            false,
        ),
        ("-ERR [AUTH] wrong\r\n", Some(ResponseCode::Auth), false),
        ("-ERR no\r\n", None, false),
        (
            "-ERR [X-PRIVATE/THING] no\r\n",
            Some(ResponseCode::Other("X-PRIVATE/THING".into())),
            false,
        ),
    ] {
        let (stream, server) = scripted(session(vec![
            C("USER alice\r\n"),
            S("+OK\r\n"),
            C("PASS pw\r\n"),
            S(line),
        ]));
        let mut client = start(stream).await;
        let err = client.login("alice", &secret("pw")).await.unwrap_err();
        match &err {
            Error::LoginFailed { code: got, .. } => assert_eq!(got, &code, "{line}"),
            other => panic!("{line}: {other:?}"),
        }
        assert_eq!(err.is_temporary(), temporary, "{line}");
        drop(client);
        server.await.unwrap();
    }
}

/// RFC 1939 section 7's APOP example.
#[tokio::test]
async fn apop_sends_the_md5_digest_of_timestamp_and_secret() {
    let (stream, server) = scripted(session(vec![
        C("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
        S("+OK maildrop has 1 message (369 octets)\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    client.apop("mrose", &secret("tanstaaf")).await.unwrap();
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn apop_needs_a_timestamp_in_the_greeting() {
    let (stream, server) = scripted(vec![S("+OK ready\r\n"), C("CAPA\r\n"), S("-ERR\r\n")]);
    let mut client = start(stream).await;
    assert!(!client.apop_offered());
    let err = client.apop("mrose", &secret("tanstaaf")).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)));
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn login_prefers_sasl_plain_over_user_pass_and_inlines_a_short_response() {
    let (stream, server) = scripted(vec![
        GREETING,
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nSASL LOGIN PLAIN\r\n.\r\n"),
        // base64("\0alice\0pw")
        C("AUTH PLAIN AGFsaWNlAHB3\r\n"),
        S("+OK logged in\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\n.\r\n"),
    ]);
    let mut client = start(stream).await;
    client.login("alice", &secret("pw")).await.unwrap();
    drop(client);
    server.await.unwrap();
}

/// RFC 5034 section 4: an initial response that would make the AUTH line longer than 255
/// octets waits for the server's empty challenge.
#[tokio::test]
async fn the_255_octet_rule_for_initial_responses() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // "AUTH PLAIN " + base64 + CRLF, CRLF included: 11 + 240 + 2 = 253 fits, 11 + 244 + 2 = 257
    // does not.
    let fits = "p".repeat(172); // \0alice\0 + 172 = 179 octets -> 240 of base64
    let too_long = "p".repeat(175); // 182 octets -> 244 of base64
    assert_eq!(b64(&format!("\0alice\0{fits}")).len(), 240);
    let (stream, server) = scripted(session(vec![
        COwned(format!(
            "AUTH PLAIN {}\r\n",
            b64(&format!("\0alice\0{fits}"))
        )),
        S("-ERR [AUTH] no\r\n"),
        C("AUTH PLAIN\r\n"),
        S("+ \r\n"),
        COwned(format!("{}\r\n", b64(&format!("\0alice\0{too_long}")))),
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    client
        .authenticate("alice", &secret(&fits), Mechanism::Plain)
        .await
        .unwrap_err();
    client
        .authenticate("alice", &secret(&too_long), Mechanism::Plain)
        .await
        .unwrap();
    drop(client);
    server.await.unwrap();
}

/// RFC 2195's example through the wire: the server speaks first.
#[tokio::test]
async fn cram_md5_transcript() {
    let (stream, server) = scripted(session(vec![
        C("AUTH CRAM-MD5\r\n"),
        // base64("<1896.697170952@postoffice.reston.mci.net>")
        S("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
        // base64("tim b913a602c7eda7a495b4e6e7334d3890")
        C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    client
        .authenticate("tim", &secret("tanstaaftanstaaf"), Mechanism::CramMd5)
        .await
        .unwrap();
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn login_mechanism_transcript() {
    let (stream, server) = scripted(session(vec![
        C("AUTH LOGIN\r\n"),
        S("+ VXNlcm5hbWU6\r\n"),
        C("YWxpY2U=\r\n"),
        S("+ UGFzc3dvcmQ6\r\n"),
        C("cHc=\r\n"),
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    client
        .authenticate("alice", &secret("pw"), Mechanism::Login)
        .await
        .unwrap();
    drop(client);
    server.await.unwrap();
}

/// Outlook's way: the token is too long for the AUTH line, so it follows the first `+ `; a
/// refused token comes back as a JSON challenge, answered with an empty line, then `-ERR`.
#[tokio::test]
async fn xoauth2_error_json_continuation() {
    use base64::Engine as _;
    let token = "t".repeat(300);
    let ir = base64::engine::general_purpose::STANDARD
        .encode(format!("user=a@outlook.com\x01auth=Bearer {token}\x01\x01"));
    let (stream, server) = scripted(session(vec![
        C("AUTH XOAUTH2\r\n"),
        S("+ \r\n"),
        COwned(format!("{ir}\r\n")),
        // base64('{"status":"401","schemes":"bearer"}')
        S("+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n"),
        C("\r\n"),
        S("-ERR [AUTH] Authentication failure\r\n"),
    ]));
    let mut client = start(stream).await;
    let err = client
        .authenticate("a@outlook.com", &secret(&token), Mechanism::XOAuth2)
        .await
        .unwrap_err();
    match &err {
        Error::TokenRefused(refusal) => {
            assert_eq!(refusal.code, Some(ResponseCode::Auth));
            assert_eq!(refusal.problem(), TokenProblem::ExpiredOrRevoked);
            assert!(refusal.should_refresh());
            let challenge = refusal.challenge.as_ref().unwrap();
            assert_eq!(challenge.status.as_deref(), Some("401"));
            assert_eq!(challenge.schemes.as_deref(), Some("bearer"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the server refused the access token: token expired or revoked (status 401); \
         the server said: Authentication failure"
    );
    assert!(!format!("{err:?}").contains(&token));
    assert!(!err.to_string().contains(&token));
    drop(client);
    server.await.unwrap();
}

/// Two steps asked for (Microsoft's servers): even a short initial response waits for `+ `.
/// A 400 in the error challenge is a bad request, not a token to refresh.
#[tokio::test]
async fn xoauth2_two_steps_when_asked_even_if_short() {
    let (stream, server) = scripted(session(vec![
        C("AUTH XOAUTH2\r\n"),
        S("+ \r\n"),
        // base64("user=u@x\x01auth=Bearer tok\x01\x01")
        C("dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE=\r\n"),
        // base64('{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}')
        S("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n"),
        C("\r\n"),
        S("-ERR [AUTH] Invalid credentials\r\n"),
        // The session goes on after a refusal: the same client may try again.
        C("AUTH XOAUTH2\r\n"),
        S("+ \r\n"),
        C("dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE=\r\n"),
        S("+OK welcome\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    client.set_sasl_two_step(true);
    let err = client
        .authenticate("u@x", &secret("tok"), Mechanism::XOAuth2)
        .await
        .unwrap_err();
    let Error::TokenRefused(refusal) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.problem(), TokenProblem::BadRequest);
    assert!(!refusal.should_refresh());
    let challenge = refusal.challenge.as_ref().unwrap();
    assert_eq!(challenge.scope.as_deref(), Some("https://mail.google.com/"));
    assert!(
        err.to_string().contains("bad request (status 400)"),
        "{err}"
    );
    client
        .authenticate("u@x", &secret("tok"), Mechanism::XOAuth2)
        .await
        .unwrap();
    drop(client);
    server.await.unwrap();
}

/// A "try later" code on the final -ERR says nothing about the token: not TokenRefused.
#[tokio::test]
async fn oauth_refusal_with_a_temporary_code_is_a_login_failure_to_retry_later() {
    let (stream, server) = scripted(session(vec![
        C("AUTH XOAUTH2 dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE=\r\n"),
        S("-ERR [SYS/TEMP] try again later\r\n"),
    ]));
    let mut client = start(stream).await;
    let err = client
        .authenticate("u@x", &secret("tok"), Mechanism::XOAuth2)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::LoginFailed {
                code: Some(ResponseCode::SysTemp),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_temporary());
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn oauthbearer_inline_and_error_answered_with_ctrl_a() {
    let (stream, server) = scripted(vec![
        GREETING,
        C("CAPA\r\n"),
        S("+OK\r\nSASL XOAUTH2 OAUTHBEARER\r\n.\r\n"),
        // base64("n,a=u@x,\x01auth=Bearer tok\x01\x01")
        C("AUTH OAUTHBEARER bixhPXVAeCwBYXV0aD1CZWFyZXIgdG9rAQE=\r\n"),
        S("+ e30=\r\n"),
        C("AQ==\r\n"),
        S("-ERR [AUTH] expired\r\n"),
    ]);
    let mut client = start(stream).await;
    let err = client.login_oauth("u@x", &secret("tok")).await.unwrap_err();
    // An empty JSON object: refused without a reason, so refreshing once may help.
    match &err {
        Error::TokenRefused(refusal) => {
            assert_eq!(refusal.mechanism, Mechanism::OAuthBearer);
            assert_eq!(refusal.problem(), TokenProblem::Refused);
            assert!(refusal.should_refresh());
            assert_eq!(refusal.text, "expired");
        }
        other => panic!("{other:?}"),
    }
    drop(client);
    server.await.unwrap();
}

/// A SCRAM server that says +OK without proving itself is refused, and an impostor's
/// server-first that does not extend our nonce is cancelled with "*".
#[tokio::test]
async fn scram_with_a_bad_server_is_cancelled() {
    // The nonce is random, so this transcript is checked by prefix in a hand-written server.
    let (client_end, mut server_end) = tokio::io::duplex(4096);
    let server = tokio::spawn(async move {
        server_end.write_all(b"+OK\r\n").await.unwrap();
        let mut buf = vec![0; 4096];
        let n = server_end.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"CAPA\r\n");
        server_end.write_all(b"+OK\r\n.\r\n").await.unwrap();
        let n = server_end.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"AUTH SCRAM-SHA-256 biwsbj1hbGljZSxy"));
        // base64("r=foreign,s=c2FsdA==,i=4096")
        server_end
            .write_all(b"+ cj1mb3JlaWduLHM9YzJGc2RBPT0saT00MDk2\r\n")
            .await
            .unwrap();
        let n = server_end.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"*\r\n");
        server_end
            .write_all(b"-ERR authentication cancelled\r\n")
            .await
            .unwrap();
        let n = server_end.read(&mut buf).await.unwrap();
        assert_eq!(n, 0, "nothing after the cancel");
    });
    let mut client = start(client_end.compat()).await;
    let err = client
        .authenticate("alice", &secret("pw"), Mechanism::ScramSha256)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    drop(client);
    server.await.unwrap();
}

/// Before a download, LIST and UIDL go out in one write where the server pipelines: the
/// script answers neither until it has both, so a client that waited for LIST's answer before
/// sending UIDL would stall here.
#[tokio::test]
async fn list_and_uidl_go_together_to_a_server_that_pipelines() {
    let (stream, server) = scripted(vec![
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUIDL\r\nPIPELINING\r\n.\r\n"),
        C("LIST\r\nUIDL\r\n"),
        S("+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK\r\n1 a\r\n2 b\r\n.\r\n"),
        // A refused LIST: UIDL's answer is read too, and the session goes on.
        C("LIST\r\nUIDL\r\n"),
        S("-ERR [SYS/TEMP] busy\r\n+OK\r\n1 a\r\n.\r\n"),
        // A refused UIDL from a server that lists it: an error to retry, beside the sizes.
        C("LIST\r\nUIDL\r\n"),
        S("+OK\r\n1 120\r\n.\r\n-ERR [SYS/TEMP] index busy\r\n"),
        C("NOOP\r\n"),
        S("+OK\r\n"),
    ]);
    let mut client = start(stream).await;
    let (sizes, uidls) = client.list_and_uidl_all().await.unwrap();
    assert_eq!(sizes, [(1, 120), (2, 200)]);
    assert_eq!(uidls.unwrap(), [(1, "a".to_string()), (2, "b".to_string())]);
    let err = client.list_and_uidl_all().await.unwrap_err();
    assert!(
        matches!(&err, Error::Server { code: Some(ResponseCode::SysTemp), text } if text == "busy"),
        "{err:?}"
    );
    let (sizes, uidls) = client.list_and_uidl_all().await.unwrap();
    assert_eq!(sizes, [(1, 120)]);
    assert!(
        matches!(
            uidls,
            Err(Error::Server {
                code: Some(ResponseCode::SysTemp),
                ..
            })
        ),
        "{uidls:?}"
    );
    client.noop().await.unwrap();
    drop(client);
    server.await.unwrap();
}

/// A server without PIPELINING gets them one at a time, and one without UIDL is said to lack
/// it (the caller names messages by their headers).
#[tokio::test]
async fn list_and_uidl_go_one_at_a_time_without_pipelining() {
    let (stream, server) = scripted(vec![
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nTOP\r\n.\r\n"),
        C("LIST\r\n"),
        S("+OK\r\n1 120\r\n.\r\n"),
        C("UIDL\r\n"),
        S("-ERR unknown command\r\n"),
    ]);
    let mut client = start(stream).await;
    let (sizes, uidls) = client.list_and_uidl_all().await.unwrap();
    assert_eq!(sizes, [(1, 120)]);
    assert!(matches!(uidls, Err(Error::Unsupported(_))), "{uidls:?}");
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn pipelined_commands_are_written_together_and_answered_in_order() {
    let (stream, server) = scripted(vec![
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nPIPELINING\r\n.\r\n"),
        // One write holding all four commands.
        C("RETR 1\r\nRETR 2\r\nDELE 1\r\nUIDL\r\n"),
        S("+OK\r\none\r\n.\r\n\
           -ERR no such message\r\n\
           +OK deleted\r\n\
           +OK\r\n1 a\r\n.\r\n"),
        C("LIST 1\r\n"),
        S("+OK 1 3\r\n"),
        C("QUIT\r\n"),
        S("+OK\r\n"),
    ]);
    let mut client = start(stream).await;
    for c in [
        Command::Retr(1),
        Command::Retr(2),
        Command::Dele(1),
        Command::Uidl(None),
    ] {
        client.send_pipelined(c).unwrap();
    }
    assert_eq!(client.in_flight(), 4);
    // A one-at-a-time command must wait for the pipeline to drain.
    assert!(matches!(client.stat().await, Err(Error::Usage(_))));
    let mut bodies = Vec::new();
    for _ in 0..4 {
        let mut body = Vec::new();
        let r = client.next_response(&mut collect(&mut body)).await.unwrap();
        bodies.push((r.command, r.status.ok, String::from_utf8(body).unwrap()));
    }
    assert_eq!(
        bodies,
        [
            (Command::Retr(1), true, "one\r\n".to_string()),
            (Command::Retr(2), false, String::new()),
            (Command::Dele(1), true, String::new()),
            (Command::Uidl(None), true, "1 a\r\n".to_string()),
        ]
    );
    assert!(matches!(
        client.next_response(&mut |_| Ok(())).await,
        Err(Error::Usage(_))
    ));
    // A queued command goes out with quit, whose drain reads its answer first.
    client.send_pipelined(Command::List(Some(1))).unwrap();
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn without_pipelining_the_window_is_one() {
    let (stream, server) = scripted(session(vec![C("NOOP\r\n"), S("+OK\r\n")]));
    let mut client = start(stream).await;
    client.send_pipelined(Command::Noop).unwrap();
    assert!(matches!(
        client.send_pipelined(Command::Noop),
        Err(Error::Usage(_))
    ));
    assert!(matches!(
        client.send_pipelined(Command::Stls),
        Err(Error::Usage(_))
    ));
    client.next_response(&mut |_| Ok(())).await.unwrap();
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn a_sink_error_leaves_the_session_unusable() {
    let (stream, server) = scripted(session(vec![C("RETR 1\r\n"), S("+OK\r\nbody\r\n.\r\n")]));
    let mut client = start(stream).await;
    let err = client
        .retr(1, &mut |_| Err(Error::Usage("store full")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Usage("store full")));
    assert!(matches!(client.noop().await, Err(Error::Usage(_))));
    drop(client);
    server.await.unwrap();
}

/// RFC 2595 section 4: STLS stripped from CAPA by an attacker: the client stops before
/// sending anything else, credentials above all.
#[tokio::test]
async fn stls_stripped_from_capa_stops_before_credentials() {
    let (stream, server) = scripted(vec![
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nUIDL\r\n.\r\n"),
    ]);
    let opts = ConnectOptions::new("pop.example.org", Security::Stls);
    let err = connect(stream, &opts).await.err().expect("refused");
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    server.await.unwrap();
}

/// RFC 2595 section 4: bytes injected after the STLS +OK, before the handshake, would be read
/// as if they came over TLS: refuse, and send nothing more.
#[tokio::test]
async fn stls_injection_is_refused_before_credentials() {
    let (stream, server) = scripted(vec![
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
        C("STLS\r\n"),
        S("+OK Begin TLS\r\n+OK injected\r\n"),
    ]);
    let opts = ConnectOptions::new("pop.example.org", Security::Stls);
    let err = connect(stream, &opts).await.err().expect("refused");
    assert!(matches!(err, Error::DataAfterStls), "{err:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn stls_refused_by_the_server_is_an_error() {
    let (stream, server) = scripted(vec![
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSTLS\r\n.\r\n"),
        C("STLS\r\n"),
        S("-ERR [SYS/TEMP] TLS not available\r\n"),
    ]);
    let opts = ConnectOptions::new("pop.example.org", Security::Stls);
    let err = connect(stream, &opts).await.err().expect("refused");
    assert!(matches!(err, Error::Server { .. }), "{err:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn greeting_err_is_a_server_error() {
    let (stream, server) = scripted(vec![S("-ERR [SYS/TEMP] too many connections\r\n")]);
    let err = Client::start(stream, Limits::default())
        .await
        .err()
        .expect("refused");
    assert!(err.is_temporary(), "{err:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn a_line_past_the_limit_is_too_long_not_growth() {
    let (stream, server) = scripted(vec![S(
        "+OK aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    )]);
    let limits = Limits {
        max_line: 32,
        max_multiline: 1024,
        ..Limits::default()
    };
    let err = Client::start(stream, limits).await.err().expect("refused");
    assert!(matches!(err, Error::TooLong { .. }), "{err:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn a_message_past_the_limit_is_too_long() {
    let (stream, server) = scripted(vec![
        S("+OK\r\n"),
        C("CAPA\r\n"),
        S("-ERR\r\n"),
        C("RETR 1\r\n"),
        S("+OK\r\n0123456789012345678901234567890123456789\r\n.\r\n"),
    ]);
    let limits = Limits {
        max_line: 100,
        max_multiline: 16,
        ..Limits::default()
    };
    let mut client = Client::start(stream, limits).await.unwrap();
    let err = client.retr(1, &mut |_| Ok(())).await.unwrap_err();
    assert!(matches!(err, Error::TooLong { .. }), "{err:?}");
    drop(client);
    server.await.unwrap();
}

/// Issue 19 item 6: APOP, offered by Cyrus and others, is reachable as the user's choice.
#[tokio::test]
async fn apop_chosen_by_the_user_is_used_and_reported() {
    let (stream, server) = scripted(session(vec![
        C("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
        S("+OK maildrop has 1 message (369 octets)\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\n.\r\n"),
    ]));
    let mut client = start(stream).await;
    assert!(client.apop_offered());
    let method = client
        .login_with(
            "mrose",
            &secret("tanstaaf"),
            AuthChoice::Only(AuthMethod::Apop),
            None,
        )
        .await
        .unwrap();
    assert_eq!(method, AuthMethod::Apop);
    drop(client);
    server.await.unwrap();
}

/// CRAM-MD5 refused (the backend cannot check it): PLAIN next, over a connection that may
/// carry the password ("no encryption" to this machine).
#[tokio::test]
async fn cram_md5_refused_falls_back_to_plain() {
    let (stream, server) = scripted(vec![
        GREETING,
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nRESP-CODES\r\nSASL CRAM-MD5 PLAIN\r\n.\r\n"),
        C("AUTH CRAM-MD5\r\n"),
        S("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
        C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
        S("-ERR [AUTH] Authentication failed.\r\n"),
        // base64("\0tim\0tanstaaftanstaaf")
        C("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
        S("+OK Logged in.\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\n.\r\n"),
    ]);
    let opts = ConnectOptions::new("localhost", Security::None);
    let mut client = connect(stream, &opts).await.unwrap();
    let method = client
        .login("tim", &secret("tanstaaftanstaaf"))
        .await
        .unwrap();
    assert_eq!(method, AuthMethod::Sasl(Mechanism::Plain));
    drop(client);
    server.await.unwrap();
}

/// A client not made by `connect` cannot know the stream is encrypted: after a refusal it does
/// not send the password itself.
#[tokio::test]
async fn no_fallback_to_the_password_itself_on_a_stream_not_known_to_be_safe() {
    let (stream, server) = scripted(session_with_capa(
        "+OK\r\nUSER\r\nSASL CRAM-MD5 PLAIN\r\n.\r\n",
        vec![
            C("AUTH CRAM-MD5\r\n"),
            S("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
            C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
            S("-ERR Authentication failed.\r\n"),
        ],
    ));
    let mut client = start(stream).await;
    let err = client
        .login("tim", &secret("tanstaaftanstaaf"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server refused the login: Authentication failed. (PLAIN and USER/PASS were not \
         tried: the connection is not encrypted)"
    );
    drop(client);
    server.await.unwrap();
}

/// `[SYS/TEMP]`, `[IN-USE]`, `[LOGIN-DELAY]` (try later) and `[SYS/PERM]` stop the fallback:
/// no further method is tried.
#[tokio::test]
async fn temporary_and_permanent_codes_stop_the_fallback() {
    for (line, temporary) in [
        ("-ERR [SYS/TEMP] auth service down\r\n", true),
        ("-ERR [IN-USE] locked\r\n", true),
        ("-ERR [LOGIN-DELAY] wait\r\n", true),
        ("-ERR [SYS/PERM] account disabled\r\n", false),
    ] {
        let (stream, server) = scripted(vec![
            GREETING,
            C("CAPA\r\n"),
            S("+OK\r\nUSER\r\nSASL CRAM-MD5 PLAIN\r\n.\r\n"),
            C("AUTH CRAM-MD5\r\n"),
            S("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
            C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
            S(line),
        ]);
        let opts = ConnectOptions::new("localhost", Security::None);
        let mut client = connect(stream, &opts).await.unwrap();
        let err = client
            .login("tim", &secret("tanstaaftanstaaf"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::LoginFailed { .. }), "{line}: {err:?}");
        assert_eq!(err.is_temporary(), temporary, "{line}");
        drop(client);
        server.await.unwrap();
    }
}

/// "No encryption" or STARTTLS against a port that speaks TLS from the first byte: a TLS
/// record (here an alert, 0x15) instead of a greeting is a settings mistake, said at once, not
/// after the server gives up.
#[tokio::test]
async fn a_tls_record_instead_of_a_greeting_fails_at_once() {
    let (stream, server) = scripted(vec![S("\x15\x03\x03\x00\x02\x02\x32")]);
    let start = Client::start(stream, Limits::default());
    let err = tokio::time::timeout(std::time::Duration::from_secs(2), start)
        .await
        .expect("the client must not wait for a line end")
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "this port expects TLS from the first byte (usually port 995): choose TLS for this \
         account, or check the port"
    );
    assert!(!err.is_temporary());
    server.await.unwrap();
}

/// A hostile server's endless CAPA is cut at its own limit, far below a message's.
#[tokio::test]
async fn an_endless_capa_is_cut_at_its_limit() {
    let capa: &'static str =
        Box::leak(format!("+OK\r\n{}", "X-CAP\r\n".repeat(1_001)).into_boxed_str());
    let (stream, server) = scripted(vec![S("+OK\r\n"), C("CAPA\r\n"), S(capa)]);
    let err = Client::start(stream, Limits::default())
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "the server sent a capability list (CAPA) longer than 1000 lines; Postino stopped \
         reading it"
    );
    server.await.unwrap();
}

/// A UIDL listing with an endless line is cut at 1 KiB.
#[tokio::test]
async fn a_uidl_line_past_one_kib_is_cut() {
    let listing: &'static str =
        Box::leak(format!("+OK\r\n1 {}\r\n.\r\n", "u".repeat(2000)).into_boxed_str());
    let (stream, server) = scripted(session(vec![C("UIDL\r\n"), S(listing)]));
    let mut client = start(stream).await;
    let err = client.uidl_all().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server sent a UIDL listing longer than 1024 bytes; Postino stopped reading it"
    );
    drop(client);
    server.await.unwrap();
}

/// Greeting, then this CAPA answer, then the given steps.
fn session_with_capa(capa: &'static str, steps: Vec<Step>) -> Vec<Step> {
    let mut all = vec![GREETING, C("CAPA\r\n"), S(capa)];
    all.extend(steps);
    all
}

#[tokio::test]
async fn uidl_refused_by_a_server_that_lists_it_is_an_error_not_a_missing_uidl() {
    // CAPA lists UIDL: a refusal (here a temporary one, then a plain one) must not make the
    // caller name messages another way and download the mailbox again.
    let (stream, server) = scripted(session(vec![
        C("UIDL\r\n"),
        S("-ERR [SYS/TEMP] index busy\r\n"),
        C("UIDL\r\n"),
        S("-ERR not now\r\n"),
    ]));
    let mut client = start(stream).await;
    let err = client.uidl_all().await.unwrap_err();
    assert!(
        matches!(&err, Error::Server { code: Some(ResponseCode::SysTemp), text } if text == "index busy"),
        "{err:?}"
    );
    assert!(err.is_temporary());
    let err = client.uidl_all().await.unwrap_err();
    assert!(
        matches!(&err, Error::Server { code: None, text } if text == "not now"),
        "{err:?}"
    );
    drop(client);
    server.await.unwrap();
}
