//! The `postino` binary run the way cron runs it, against a real Dovecot: what it creates is
//! private whatever the umask, secrets readable by others are warned about, two runs on one
//! destination do not overlap, and a damaged ledger stops the run instead of being cut.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod common;

use common::{dovecot, gated_proxy, mails, temp, text, tls_server, wait_for};

fn write_config(dir: &Path, port: u16, fingerprint: &str, destination: &str) -> PathBuf {
    common::write_config(
        dir,
        &format!("{}{destination}", tls_server(port, fingerprint)),
    )
}

/// The binary under umask 0, so that only the modes it asks for count.
fn command(config: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 0; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_postino"))
        .arg("--config")
        .arg(config)
        .args(extra)
        .env("POSTINO_TEST_PASSWORD", "pw")
        .stdin(Stdio::null());
    c
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn what_a_fetch_creates_is_private_whatever_the_umask() {
    let d = dovecot();
    let dir = temp("modes");
    let maildir = dir.join("Mail/work");
    let config = write_config(
        &dir,
        d.pop3s_port(),
        &d.fingerprint(),
        &format!("maildir = {maildir:?}"),
    );
    let out = command(&config, &["--quiet"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for d in [dir.join("Mail"), maildir.clone()]
        .into_iter()
        .chain(["tmp", "new", "cur"].map(|s| maildir.join(s)))
    {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let files: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), mails().len());
    for f in files
        .into_iter()
        .chain([".postino-ledger.jsonl", ".postino.lock"].map(|s| maildir.join(s)))
    {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }

    let mbox = dir.join("Boxes/in.mbox");
    let config = write_config(
        &dir,
        d.pop3s_port(),
        &d.fingerprint(),
        &format!("mbox = {mbox:?}"),
    );
    let out = command(&config, &["--quiet"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(mode(&dir.join("Boxes")), 0o700);
    for f in [
        "in.mbox",
        "in.mbox.postino-ledger.jsonl",
        "in.mbox.postino.lock",
    ] {
        assert_eq!(mode(&dir.join("Boxes").join(f)), 0o600, "{f}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_config_or_password_file_readable_by_others_is_warned_about() {
    let dir = temp("warn");
    // Nobody listens there: the run fails after the warnings, which come first.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = dir.join("secret");
    std::fs::write(&secret, "pw\n").unwrap();
    let config = dir.join("accounts.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nname = \"test\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
             user = \"alice\"\npassword_file = {secret:?}\nmaildir = {:?}\n",
            dir.join("Mail")
        ),
    )
    .unwrap();
    let run = || {
        let out = command(&config, &["--quiet"]).output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = run();
    for (file, mode) in [(&config, "644"), (&secret, "640")] {
        let file = file.display();
        assert!(
            err.contains(&format!(
                "postino: warning: {file} holds secrets and is readable by group or others \
                 (mode {mode}): run chmod 600 {file}"
            )),
            "{err}"
        );
    }
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o400)).unwrap();
    let err = run();
    assert!(!err.contains("warning"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_second_run_on_one_destination_waits_or_skips_with_no_wait() {
    let d = dovecot();
    let dir = temp("overlap");
    let maildir = dir.join("Mail");
    let open = Arc::new(AtomicBool::new(false));
    let (port, accepted) = gated_proxy(d.pop3s_port(), open.clone());
    let config = write_config(
        &dir,
        port,
        &d.fingerprint(),
        &format!("maildir = {maildir:?}"),
    );
    let spawn = |extra: &[&str]| {
        command(&config, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The first run has the lock once it connects (the lock comes before the connection), and
    // keeps it while the proxy holds its connection.
    let first = spawn(&["--quiet"]);
    wait_for("the first run connects", || {
        accepted.load(Ordering::SeqCst) == 1
    });

    let out = command(&config, &["--no-wait"]).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "postino: test: another postino is fetching into this destination (it holds {}): \
             skipped",
            maildir.join(".postino.lock").display()
        )),
        "{err}"
    );

    let mut second = spawn(&["--wait"]);
    // It waits: it says so, and does not connect while the first holds the lock.
    thread::sleep(Duration::from_millis(500));
    assert!(second.try_wait().unwrap().is_none(), "the second run ended");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    open.store(true, Ordering::SeqCst);

    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains(&format!("{} new", mails().len())),
        "{}",
        text(&first)
    );
    let second = second.wait_with_output().unwrap();
    let out = text(&second);
    assert_eq!(second.status.code(), Some(1), "no new mail: {out}");
    assert!(out.contains("waiting for it to finish"), "{out}");
    assert!(out.contains("0 new"), "{out}");
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).unwrap().count(),
        mails().len(),
        "nothing stored twice"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_ledger_line_stops_the_run_and_a_torn_last_one_is_cut() {
    let d = dovecot();
    let dir = temp("ledger");
    let maildir = dir.join("Mail");
    let config = write_config(
        &dir,
        d.pop3s_port(),
        &d.fingerprint(),
        &format!("maildir = {maildir:?}"),
    );
    let out = command(&config, &["--quiet"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ledger = maildir.join(".postino-ledger.jsonl");
    let good = std::fs::read_to_string(&ledger).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines.len() >= 3, "{good}");

    // The second line damaged (a disk error, an editor): the run stops, the ledger stays.
    let mut damaged_lines = lines.clone();
    damaged_lines[1] = "{\"op\":\"commit\",\"entr";
    let damaged = damaged_lines.join("\n") + "\n";
    std::fs::write(&ledger, &damaged).unwrap();
    let out = command(&config, &["--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: line 2 is damaged", ledger.display()))
            && err.contains("repair or delete line 2"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&ledger).unwrap(), damaged);
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).unwrap().count(),
        mails().len()
    );

    // A torn last line (a crash mid-write): cut, and the run goes on with nothing new.
    std::fs::write(&ledger, format!("{good}{{\"op\":\"comm")).unwrap();
    let out = command(&config, &["--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("0 new"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&ledger).unwrap(), good);
    std::fs::remove_dir_all(dir).unwrap();
}
