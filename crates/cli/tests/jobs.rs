//! Several accounts in one run, against two real Dovecots: fetched at the same time up to
//! `--jobs`, one after the other beyond it; accounts sharing a destination follow each other
//! within the run (never skipped by `--no-wait`); progress as plain lines off a terminal.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{dovecot, gated_proxy, mails, temp, text, tls_server, wait_for};

fn account(name: &str, port: u16, fingerprint: &str, destination: &str) -> String {
    format!(
        "[[account]]\nname = \"{name}\"\nuser = \"alice\"\npassword_env = \"POSTINO_TEST_PASSWORD\"\n\
         {}{destination}\n",
        tls_server(port, fingerprint)
    )
}

fn spawn(config: &Path, extra: &[&str]) -> Child {
    common::postino(config)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn write(dir: &Path, accounts: &[String]) -> std::path::PathBuf {
    let path = dir.join("accounts.toml");
    std::fs::write(&path, accounts.concat()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("new")).map_or(0, |r| r.count())
}

#[test]
fn two_servers_are_fetched_at_once_up_to_jobs() {
    let (d1, d2) = (dovecot(), dovecot());
    let dir = temp("jobs");
    for jobs in ["2", "1"] {
        let (open1, open2) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (p1, seen1) = gated_proxy(d1.pop3s_port(), open1.clone());
        let (p2, seen2) = gated_proxy(d2.pop3s_port(), open2.clone());
        let (m1, m2) = (
            dir.join(format!("one-{jobs}")),
            dir.join(format!("two-{jobs}")),
        );
        let config = write(
            &dir,
            &[
                account("one", p1, &d1.fingerprint(), &format!("maildir = {m1:?}")),
                account("two", p2, &d2.fingerprint(), &format!("maildir = {m2:?}")),
            ],
        );
        let child = spawn(&config, &["--jobs", jobs]);
        wait_for("the first account connects", || {
            seen1.load(Ordering::SeqCst) == 1
        });
        if jobs == "2" {
            // Both connect while neither has got a byte: they run at the same time.
            wait_for("the second account connects", || {
                seen2.load(Ordering::SeqCst) == 1
            });
        } else {
            std::thread::sleep(Duration::from_millis(700));
            assert_eq!(
                seen2.load(Ordering::SeqCst),
                0,
                "--jobs 1 runs one at a time"
            );
        }
        open1.store(true, Ordering::SeqCst);
        open2.store(true, Ordering::SeqCst);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!((count(&m1), count(&m2)), (mails().len(), mails().len()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        for name in ["one", "two"] {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("{name}: {} new", mails().len()))),
                "{stdout}"
            );
        }
        // Off a terminal, progress is a plain line per account, on standard error.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("one: downloading {} new messages", mails().len())),
            "{stderr}"
        );
        assert!(!stderr.contains('\x1b'), "{stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn accounts_sharing_a_destination_follow_each_other_even_with_no_wait() {
    let (d1, d2) = (dovecot(), dovecot());
    let dir = temp("jobs-shared");
    let maildir = dir.join("Mail");
    let destination = format!("maildir = {maildir:?}");
    let config = write(
        &dir,
        &[
            account("one", d1.pop3s_port(), &d1.fingerprint(), &destination),
            account("two", d2.pop3s_port(), &d2.fingerprint(), &destination),
        ],
    );
    let out = common::postino(&config)
        .args(["--no-wait", "--jobs", "4", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(count(&maildir), 2 * mails().len(), "{}", text(&out));
    assert!(!text(&out).contains("skipped"), "{}", text(&out));
    let out = common::postino(&config).args(["--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn on_a_terminal_each_account_has_a_line_rewritten_in_place() {
    let (d1, d2) = (dovecot(), dovecot());
    let dir = temp("jobs-tty");
    let config = write(
        &dir,
        &[
            account(
                "one",
                d1.pop3s_port(),
                &d1.fingerprint(),
                &format!("maildir = {:?}", dir.join("A")),
            ),
            account(
                "two",
                d2.pop3s_port(),
                &d2.fingerprint(),
                &format!("maildir = {:?}", dir.join("B")),
            ),
        ],
    );
    // util-linux script(1) runs it on a pseudo-terminal and copies what it shows.
    let command = format!(
        "'{}' --config '{}'",
        env!("CARGO_BIN_EXE_postino"),
        config.display()
    );
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("POSTINO_TEST_PASSWORD", common::PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    // The two lines are cleared and drawn again (up two lines, clear to the end).
    assert!(screen.contains("\x1b[2A\r\x1b[J"), "{screen:?}");
    let n = mails().len();
    // The reports, and the last state of each line.
    for text in [
        format!("one: {n} new ("),
        format!("two: {n} new ("),
        format!("one: {n} new in "),
        format!("two: {n} new in "),
    ] {
        assert!(screen.contains(&text), "{text:?} not in {screen:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn jobs_out_of_range_is_a_usage_error() {
    let status = Command::new(env!("CARGO_BIN_EXE_postino"))
        .args(["--jobs", "0"])
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(2));
}
