//! `postino import-config` as a user runs it: files written private and never replaced without
//! `--force`, passwords only in their own files, a file it cannot read refused, and a
//! fetchmailrc for the real Dovecot that, imported, fetches the mail.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{dovecot, mails, temp, text};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn import(dir: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_postino"))
        .arg("import-config")
        .args(args)
        .env("HOME", dir)
        .env("USER", "me")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn writes_private_files_and_replaces_them_only_with_force() {
    let dir = temp("import");
    let out = dir.join("postino/accounts.toml");
    let rc = fixture("fetchmailrc-gmail");
    let o = import(
        &dir,
        &[rc.as_os_str(), "--output".as_ref(), out.as_os_str()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let password = dir.join("postino/pop.gmail.com.password");
    assert_eq!(
        std::fs::read_to_string(&password).unwrap(),
        "app password\n"
    );
    assert_eq!(mode(&password), 0o600);
    assert_eq!(mode(&out), 0o600);
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(!toml.contains("app password"), "{toml}");
    assert!(
        toml.contains(&format!(
            "password_file = {:?}",
            password.display().to_string()
        )),
        "{toml}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    for line in [
        "postino: import-config: line 2: set no bouncemail: not translated",
        "postino: import-config: pop.gmail.com (line 5): keep: postino's ledger starts empty",
        &format!(
            "postino: import-config: warning: the password from {} is now also in {} (0600)",
            rc.display(),
            password.display()
        ),
        &format!(
            "postino: import-config: wrote 1 account to {}",
            out.display()
        ),
    ] {
        assert!(err.contains(line), "{line:?} not in:\n{err}");
    }

    // Again: nothing replaced, unless --force.
    std::fs::write(&password, "changed\n").unwrap();
    let o = import(&dir, &[rc.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{} exists: give --force to replace it",
            out.display()
        )),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&password).unwrap(), "changed\n");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = import(
        &dir,
        &[
            rc.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--force".as_ref(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&password).unwrap(),
        "app password\n"
    );
    assert_eq!(mode(&out), 0o600, "made private again");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn to_standard_output_no_password_is_written_anywhere() {
    let dir = temp("import-stdout");
    let o = import(&dir, &[fixture("getmailrc-maildir").as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        std::fs::read_to_string(fixture("getmailrc-maildir.toml"))
            .unwrap()
            .replace(
                "/home/me/.config",
                &dir.join("config").display().to_string()
            )
            .replace(
                "/home/me/getmailrc-maildir",
                &fixture("getmailrc-maildir").display().to_string()
            )
            .replace(
                "/home/me/Maildir",
                &dir.join("Maildir").display().to_string()
            )
    );
    assert!(!dir.join("config").exists(), "nothing written");
    assert!(
        text(&o).contains("a password is not written with the accounts to standard output"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_it_cannot_read_is_refused_and_nothing_is_written() {
    let dir = temp("import-refused");
    let out = dir.join("accounts.toml");
    for (name, says) in [
        ("fetchmailrc-broken", "line 2: a \" is not closed"),
        (
            "fetchmailrc-only-imap",
            "left out: proto imap: postino speaks POP3 only",
        ),
        ("getmailrc-sender", "getmail fills %(...) in per message"),
    ] {
        let o = import(
            &dir,
            &[fixture(name).as_os_str(), "-o".as_ref(), out.as_os_str()],
        );
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        assert!(text(&o).contains(says), "{name}: {}", text(&o));
        assert!(!out.exists(), "{name}");
    }
    let o = import(&dir, &[dir.join("missing").as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_imported_fetchmailrc_fetches_from_dovecot() {
    let d = dovecot();
    let dir = temp("import-fetch");
    let out = dir.join("delivered");
    std::fs::create_dir_all(&out).unwrap();
    let mda = dir.join("deliver");
    std::fs::write(&mda, "#!/bin/sh\ncat > \"$(mktemp \"$1/msg.XXXXXX\")\"\n").unwrap();
    std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rc = dir.join(".fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set daemon 600\n\
             poll localhost with proto POP3 port {}\n  \
             user \"alice\" there with password \"{}\" is me here\n  \
             ssl sslfingerprint \"{}\" keep\n  \
             mda \"{} {}\"\n",
            d.pop3s_port(),
            common::PASSWORD,
            d.fingerprint(),
            mda.display(),
            out.display()
        ),
    )
    .unwrap();
    let config = dir.join("postino/accounts.toml");
    let o = import(&dir, &[rc.as_os_str(), "-o".as_ref(), config.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_postino"))
        .arg("--config")
        .arg(&config)
        .arg("--quiet")
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), mails().len());
    std::fs::remove_dir_all(dir).unwrap();
}
