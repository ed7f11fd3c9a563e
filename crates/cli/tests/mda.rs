//! `mda = "..."` against a real Dovecot, with real delivery agents (shell scripts): a message
//! is recorded only once the agent said 0; 75 keeps it for the next run; any other status is
//! reported with what the agent wrote, and nothing it did not take is ever deleted.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{dovecot, mails, temp, text, tls_server};
use postino_testkit::Dovecot;

/// An executable script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// An agent that writes each message into a new file of `out`.
fn delivering(dir: &Path, out: &Path) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    script(
        dir,
        "deliver",
        &format!("f=$(mktemp '{}/msg.XXXXXX') && cat > \"$f\"", out.display()),
    )
}

fn mda_config(dir: &Path, d: &Dovecot, mda: &Path, policy: &str) -> PathBuf {
    common::write_config(
        dir,
        &format!(
            "{}mda = [{:?}]\n{policy}",
            tls_server(d.pop3s_port(), &d.fingerprint()),
            mda.display().to_string()
        ),
    )
}

fn run(config: &Path, dir: &Path) -> Output {
    common::postino(config)
        .arg("--quiet")
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap()
}

/// The ledger of account `test`, in the state folder: one line per message delivered.
fn ledger_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("state/postino/test/ledger.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn delivered(out: &Path) -> Vec<Vec<u8>> {
    let mut got: Vec<Vec<u8>> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    got.sort();
    got
}

/// The fixtures as an agent gets them: LF line endings, no `From ` line.
fn as_given() -> Vec<Vec<u8>> {
    let mut want: Vec<Vec<u8>> = mails()
        .iter()
        .map(|m| postino_sync::mbox::lf_form(m))
        .collect();
    want.sort();
    want
}

/// How many messages the server holds.
fn on_server(d: &Dovecot) -> usize {
    ["new", "cur"]
        .iter()
        .filter_map(|s| std::fs::read_dir(d.dir().join("home/alice/Maildir").join(s)).ok())
        .map(|r| r.count())
        .sum()
}

#[test]
fn an_agent_that_says_0_gets_each_message_once() {
    let d = dovecot();
    let dir = temp("mda-ok");
    let out = dir.join("out");
    let config = mda_config(&dir, &d, &delivering(&dir, &out), "");
    let o = run(&config, &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{} new", mails().len())),
        "{}",
        text(&o)
    );
    assert_eq!(delivered(&out), as_given());
    assert_eq!(ledger_lines(&dir), mails().len());
    let state = dir.join("state/postino/test");
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // No spool file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["ledger.jsonl", "lock"]);

    // Again: nothing new, nothing given to the agent twice.
    let o = run(&config, &dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("0 new"), "{}", text(&o));
    assert_eq!(delivered(&out).len(), mails().len());
    assert_eq!(
        on_server(&d),
        mails().len(),
        "left on the server by default"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_temporary_failure_keeps_the_message_for_the_next_run() {
    let d = dovecot();
    let dir = temp("mda-75");
    let out = dir.join("out");
    let busy = script(
        &dir,
        "busy",
        "cat > /dev/null; echo 'maildrop: mailbox locked, try later' >&2; exit 75",
    );
    let after_download = "[account.policy]\ndelete = { kind = \"after_download\" }\n";
    let o = run(&mda_config(&dir, &d, &busy, after_download), &dir);
    assert_eq!(o.status.code(), Some(75), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "could not deliver now (exit status 75, temporary): maildrop: mailbox locked, \
             try later; it stays on the server and is offered again at the next run"
        ),
        "{err}"
    );
    assert_eq!(ledger_lines(&dir), 0);
    assert_eq!(on_server(&d), mails().len());

    // The agent works again: everything arrives, once, and only then leaves the server.
    let o = run(
        &mda_config(&dir, &d, &delivering(&dir, &out), after_download),
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(delivered(&out), as_given());
    assert_eq!(ledger_lines(&dir), mails().len());
    assert_eq!(on_server(&d), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_refusal_is_reported_and_nothing_it_did_not_take_is_deleted() {
    let d = dovecot();
    let dir = temp("mda-1");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // Takes two messages, then refuses, saying so with a terminal escape in its words.
    let picky = script(
        &dir,
        "picky",
        &format!(
            "n=$(ls '{o}' | wc -l)\n\
             if [ \"$n\" -ge 2 ]; then printf 'procmail: \\033[2Jno such user\\n' >&2; exit 1; fi\n\
             cat > \"$(mktemp '{o}/msg.XXXXXX')\"",
            o = out.display()
        ),
    );
    let after_download = "[account.policy]\ndelete = { kind = \"after_download\" }\n";
    let config = mda_config(&dir, &d, &picky, after_download);
    for _ in 0..2 {
        let o = run(&config, &dir);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "postino: test: the MDA {} refused the message (exit status 1): procmail: [2Jno \
                 such user; it stays on the server",
                picky.display()
            )),
            "{err}"
        );
        assert!(!err.contains('\x1b'), "{err}");
        // The two it took are recorded; nothing is deleted on the server, not even those (the
        // session ended without QUIT).
        assert_eq!(delivered(&out).len(), 2);
        assert_eq!(ledger_lines(&dir), 2);
        assert_eq!(on_server(&d), mails().len());
    }

    let o = run(
        &mda_config(&dir, &d, &delivering(&dir, &out), after_download),
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(delivered(&out), as_given(), "each message once");
    assert_eq!(on_server(&d), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_hung_agent_is_stopped_at_mda_timeout_as_a_temporary_failure() {
    let d = dovecot();
    let dir = temp("mda-hung");
    let hung = script(&dir, "hung", "sleep 60");
    let config = common::write_config(
        &dir,
        &format!(
            "{}mda = [{:?}]\nmda_timeout = 1\n",
            tls_server(d.pop3s_port(), &d.fingerprint()),
            hung.display().to_string()
        ),
    );
    let started = std::time::Instant::now();
    let o = run(&config, &dir);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(75), "{}", text(&o));
    assert!(
        text(&o).contains("did not finish within 1 s and was stopped"),
        "{}",
        text(&o)
    );
    assert_eq!(ledger_lines(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}
