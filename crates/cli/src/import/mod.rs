//! `postino import-config FILE`: a `~/.fetchmailrc` or a getmailrc made into accounts.toml.
//!
//! - `fetchmail.rs`: fetchmail's own grammar (`poll ... user ... is ... here ...`);
//! - `getmail.rs`: getmail's INI file (`[retriever]`, `[destination]`, `[options]`);
//! - this file: what both produce ([`Imported`]), how it is written as TOML, and the notes.
//!
//! Translation is faithful where postino can do the same thing, and says so on a line of its
//! own where it cannot: an account postino cannot fetch (IMAP, ETRN, multidrop, a plugin) is
//! left out with the reason; an option it cannot honour is named with what postino does
//! instead. What is stricter in postino stays strict: the certificate is always checked, and a
//! password goes only over TLS (or to this machine). Passwords are never written into the
//! accounts file: each goes into a file of its own, 0600, named by `password_file`.

mod fetchmail;
mod getmail;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use postino_pop3::{Secret, Security};
use postino_sync::untrusted::display_text;

use crate::disk::{create_private_dir, private_file};
use crate::exit::Exit;

/// What the translation may depend on besides the file: fixed in tests.
pub struct Env {
    /// `$HOME`, for `~` in getmail paths and the default Maildir.
    pub home: PathBuf,
    /// The local user name (`$USER`): fetchmail's default local recipient.
    pub user: String,
    /// Where password files go (`<dir>/<account>.password`).
    pub password_dir: PathBuf,
}

/// One account as imported.
#[derive(Debug, Default)]
struct Account {
    name: String,
    host: String,
    port: Option<u16>,
    security: Security,
    user: String,
    password: Option<Secret<String>>,
    password_command: Option<String>,
    /// `auth = "..."` when not automatic.
    auth: Option<&'static str>,
    pinned_cert: Option<String>,
    destination: Destination,
    timeout: Option<u64>,
    delete: Delete,
    max_per_session: Option<u64>,
}

#[derive(Debug, Default)]
enum Destination {
    #[default]
    None,
    Maildir(PathBuf),
    Mbox(PathBuf),
    /// A command line postino splits itself.
    MdaLine(String),
    /// An argv (a shell wrapper, or getmail's `path` and `arguments`).
    MdaArgv(Vec<String>),
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Delete {
    #[default]
    Leave,
    AfterDownload,
    AfterDays(u32),
}

/// The result of one import: the accounts.toml text, the password files to write with it, and
/// what could not be translated, one sentence each.
pub struct Translation {
    pub toml: String,
    /// `(file, password)`: each written 0600.
    pub passwords: Vec<(PathBuf, Secret<String>)>,
    pub notes: Vec<String>,
    /// How many accounts were written.
    pub accounts: usize,
}

impl Translation {
    /// Why nothing is to be written, if no account could be translated (the notes say why).
    pub fn refusal(&self, source: &Path) -> Option<String> {
        (self.accounts == 0).then(|| {
            format!(
                "{}: no account in it that postino can fetch",
                source.display()
            )
        })
    }
}

/// The largest file read: rc files are a few KB; this bounds memory.
const MAX_FILE: u64 = 1024 * 1024;

/// `postino import-config FILE [--output OUT] [--force]`: translate, print the notes on
/// standard error, and write the accounts (to OUT or standard output) and the password files
/// beside OUT (never over an existing file without `force`).
pub fn run(file: &Path, output: Option<&Path>, force: bool) -> Exit {
    let say = |text: &str| eprintln!("postino: import-config: {}", display_text(text));
    let text = match read_bounded(file) {
        Ok(t) => t,
        Err(e) => {
            say(&e);
            return Exit::Usage;
        }
    };
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(|| Some(home.file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "root".to_owned());
    let password_dir = match output {
        Some(out) => out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        None => crate::default_config()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    // Absolute, so that the accounts file works from any directory.
    let password_dir = std::path::absolute(&password_dir).unwrap_or(password_dir);
    let env = Env {
        home,
        user,
        password_dir,
    };
    let t = match translate(&text, file, &env) {
        Ok(t) => t,
        Err(e) => {
            say(&format!("cannot translate {}: {e}", file.display()));
            return Exit::Usage;
        }
    };
    for note in &t.notes {
        say(note);
    }
    if let Some(refusal) = t.refusal(file) {
        say(&format!("cannot translate {refusal}"));
        return Exit::Usage;
    }
    let Some(out) = output else {
        for (path, _) in &t.passwords {
            say(&format!(
                "a password is not written with the accounts to standard output: put it into                  {} (chmod 600), or run again with --output",
                path.display()
            ));
        }
        print!("{}", t.toml);
        return Exit::NewMail;
    };
    let existing: Vec<&Path> = std::iter::once(out)
        .chain(t.passwords.iter().map(|(p, _)| p.as_path()))
        .filter(|p| p.exists())
        .collect();
    if !force && !existing.is_empty() {
        for p in existing {
            say(&format!(
                "{} exists: give --force to replace it",
                p.display()
            ));
        }
        return Exit::Usage;
    }
    let write = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let mut f = private_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        // An existing file keeps its mode when opened: make it private all the same.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()
    };
    for (path, password) in &t.passwords {
        if let Err(e) = write(path, format!("{}\n", password.expose()).as_bytes()) {
            say(&format!("cannot write {}: {e}", path.display()));
            return Exit::Failed;
        }
        say(&format!(
            "warning: the password from {} is now also in {} (0600): keep it private, and              delete it from {} once postino works",
            file.display(),
            path.display(),
            file.display()
        ));
    }
    if let Err(e) = write(out, t.toml.as_bytes()) {
        say(&format!("cannot write {}: {e}", out.display()));
        return Exit::Failed;
    }
    say(&format!(
        "wrote {} account{} to {}",
        t.accounts,
        if t.accounts == 1 { "" } else { "s" },
        out.display()
    ));
    Exit::NewMail
}

fn read_bounded(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is over {} KiB: not a fetchmailrc or getmailrc",
            file.display(),
            MAX_FILE / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))
}

/// The kind of file `text` is: a getmailrc opens with a `[section]`.
fn is_getmailrc(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .is_some_and(|l| l.starts_with('['))
}

/// Translate the fetchmailrc or getmailrc `text`, read from `source`. An error means the file
/// could not be understood; a translation of no account ([`Translation::refusal`]) is not to be
/// written either.
pub fn translate(text: &str, source: &Path, env: &Env) -> Result<Translation, String> {
    let mut notes = Vec::new();
    let (kind, accounts) = if is_getmailrc(text) {
        ("getmailrc", getmail::parse(text, source, env, &mut notes)?)
    } else {
        ("fetchmailrc", fetchmail::parse(text, env, &mut notes)?)
    };
    let mut toml = format!(
        "# Imported by `postino import-config` from {} ({kind}).\n\
         # Check each account and the notes it printed, then run `postino`.\n",
        source.display()
    );
    let mut passwords = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for mut account in accounts {
        // Names are keys (the ledger, the state folder): unique, and a file name.
        let base = account.name.replace('/', "_");
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.push(name.clone());
        account.name = name;
        if account.password.is_none() && account.password_command.is_none() {
            notes.push(format!(
                "{}: no password in the file: put it in {} (chmod 600), or give \
                 password_command",
                account.name,
                password_file(env, &account.name).display()
            ));
        }
        write_account(&mut toml, &account, env);
        if let Some(p) = account.password.take() {
            passwords.push((password_file(env, &account.name), p));
        }
    }
    Ok(Translation {
        toml,
        passwords,
        notes,
        accounts: names.len(),
    })
}

fn password_file(env: &Env, account: &str) -> PathBuf {
    env.password_dir.join(format!("{account}.password"))
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn write_account(out: &mut String, a: &Account, env: &Env) {
    let path = |p: &Path| quoted(&p.to_string_lossy());
    let _ = writeln!(out, "\n[[account]]");
    let _ = writeln!(out, "name = {}", quoted(&a.name));
    let _ = writeln!(out, "host = {}", quoted(&a.host));
    if let Some(port) = a.port {
        let _ = writeln!(out, "port = {port}");
    }
    let _ = writeln!(out, "security = {}", quoted(a.security.as_str()));
    let _ = writeln!(out, "user = {}", quoted(&a.user));
    match &a.password_command {
        Some(c) => {
            let _ = writeln!(out, "password_command = {}", quoted(c));
        }
        None => {
            let _ = writeln!(
                out,
                "password_file = {}",
                path(&password_file(env, &a.name))
            );
        }
    }
    if let Some(auth) = a.auth {
        let _ = writeln!(out, "auth = {}", quoted(auth));
    }
    if let Some(pin) = &a.pinned_cert {
        let _ = writeln!(out, "pinned_cert = {}", quoted(pin));
    }
    match &a.destination {
        Destination::None => {}
        Destination::Maildir(p) => {
            let _ = writeln!(out, "maildir = {}", path(p));
        }
        Destination::Mbox(p) => {
            let _ = writeln!(out, "mbox = {}", path(p));
        }
        Destination::MdaLine(line) => {
            let _ = writeln!(out, "mda = {}", quoted(line));
        }
        Destination::MdaArgv(argv) => {
            let words: Vec<String> = argv.iter().map(|w| quoted(w)).collect();
            let _ = writeln!(out, "mda = [{}]", words.join(", "));
        }
    }
    if let Some(t) = a.timeout {
        let _ = writeln!(out, "timeout = {t}");
    }
    if a.delete != Delete::Leave || a.max_per_session.is_some() {
        let _ = writeln!(out, "[account.policy]");
        match a.delete {
            Delete::Leave => {}
            Delete::AfterDownload => {
                let _ = writeln!(out, "delete = {{ kind = \"after_download\" }}");
            }
            Delete::AfterDays(d) => {
                let _ = writeln!(out, "delete = {{ kind = \"after_days\", days = {d} }}");
            }
        }
        if let Some(m) = a.max_per_session {
            let _ = writeln!(out, "max_per_session = {m}");
        }
    }
}

/// fetchmail's and getmail's `mda`: the line as postino splits it when it can, else run by a
/// shell as both of them do.
fn mda_destination(command: &str, notes: &mut Vec<String>) -> Destination {
    match crate::mda::split_command(command) {
        Ok(_) => Destination::MdaLine(command.to_owned()),
        Err(_) => {
            notes.push(
                "the mda command uses shell syntax: written as mda = [\"/bin/sh\", \"-c\", \
                 ...] so that a shell runs it, as before"
                    .to_owned(),
            );
            Destination::MdaArgv(vec!["/bin/sh".into(), "-c".into(), command.to_owned()])
        }
    }
}

/// A SHA-256 fingerprint in postino's form (`AB:CD:...`), if `text` is one in hex, with or
/// without colons.
fn sha256_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .trim()
        .trim_start_matches("SHA256:")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| {
        hex.to_ascii_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
            .join(":")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn env() -> Env {
        Env {
            home: "/home/me".into(),
            user: "me".into(),
            password_dir: "/home/me/.config/postino".into(),
        }
    }

    /// Each `tests/fixtures/import/NAME` (a fetchmailrc or getmailrc) beside `NAME.toml`, the
    /// accounts.toml expected, and `NAME.notes`, the notes expected (one per line); or
    /// `NAME.refused`, part of the error. A mismatch writes `NAME.toml.failed`;
    /// `POSTINO_BLESS=1` writes what is given as expected instead (review it with git diff).
    #[test]
    fn fixtures_translate_to_the_expected_accounts_and_notes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import");
        let mut seen = 0;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none())
            .collect();
        entries.sort();
        for input in entries {
            seen += 1;
            let text = std::fs::read_to_string(&input).unwrap();
            let source = Path::new("/home/me").join(input.file_name().unwrap());
            let with = |ext: &str| {
                let mut p = input.clone().into_os_string();
                p.push(ext);
                PathBuf::from(p)
            };
            let result = translate(&text, &source, &env()).and_then(|t| match t.refusal(&source) {
                Some(refusal) => Err(format!("{refusal}: {}", t.notes.join("; "))),
                None => Ok(t),
            });
            if let Ok(refused) = std::fs::read_to_string(with(".refused")) {
                let err = result
                    .err()
                    .unwrap_or_else(|| panic!("{input:?} was translated"));
                assert!(err.contains(refused.trim()), "{input:?}: {err}");
                continue;
            }
            let t = result.unwrap_or_else(|e| panic!("{input:?}: {e}"));
            if std::env::var_os("POSTINO_BLESS").is_some() {
                // Write what it gives as expected, to review with git diff.
                std::fs::write(with(".toml"), &t.toml).unwrap();
                std::fs::write(with(".notes"), t.notes.join("\n") + "\n").unwrap();
            }
            let want = std::fs::read_to_string(with(".toml")).unwrap();
            if t.toml != want {
                std::fs::write(with(".toml.failed"), &t.toml).unwrap();
                panic!("{input:?}: TOML differs, see .toml.failed:\n{}", t.toml);
            }
            let notes = std::fs::read_to_string(with(".notes")).unwrap_or_default();
            let want_notes: Vec<&str> = notes.lines().collect();
            assert_eq!(t.notes, want_notes, "{input:?}");
            // What it wrote is an accounts file postino loads.
            let written = std::env::temp_dir().join(format!(
                "postino-import-{}-{}.toml",
                input.file_name().unwrap().to_string_lossy(),
                std::process::id()
            ));
            std::fs::write(&written, &t.toml).unwrap();
            let config = Config::load(&written).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(config.accounts.len(), t.accounts);
            for a in &config.accounts {
                a.destination().unwrap();
            }
            std::fs::remove_file(written).unwrap();
            // Passwords only in their files, never in the TOML.
            for (file, secret) in &t.passwords {
                assert!(file.starts_with("/home/me/.config/postino"));
                assert!(!t.toml.contains(&format!("\"{}\"", secret.expose())));
            }
        }
        assert!(seen >= 6, "only {seen} fixtures");
    }

    #[test]
    fn fingerprints_in_hex_become_postinos_form() {
        let hex = "ab".repeat(32);
        let want = vec!["AB"; 32].join(":");
        assert_eq!(sha256_fingerprint(&hex), Some(want.clone()));
        assert_eq!(sha256_fingerprint(&want.to_lowercase()), Some(want));
        // An MD5 fingerprint (fetchmail's) is not one.
        assert_eq!(sha256_fingerprint(&"ab:".repeat(16)), None);
    }
}
