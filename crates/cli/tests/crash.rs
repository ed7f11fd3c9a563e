//! The `postino` binary killed (SIGKILL) at random points of a download from a real Dovecot,
//! into Maildir and into mbox, keeping mail on the server or deleting it after download: after
//! each kill, nothing is lost (what the server still holds and what is stored cover every
//! message), and a rerun completes with every message stored exactly once, byte for byte.
//!
//! The store commits a batch at a time (group commit, see src/disk.rs), so a kill can land
//! between a batch's files and its ledger lines, or inside an mbox append.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use postino_sync::mailbox::mbox::{self, normalize_eml};
mod common;

use common::{dovecot_with, temp, tls_server};
use postino_testkit::{generated_mailbox, Dovecot};

/// Messages in the mailbox: enough for several batches (the runner commits up to 64 at a time).
const MESSAGES: usize = 500;
/// Kills per combination of destination and policy: 4 x 13 = 52 in all.
const KILLS: usize = 13;

fn write_config(dir: &Path, d: &Dovecot, destination: &str, delete: bool) -> PathBuf {
    let policy = if delete {
        "[account.policy]\ndelete = { kind = \"after_download\" }\n"
    } else {
        ""
    };
    common::write_config(
        dir,
        &format!(
            "{}{destination}\n{policy}",
            tls_server(d.pop3s_port(), &d.fingerprint())
        ),
    )
}

fn postino(config: &Path) -> Command {
    let mut c = common::postino(config);
    c.arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_to_completion(config: &Path) {
    let out = postino(config).output().unwrap();
    // 0: new mail; 1: none left (the killed run had stored it all).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file in `dir`'s `new/` and `cur/`, as received (CRLF).
fn maildir_messages(dir: &Path) -> Vec<Vec<u8>> {
    ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
        .flatten()
        // Dovecot may still be expunging what a session killed during QUIT deleted: a file
        // gone meanwhile was stored before its DELE.
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .map(|raw| normalize_eml(&raw))
        .collect()
}

/// What the destination holds, as received (CRLF). An mbox entry cut by the kill is left out.
fn stored(destination: &Destination) -> Vec<Vec<u8>> {
    match destination {
        Destination::Maildir(dir) => maildir_messages(dir),
        Destination::Mbox(file) => {
            let bytes = std::fs::read(file).unwrap_or_default();
            let limits = mbox::Limits {
                max_message: usize::MAX,
            };
            mbox::split(&bytes, limits).filter_map(Result::ok).collect()
        }
    }
}

fn server(d: &Dovecot) -> Vec<Vec<u8>> {
    maildir_messages(&d.dir().join("home/alice/Maildir"))
}

fn sorted(mut messages: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    messages.sort();
    messages
}

enum Destination {
    Maildir(PathBuf),
    Mbox(PathBuf),
}

impl Destination {
    fn config_line(&self) -> String {
        match self {
            Destination::Maildir(p) => format!("maildir = {p:?}"),
            Destination::Mbox(p) => format!("mbox = {p:?}"),
        }
    }
}

/// xorshift64*: deterministic for a seed, which the test prints.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Kill a download at a random point `KILLS` times, each time checking that nothing is lost,
/// then letting a rerun complete and checking that everything is stored once.
fn kill_at_random_points(mbox: bool, delete: bool) {
    let started = Instant::now();
    let seed = std::env::var("POSTINO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1;
    eprintln!("POSTINO_CRASH_SEED={seed}");
    let mut random = Random(seed);
    let mails = generated_mailbox(MESSAGES, 16);
    let all = sorted(mails.iter().map(|m| normalize_eml(m)).collect());
    let dir = temp(&format!(
        "{}-{}",
        if mbox { "mbox" } else { "maildir" },
        delete
    ));
    let mut d = dovecot_with(mails.clone());

    // How long a whole download takes, so that kills land anywhere in one.
    let full = {
        let destination = Destination::Maildir(dir.join("calibrate"));
        let config = write_config(&dir, &d, &destination.config_line(), false);
        let t = Instant::now();
        run_to_completion(&config);
        t.elapsed()
    };

    let mut kills = 0;
    let mut round = 0;
    while kills < KILLS {
        round += 1;
        if delete && round > 1 {
            // The last round emptied the server.
            d = dovecot_with(mails.clone());
        }
        let destination = if mbox {
            Destination::Mbox(dir.join(format!("{round}.mbox")))
        } else {
            Destination::Maildir(dir.join(format!("Mail{round}")))
        };
        let config = write_config(&dir, &d, &destination.config_line(), delete);
        let mut child = postino(&config).spawn().unwrap();
        // Within the first three quarters: later runs are quicker than the first, cold one.
        let delay = Duration::from_micros(random.below(full.as_micros() as u64 * 3 / 4));
        thread::sleep(delay);
        let killed = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if killed {
            kills += 1;
        }

        // Nothing lost: stored first (the dead CLI adds nothing), then the server (which only
        // shrinks, and deletes nothing that was not stored before).
        let mut held = stored(&destination);
        held.extend(server(&d));
        let held = sorted(held);
        let missing = all
            .iter()
            .filter(|m| held.binary_search(m).is_err())
            .count();
        assert_eq!(missing, 0, "round {round}: lost after a kill at {delay:?}");

        run_to_completion(&config);
        assert!(
            sorted(stored(&destination)) == all,
            "round {round}: after a kill at {delay:?} and a rerun, the store does not hold \
             every message exactly once ({} stored, {} on the server)",
            stored(&destination).len(),
            all.len()
        );
        let on_server = sorted(server(&d));
        if delete {
            assert!(
                on_server.is_empty(),
                "round {round}: {} left",
                on_server.len()
            );
        } else {
            assert!(on_server == all, "round {round}: the server changed");
        }
    }
    eprintln!(
        "{kills} kills in {round} rounds of {MESSAGES} messages (a whole download: {full:?}) in {:?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn killed_anywhere_into_maildir_keeping_mail_on_the_server() {
    kill_at_random_points(false, false);
}

#[test]
fn killed_anywhere_into_maildir_deleting_after_download() {
    kill_at_random_points(false, true);
}

#[test]
fn killed_anywhere_into_mbox_keeping_mail_on_the_server() {
    kill_at_random_points(true, false);
}

#[test]
fn killed_anywhere_into_mbox_deleting_after_download() {
    kill_at_random_points(true, true);
}
