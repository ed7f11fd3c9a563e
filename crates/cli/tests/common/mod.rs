//! What the `postino` binary's integration tests share: a temporary folder, the fixtures in a
//! Dovecot, an `accounts.toml`, and the binary to run.
#![allow(dead_code)] // each test file uses a part

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

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

/// A TCP proxy on loopback to `upstream` that holds each connection, before passing a byte,
/// until `open` is set. Returns its port and how many connections it accepted.
pub fn gated_proxy(upstream: u16, open: Arc<AtomicBool>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let open = open.clone();
            thread::spawn(move || {
                while !open.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10));
                }
                let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    })
                };
                let a = pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                let b = pipe(server, client);
                let _ = a.join();
                let _ = b.join();
            });
        }
    });
    (port, accepted)
}

pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        thread::sleep(Duration::from_millis(20));
    }
}
