//! The `postino` binary against a real Dovecot: fetch into Maildir and into mbox, again with
//! nothing new, and `--serverinfo`.

mod common;

use std::path::{Path, PathBuf};

use common::{dovecot, mails, temp, text, tls_server};
use postino_sync::mailbox::mbox::normalize_eml;
use postino_testkit::Dovecot;

/// `raw` with every CRLF made LF.
fn crlf_to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, &b) in raw.iter().enumerate() {
        if !(b == b'\r' && raw.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

fn write_config(dir: &Path, d: &Dovecot, destination: &str) -> PathBuf {
    common::write_config(
        dir,
        &format!(
            "{}{destination}",
            tls_server(d.pop3s_port(), &d.fingerprint())
        ),
    )
}

/// The exit status and the output.
fn postino(config: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = common::postino(config).args(extra).output().unwrap();
    (out.status.code(), text(&out))
}

#[test]
fn fetches_into_maildir_once() {
    let d = dovecot();
    let dir = temp("maildir");
    let maildir = dir.join("Mail");
    let config = write_config(&dir, &d, &format!("maildir = {:?}", maildir));

    let (code, out) = postino(&config, &["--quiet"]);
    assert_eq!(code, Some(0), "new mail: {out}");
    assert!(out.contains(&format!("{} new", mails().len())), "{out}");
    let mut stored: Vec<Vec<u8>> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    stored.sort();
    // Maildir files have LF line endings, as mail readers expect: the server's messages
    // (CRLF, as POP3 sends them) with each CRLF made LF.
    let mut want: Vec<Vec<u8>> = mails().iter().map(|m| crlf_to_lf(m)).collect();
    want.sort();
    assert_eq!(stored, want);
    assert!(stored.iter().all(|m| !m.contains(&b'\r')));
    // Read back the way the CLI's store does, they are the bytes the server sent.
    let mut back: Vec<Vec<u8>> = stored.iter().map(|m| normalize_eml(m)).collect();
    back.sort();
    let mut sent = mails();
    sent.sort();
    assert_eq!(back, sent);

    let (code, out) = postino(&config, &["--quiet"]);
    assert_eq!(code, Some(1), "no new mail: {out}");
    assert!(out.contains("0 new"), "{out}");
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).unwrap().count(),
        mails().len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fetches_into_mbox_that_splits_back_into_the_messages() {
    let d = dovecot();
    let dir = temp("mbox");
    let mbox = dir.join("inbox.mbox");
    let config = write_config(&dir, &d, &format!("mbox = {:?}", mbox));
    let (code, out) = postino(&config, &["--quiet"]);
    assert_eq!(code, Some(0), "{out}");
    let text = std::fs::read(&mbox).unwrap();
    let starts = text
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"From "))
        .count();
    assert_eq!(starts, mails().len());
    let (code, out) = postino(&config, &["--quiet"]);
    assert!(code == Some(1) && out.contains("0 new"), "{out}");
    assert_eq!(
        std::fs::read(&mbox).unwrap(),
        text,
        "nothing appended twice"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn serverinfo_prints_capabilities() {
    let d = dovecot();
    let dir = temp("info");
    let config = write_config(&dir, &d, &format!("maildir = {:?}", dir.join("M")));
    let (code, out) = postino(&config, &["--serverinfo"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("UIDL") && out.contains("after login"), "{out}");
    assert!(
        out.contains(&format!("{} messages", mails().len())),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_wrong_password_says_so_and_fails() {
    let d = dovecot();
    let dir = temp("badpw");
    let config = write_config(&dir, &d, &format!("maildir = {:?}", dir.join("M")));
    let out = common::postino(&config)
        .env("POSTINO_TEST_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a failure retrying will not fix"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("password"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
