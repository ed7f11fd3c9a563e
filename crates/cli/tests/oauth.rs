//! `auth = "oauth2"` against real parts: a real OAuth 2.0 server (`tests/oauth/mock.mjs`,
//! oauth2-mock-server, strict about the client secret, PKCE and revoked refresh tokens) and a
//! Dovecot that validates its tokens itself (passdb oauth2). `postino login` is driven the way
//! a browser would: the printed address fetched with GET, the mock's redirect followed to
//! postino's loopback listener.
//!
//! Needs `npm ci --no-audit --no-fund --prefix tests/oauth` (Node.js 20 or later).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{mails, temp, text, tls_server};
use postino_testkit::oauth_mock::http;
use postino_testkit::{
    Dovecot, DovecotExtras, DovecotOAuth2, DovecotOptions, OAuthMock, OAuthMockOptions,
};

const CLIENT_ID: &str = "postino-cli-test";
const CLIENT_SECRET: &str = "cli-client-secret";
/// Every wait on the binary or a server.
const DEADLINE: Duration = Duration::from_secs(60);

struct Servers {
    mock: OAuthMock,
    dovecot: Dovecot,
}

fn servers() -> Servers {
    let mock = OAuthMock::start(&OAuthMockOptions {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        sub: "alice".into(),
    })
    .expect("the OAuth stand-in starts");
    let dovecot = Dovecot::start_with(
        &DovecotOptions {
            user: "alice".into(),
            password: "not used by these tests".into(),
            fixtures: mails(),
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

/// `accounts.toml` in `dir` (0600): account `test` of alice with auth = "oauth2" and `lines`.
fn write_config(dir: &Path, s: &Servers, lines: &str) -> PathBuf {
    let path = dir.join("accounts.toml");
    std::fs::write(
        &path,
        format!(
            "[[account]]\nname = \"test\"\nuser = \"alice\"\nauth = \"oauth2\"\n{}maildir = \"{}\"\n{lines}\n",
            tls_server(s.dovecot.pop3s_port(), &s.dovecot.fingerprint()),
            dir.join("mail").display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The `[account.oauth]` table for the mock, its client secret in a file of `dir`.
fn client_table(dir: &Path, s: &Servers) -> String {
    let secret = dir.join("client-secret");
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    format!(
        "[account.oauth]\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_file = \"{}\"\nscopes = [\"mail\", \"offline_access\"]\n",
        s.mock.authorize_url(),
        s.mock.token_url(),
        secret.display()
    )
}

/// The binary with `config` and its state in `dir/state`, no standard input.
fn postino(dir: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postino"));
    c.arg("--config")
        .arg(config)
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null());
    c
}

/// Runs `command` to its end within [`DEADLINE`].
fn run(mut command: Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child)
}

fn finish(mut child: Child) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("postino did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn token_file(dir: &Path) -> PathBuf {
    dir.join("state/postino/test/oauth.json")
}

fn tokens(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(token_file(dir)).unwrap()).unwrap()
}

fn set_tokens(dir: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let mut t = tokens(dir);
    change(&mut t);
    std::fs::write(token_file(dir), t.to_string()).unwrap();
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn messages_in(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("mail/new")).map_or(0, |d| d.count())
}

/// Logins Dovecot refused so far (its log line for a session that ended so).
fn refused_logins(s: &Servers) -> usize {
    std::fs::read_to_string(s.dovecot.dir().join("dovecot.log"))
        .unwrap_or_default()
        .matches("auth failed")
        .count()
}

/// `postino login test`, with this test as the browser: the printed address is fetched, the
/// provider's redirect followed to postino's listener. Returns postino's output and the page.
fn sign_in(dir: &Path, config: &Path, s: &Servers) -> (Output, String) {
    let mut child = postino(dir, config)
        .args(["login", "test"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let trimmed = line.trim();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                let _ = send.send(Ok(trimmed.to_owned()));
            }
            lines.push(line);
        }
        let _ = send.send(Err(lines.join("\n")));
    });
    let url = match receive.recv_timeout(DEADLINE) {
        Ok(Ok(url)) => url,
        other => {
            let _ = child.kill();
            panic!("no address printed: {other:?}");
        }
    };
    let authorize = url
        .strip_prefix(s.mock.url())
        .unwrap_or_else(|| panic!("{url} is not the mock's"));
    assert!(authorize.starts_with("/authorize?"), "{url}");
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        "scope=mail%20offline_access",
    ] {
        assert!(url.contains(part), "{part} in {url}");
    }
    // The browser: the provider redirects to postino's loopback address with a code.
    let (status, headers, _) = http(s.mock.port(), "GET", authorize, &[], "").unwrap();
    assert_eq!(status, 302, "{headers:?}");
    let location = &headers.iter().find(|(n, _)| n == "location").unwrap().1;
    let rest = location
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("redirect to {location}"));
    let (port, path) = rest.split_at(rest.find('/').unwrap());
    assert!(path.contains("code=") && path.contains("state="), "{path}");
    // A browser's preconnection that sends nothing does not hold up the answer.
    let port: u16 = port.parse().unwrap();
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let asked = Instant::now();
    // A request that is not the provider's answer does not end the wait.
    let (status, _, _) = http(port, "GET", "/?code=x&state=forged", &[], "").unwrap();
    assert_eq!(status, 400);
    let (status, _, page) = http(port, "GET", path, &[], "").unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let mut out = finish(child);
    // What the reader thread saw on standard output.
    if let Ok(Err(lines)) = receive.recv_timeout(DEADLINE) {
        out.stdout = lines.into_bytes();
    }
    (out, page)
}

#[test]
fn login_fetch_refresh_ahead_refresh_on_refusal_and_revoked_sign_in() {
    let s = servers();
    let dir = temp("oauth-login");
    let config = write_config(&dir, &s, &client_table(&dir, &s));

    // Not signed in yet: says how to.
    let out = run(postino(&dir, &config));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("not signed in yet: run `postino login test`"),
        "{}",
        text(&out)
    );

    let (out, page) = sign_in(&dir, &config, &s);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(page.contains("Postino is signed in"), "{page}");
    assert!(text(&out).contains("Signed in."), "{}", text(&out));
    let mode = std::fs::metadata(token_file(&dir))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let signed_in = tokens(&dir);
    let access = signed_in["access_token"].as_str().unwrap().to_owned();
    let refresh = signed_in["refresh_token"].as_str().unwrap().to_owned();
    assert!(!access.is_empty() && !refresh.is_empty());
    assert!(signed_in["expires_at"].as_i64().unwrap() > now() + 600);
    assert!(!text(&out).contains(&access) && !text(&out).contains(&refresh));

    // The fetch logs in with the access token.
    let out = run(postino(&dir, &config));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out),
        s.dovecot.log_tail(20)
    );
    assert_eq!(messages_in(&dir), mails().len());
    assert!(!text(&out).contains(&access), "{}", text(&out));
    assert_eq!(
        tokens(&dir)["access_token"],
        access.as_str(),
        "not refreshed yet"
    );

    // Ending within the refresh margin: renewed before logging in, no refused login.
    let refused = refused_logins(&s);
    set_tokens(&dir, |t| t["expires_at"] = (now() + 30).into());
    let out = run(postino(&dir, &config));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Rewritten with the new token's lifetime (the mock's JWT of the same second may be the
    // same bytes, so the expiry is what tells).
    assert!(tokens(&dir)["expires_at"].as_i64().unwrap() > now() + 600);
    assert_eq!(refused_logins(&s), refused, "{}", s.dovecot.log_tail(20));

    // An access token the server refuses though it has time left: refreshed once, retried.
    let expired = s.mock.access_token("alice", -600, None).unwrap();
    set_tokens(&dir, |t| {
        t["access_token"] = expired.as_str().into();
        t["expires_at"] = (now() + 3000).into();
    });
    let out = run(postino(&dir, &config));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out),
        s.dovecot.log_tail(20)
    );
    assert!(tokens(&dir)["access_token"] != expired.as_str());
    assert!(refused_logins(&s) > refused, "the first login was refused");

    // The provider revokes the refresh token: exit 3, and the sentence saying what to do.
    s.mock.revoke_refresh_tokens().unwrap();
    set_tokens(&dir, |t| t["expires_at"] = 0.into());
    let out = run(postino(&dir, &config));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("the provider refused to renew the sign-in (invalid_grant")
            && said.contains("run `postino login test` to sign in again"),
        "{said}"
    );
    // Signing in again mends it.
    let (out, _) = sign_in(&dir, &config, &s);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(postino(&dir, &config));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Tokens the server refuses even fresh (here: they are for another user): refreshed
    // once, then exit 3 saying to sign in again.
    let other_user = std::fs::read_to_string(&config)
        .unwrap()
        .replace("user = \"alice\"", "user = \"bob\"");
    std::fs::write(&config, other_user).unwrap();
    let before = tokens(&dir)["expires_at"].as_i64().unwrap();
    set_tokens(&dir, |t| t["expires_at"] = (before - 1).into());
    let out = run(postino(&dir, &config));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("run `postino login test` to sign in again"),
        "{}",
        text(&out)
    );
    assert!(
        tokens(&dir)["expires_at"].as_i64().unwrap() >= before,
        "refreshed once before giving up"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_token_command_gives_the_token_without_the_accounts_secrets_and_runs_again_once_refused() {
    let s = servers();
    let dir = temp("oauth-command");
    let good = dir.join("good-token");
    let expired = dir.join("expired-token");
    std::fs::write(&good, s.mock.access_token("alice", 3600, None).unwrap()).unwrap();
    std::fs::write(&expired, s.mock.access_token("alice", -600, None).unwrap()).unwrap();
    let runs = dir.join("runs");
    // First run: an expired token; later runs: a good one. Each run leaves a line in `runs`,
    // and says whether it saw the other account's password variable.
    let script = format!(
        "echo \"${{POSTINO_OTHER_PASSWORD:-hidden}}\" >> '{runs}'; \
         if [ -s '{runs}.first' ]; then cat '{good}'; else echo x > '{runs}.first'; cat '{expired}'; fi",
        runs = runs.display(),
        good = good.display(),
        expired = expired.display(),
    );
    let config = write_config(
        &dir,
        &s,
        &format!(
            "token_command = [\"sh\", \"-c\", {script:?}]\ntoken_timeout = 20\n\
             [[account]]\nname = \"other\"\nhost = \"localhost\"\nuser = \"bob\"\n\
             password_env = \"POSTINO_OTHER_PASSWORD\"\nmbox = \"{}\"\n",
            dir.join("other.mbox").display()
        ),
    );
    let mut command = postino(&dir, &config);
    command
        .args(["--account", "test"])
        .env("POSTINO_OTHER_PASSWORD", "bobs-password");
    let out = run(command);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out),
        s.dovecot.log_tail(20)
    );
    assert_eq!(messages_in(&dir), mails().len());
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "hidden\nhidden\n",
        "run twice (refused, then again), never seeing the password"
    );

    // A command that fails: the account fails, saying so.
    let config = write_config(&dir, &s, "token_command = \"false\"\n");
    let out = run(postino(&dir, &config));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("token_command: \"false\" failed"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn oauth2_settings_that_do_not_go_together_are_refused() {
    let dir = temp("oauth-config");
    let base = "[[account]]\nname = \"a\"\nhost = \"h\"\nuser = \"u\"\nmbox = \"m\"\n";
    let cases = [
        (
            "auth = \"oauth2\"\n",
            "needs exactly one of token_command or an [account.oauth]",
        ),
        (
            "auth = \"oauth2\"\ntoken_command = \"x\"\npassword_env = \"X\"\n",
            "not a password",
        ),
        (
            "token_command = \"x\"\npassword_env = \"X\"\n",
            "are for auth = \"oauth2\"",
        ),
        (
            "auth = \"oauth2\"\n[account.oauth]\nauthorize_url = \"https://a.example/\"\n\
             token_url = \"http://a.example/token\"\nclient_id = \"c\"\n",
            "oauth.token_url: \"http://a.example/token\" must be an https:// address",
        ),
        ("auth = \"oauth3\"\npassword_env = \"X\"\n", "or oauth2"),
    ];
    for (lines, said) in cases {
        let path = dir.join("accounts.toml");
        std::fs::write(&path, format!("{base}{lines}")).unwrap();
        let out = run(postino(&dir, &path));
        assert_eq!(out.status.code(), Some(2), "{lines}: {}", text(&out));
        assert!(text(&out).contains(said), "{lines}: {}", text(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
