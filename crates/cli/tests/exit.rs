//! The exit status a script acts on (`exit.rs`), from real runs against Dovecot: 0 new mail,
//! 1 none, 2 a wrong command line or accounts file, 3 a failure that retrying will not fix,
//! 75 try again later; with several accounts the most serious one.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{dovecot, temp, text, PASSWORD};

/// An `[[account]]` of user alice on this machine's `port`, into a Maildir of `dir`.
fn account(dir: &Path, name: &str, port: u16, fingerprint: &str, password_env: &str) -> String {
    format!(
        "[[account]]\nname = \"{name}\"\nhost = \"localhost\"\nport = {port}\nsecurity = \"tls\"\n\
         pinned_cert = \"{fingerprint}\"\nuser = \"alice\"\npassword_env = \"{password_env}\"\n\
         maildir = {:?}\nconnect_timeout = 5\n",
        dir.join(name)
    )
}

fn write(dir: &Path, accounts: &[String]) -> PathBuf {
    let path = dir.join("accounts.toml");
    std::fs::write(&path, accounts.concat()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn code(config: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = common::postino(config)
        .args(["--quiet"])
        .args(extra)
        .env("WRONG_PASSWORD", "wrong")
        .output()
        .unwrap();
    (out.status.code(), text(&out))
}

/// A port of this machine where nobody listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn exit_statuses_say_new_mail_none_retry_or_failed() {
    let d = dovecot();
    let dir = temp("exit");
    let fp = d.fingerprint();
    let good = account(&dir, "good", d.pop3s_port(), &fp, "POSTINO_TEST_PASSWORD");
    let unreachable = account(
        &dir,
        "unreachable",
        closed_port(),
        &fp,
        "POSTINO_TEST_PASSWORD",
    );
    let refused = account(&dir, "refused", d.pop3s_port(), &fp, "WRONG_PASSWORD");
    assert_eq!(PASSWORD, "pw");

    let config = write(&dir, std::slice::from_ref(&good));
    assert_eq!(code(&config, &[]).0, Some(0), "new mail");
    assert_eq!(code(&config, &[]).0, Some(1), "no new mail");

    // An unreachable server is worth retrying; mail from another account does not hide it.
    let config = write(&dir, &[unreachable.clone(), good.clone()]);
    let (status, out) = code(&config, &[]);
    assert_eq!(status, Some(75), "{out}");
    assert!(
        out.contains("postino: unreachable: could not connect"),
        "{out}"
    );

    // A refused login is not, and outranks the temporary failure.
    let config = write(&dir, &[unreachable, refused.clone(), good]);
    let (status, out) = code(&config, &[]);
    assert_eq!(status, Some(3), "{out}");
    assert!(out.contains("postino: refused: "), "{out}");
    // ... unless only the others are asked for.
    assert_eq!(code(&config, &["--account", "good"]).0, Some(1));

    // Usage: an unknown account, an unknown flag, a broken accounts file.
    let (status, out) = code(&config, &["--account", "nobody"]);
    assert_eq!(status, Some(2), "{out}");
    assert_eq!(code(&config, &["--frobnicate"]).0, Some(2));
    std::fs::write(&config, "[[account]]\nname = \"x\"\n").unwrap();
    assert_eq!(code(&config, &[]).0, Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn help_lists_the_exit_statuses() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postino"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for line in [
        "Exit status:",
        "  0   new mail",
        "  1   no new mail",
        "  2   wrong command line or accounts file",
        "  3   an account failed",
        "  75  try again later",
    ] {
        assert!(help.contains(line), "{line:?} not in:\n{help}");
    }
}
