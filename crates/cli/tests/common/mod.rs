//! What the `postino` binary's integration tests share: a temporary folder, the fixtures in a
//! Dovecot, an `accounts.toml`, and the binary to run.
#![allow(dead_code)] // each test file uses a part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use postino_testkit::{fixtures, workspace_root, Dovecot, DovecotOptions};

/// The password of user `alice` in every test server.
pub const PASSWORD: &str = "pw";

/// An empty folder of its own for test `name`.
pub fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("postino-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The project's mail fixtures, as received.
pub fn mails() -> Vec<Vec<u8>> {
    fixtures(workspace_root().join("tests/fixtures/mail"))
        .into_iter()
        .map(|(_, raw)| raw)
        .collect()
}

/// Dovecot with user alice holding `mails`.
pub fn dovecot_with(mails: Vec<Vec<u8>>) -> Dovecot {
    Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: PASSWORD.into(),
        fixtures: mails,
    })
    .unwrap()
}

/// Dovecot with user alice holding the fixtures.
pub fn dovecot() -> Dovecot {
    dovecot_with(mails())
}

/// The account lines for a TLS server on `port` of this machine, its certificate pinned.
pub fn tls_server(port: u16, fingerprint: &str) -> String {
    format!(
        "host = \"localhost\"\nport = {port}\nsecurity = \"tls\"\npinned_cert = \"{fingerprint}\"\n"
    )
}

/// `accounts.toml` in `dir`, private (0600): one account `test` of user alice, then `lines`
/// (server, destination, settings, a policy table last).
pub fn write_config(dir: &Path, lines: &str) -> PathBuf {
    let path = dir.join("accounts.toml");
    std::fs::write(
        &path,
        format!(
            "[[account]]\nname = \"test\"\nuser = \"alice\"\n\
             password_env = \"POSTINO_TEST_PASSWORD\"\n{lines}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The binary with `config`, the password in its environment, and no standard input.
pub fn postino(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postino"));
    c.arg("--config")
        .arg(config)
        .env("POSTINO_TEST_PASSWORD", PASSWORD)
        .stdin(Stdio::null());
    c
}

/// Standard output then standard error, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
