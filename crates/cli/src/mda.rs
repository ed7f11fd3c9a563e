//! Delivery through a mail delivery agent (`mda = "procmail -d me"`), as fetchmail's `mda` and
//! getmail's `MDA_external` do it: each message goes to a new run of the command on its
//! standard input, and the command's exit status decides what becomes of it.
//!
//! - 0: delivered. The store then writes the message's ledger line (durably) and only then may
//!   the runner delete it on the server.
//! - 75 (EX_TEMPFAIL of sysexits.h, what procmail, maildrop and dovecot-lda say for "try again
//!   later"), or no exit within the deadline (the command is then killed, with its process
//!   group): a temporary failure. Nothing is recorded, the message stays on the server and is
//!   offered again at the next run.
//! - anything else (a non-zero status, death by a signal, a command that cannot be started): a
//!   permanent failure, reported with what the command wrote (bounded, without terminal
//!   controls: it may echo the sender's text). Nothing is recorded or deleted.
//!
//! The command is split into words here and run without a shell (like getmail's
//! `MDA_external`, whose `path` and `arguments` are an argv): nothing in it is expanded, so a
//! `$` or a `;` cannot do what the user did not see, the exit status is the agent's own rather
//! than a shell's, and the deadline's kill reaches the agent itself. Single and double quotes
//! and backslashes group words as in `sh`; unquoted shell syntax (`$`, `|`, `;`, redirections,
//! globs, a leading `~`) is refused with a message, and fetchmail's `%T`/`%F` too (nothing is
//! substituted). A pipeline can still be had explicitly with `sh -c '...'`.
//!
//! The message is what POP3 delivered with LF line endings (as procmail, maildrop and
//! dovecot-lda expect on a Unix system, and as fetchmail and getmail hand it to an MDA), and no
//! `From ` line and no added header (getmail's `unixfrom` is off by default; fetchmail writes
//! none to an MDA either; `procmail -d` and maildrop make their own envelope line). It is
//! written to an unlinked file first and given as standard input from that file, so the agent
//! always reads a whole message: were `postino` killed mid-way, a pipe would end early and the
//! agent could deliver half a message.

use std::fs;
use std::io::{self, Seek, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use postino_sync::untrusted::display_text;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::disk::private_file;

/// The deadline of one delivery unless `mda_timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// How much of what the agent writes (standard output and error together) is kept to report.
const KEPT_OUTPUT: usize = 2048;

/// After the agent exits, how long its output may still take to close (a child it left
/// behind may hold it open).
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// The delivery agent of an account: its argv and deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mda {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// Variables of the environment the agent does not inherit: the accounts' `password_env`.
    pub hidden_env: Vec<String>,
}

/// What became of one message given to the agent.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Exit 75, or the deadline: keep it for the next run. The sentence says why.
    Temporary(String),
    /// Anything else: reported, kept on the server.
    Refused(String),
}

/// Split `line` into words as `sh` would, without expanding anything; see the module doc.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a ' is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("a \" is not closed".into()),
                        },
                        Some(c @ ('$' | '`')) => return Err(unexpanded(c)),
                        Some(c) => w.push(c),
                        None => return Err("a \" is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("a \\ ends the command".into()),
            },
            '$' | '`' | '|' | ';' | '&' | '<' | '>' | '(' | ')' | '*' | '?' => {
                return Err(unexpanded(c))
            }
            '~' if word.is_none() => return Err(unexpanded(c)),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    if let Some(w) = words.iter().find(|w| w.contains("%T") || w.contains("%F")) {
        return Err(format!(
            "{w:?}: %T and %F are fetchmail's; postino substitutes nothing: write the user name \
             (procmail -d me) or leave it out"
        ));
    }
    Ok(words)
}

fn unexpanded(c: char) -> String {
    format!(
        "'{c}': the command runs without a shell, so nothing in it is expanded or redirected; \
         quote the character, or write mda = \"sh -c '...'\" to have a shell"
    )
}

impl Mda {
    /// Give `message` (LF line endings) to a new run of the agent, with the spool file in
    /// `spool_dir`; see the module doc for what each outcome means.
    pub async fn deliver(&self, message: &[u8], spool_dir: &Path) -> Delivery {
        let program = display_text(&self.argv[0]).into_owned();
        let stdin = match spool(message, spool_dir) {
            Ok(f) => f,
            Err(e) => {
                return Delivery::Temporary(format!(
                    "cannot write the message for the MDA into {}: {e}",
                    spool_dir.display()
                ))
            }
        };
        let mut command = Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(Stdio::from(stdin))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that the deadline's kill reaches what it started.
            .process_group(0)
            .kill_on_drop(true);
        for var in &self.hidden_env {
            command.env_remove(var);
        }
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) => return Delivery::Refused(format!("cannot run the MDA {program}: {e}")),
        };
        let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
            return Delivery::Refused(format!("cannot read the output of the MDA {program}"));
        };
        let mut kept = Vec::new();
        let (mut out_buf, mut err_buf) = ([0u8; 1024], [0u8; 1024]);
        let (mut out_open, mut err_open) = (true, true);
        let mut status = None;
        let deadline = tokio::time::sleep(self.timeout);
        tokio::pin!(deadline);
        let keep = |kept: &mut Vec<u8>, bytes: &[u8]| {
            let room = KEPT_OUTPUT.saturating_sub(kept.len());
            kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        };
        while status.is_none() || out_open || err_open {
            tokio::select! {
                s = child.wait(), if status.is_none() => {
                    status = Some(s);
                    // What is left of the output gets a moment, no more.
                    let grace = tokio::time::Instant::now() + OUTPUT_GRACE;
                    if grace < deadline.deadline() {
                        deadline.as_mut().reset(grace);
                    }
                }
                n = out.read(&mut out_buf), if out_open => match n {
                    Ok(n @ 1..) => keep(&mut kept, &out_buf[..n]),
                    _ => out_open = false,
                },
                n = err.read(&mut err_buf), if err_open => match n {
                    Ok(n @ 1..) => keep(&mut kept, &err_buf[..n]),
                    _ => err_open = false,
                },
                () = &mut deadline => break,
            }
        }
        let said = said(&kept);
        let status = match status {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                return Delivery::Refused(format!("cannot wait for the MDA {program}: {e}"))
            }
            None => {
                kill_group(&mut child).await;
                return Delivery::Temporary(format!(
                    "the MDA {program} did not finish within {} s and was stopped{said}",
                    self.timeout.as_secs()
                ));
            }
        };
        match status.code() {
            Some(0) => Delivery::Delivered,
            Some(75) => Delivery::Temporary(format!(
                "the MDA {program} could not deliver now (exit status 75, temporary){said}"
            )),
            Some(code) => Delivery::Refused(format!(
                "the MDA {program} refused the message (exit status {code}){said}"
            )),
            None => Delivery::Refused(format!("the MDA {program} was killed ({status}){said}")),
        }
    }
}

/// `message` in a new file of `dir`, already unlinked, read from its start.
fn spool(message: &[u8], dir: &Path) -> io::Result<fs::File> {
    let path = dir.join(format!("{SPOOL_PREFIX}{}", std::process::id()));
    let mut file = private_file()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    fs::remove_file(&path)?;
    file.write_all(message)?;
    file.rewind()?;
    Ok(file)
}

/// The spool files' names start with this; one left by a crash is removed at the next start.
pub const SPOOL_PREFIX: &str = "spool-";

/// Kill the agent's process group (itself and what it started), and reap it.
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

/// What the agent wrote, for the report: `: <text>` on one line, or nothing.
fn said(kept: &[u8]) -> String {
    let text = String::from_utf8_lossy(kept);
    let text = display_text(text.trim());
    if text.is_empty() {
        return String::new();
    }
    let cut = if kept.len() >= KEPT_OUTPUT {
        " …"
    } else {
        ""
    };
    format!(": {text}{cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_command(line).unwrap()
    }

    #[test]
    fn commands_split_like_sh_without_expanding() {
        assert_eq!(
            words("/usr/bin/procmail -d me"),
            ["/usr/bin/procmail", "-d", "me"]
        );
        assert_eq!(
            words(r#"maildrop -d "John Doe" 'a b'\ c"#),
            ["maildrop", "-d", "John Doe", "a b c"]
        );
        assert_eq!(
            words(r#"sh -c 'cat > "$HOME/x"; exit 75'"#),
            ["sh", "-c", r#"cat > "$HOME/x"; exit 75"#]
        );
        assert_eq!(words(r#"a "q\"\$\x" '' b"#), ["a", r#"q"$\x"#, "", "b"]);
        assert_eq!(words("  a\tb  "), ["a", "b"]);
    }

    #[test]
    fn shell_syntax_and_fetchmail_escapes_are_refused_with_a_reason() {
        for (line, says) in [
            ("procmail -d $USER", "'$'"),
            ("procmail | tee", "'|'"),
            ("a; b", "';'"),
            ("a > f", "'>'"),
            ("~/bin/mda", "'~'"),
            ("a \"$HOME\"", "'$'"),
            ("a 'b", "' is not closed"),
            ("a \"b", "\" is not closed"),
            ("a \\", "ends the command"),
            ("   ", "empty"),
            ("/usr/bin/procmail -d %T", "%T and %F are fetchmail's"),
        ] {
            let err = split_command(line).unwrap_err();
            assert!(err.contains(says), "{line}: {err}");
        }
        assert!(split_command("a~b x=~").is_ok());
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("postino-mda-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn run(script: &str, timeout: Duration, dir: &Path) -> Delivery {
        let mda = Mda {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            timeout,
            hidden_env: Vec::new(),
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(mda.deliver(b"Subject: x\n\nbody\n", dir))
    }

    #[test]
    fn exit_statuses_mean_delivered_temporary_or_refused() {
        let dir = temp("status");
        let out = dir.join("got");
        let script = format!("cat > '{}'", out.display());
        assert_eq!(run(&script, DEFAULT_TIMEOUT, &dir), Delivery::Delivered);
        assert_eq!(fs::read(&out).unwrap(), b"Subject: x\n\nbody\n");
        // The spool file is gone, even though the agent read it.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

        match run("echo 'quota \x1b[31m' >&2; exit 75", DEFAULT_TIMEOUT, &dir) {
            Delivery::Temporary(t) => assert!(
                t.ends_with("(exit status 75, temporary): quota [31m"),
                "{t}"
            ),
            other => panic!("{other:?}"),
        }
        match run("echo no such user; exit 67", DEFAULT_TIMEOUT, &dir) {
            Delivery::Refused(t) => {
                assert!(t.ends_with("(exit status 67): no such user"), "{t}")
            }
            other => panic!("{other:?}"),
        }
        // A flood of output is kept to a bound.
        match run(
            "yes 'error line' | head -c 1000000 >&2; exit 1",
            DEFAULT_TIMEOUT,
            &dir,
        ) {
            Delivery::Refused(t) => {
                assert!(t.len() < KEPT_OUTPUT + 200 && t.ends_with(" …"), "{t}")
            }
            other => panic!("{other:?}"),
        }
        let mda = Mda {
            argv: vec!["/nonexistent/procmail".into()],
            timeout: DEFAULT_TIMEOUT,
            hidden_env: Vec::new(),
        };
        let r = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(mda.deliver(b"x\n", &dir));
        assert!(
            matches!(&r, Delivery::Refused(t) if t.starts_with("cannot run the MDA /nonexistent/procmail")),
            "{r:?}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_agent_does_not_inherit_the_password_variables() {
        // Cargo sets this one for the test process; it stands for a `password_env`.
        let var = "CARGO_MANIFEST_DIR";
        assert!(std::env::var_os(var).is_some());
        let dir = temp("env");
        let script = format!("[ -z \"${{{var}+set}}\" ] || {{ echo {var} is visible; exit 67; }}");
        let deliver = |hidden_env: Vec<String>| {
            let mda = Mda {
                argv: vec!["sh".into(), "-c".into(), script.clone()],
                timeout: DEFAULT_TIMEOUT,
                hidden_env,
            };
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(mda.deliver(b"x\n", &dir))
        };
        assert_eq!(deliver(vec![var.into()]), Delivery::Delivered);
        assert!(matches!(deliver(Vec::new()), Delivery::Refused(t) if t.contains("is visible")));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_hung_agent_is_killed_with_its_children_at_the_deadline() {
        let dir = temp("hung");
        let started = std::time::Instant::now();
        // The shell's child (sleep) holds the output open: it must die too.
        let pidfile = dir.join("pid");
        let script = format!("sleep 30 & echo $! > '{}'; wait", pidfile.display());
        match run(&script, Duration::from_secs(1), &dir) {
            Delivery::Temporary(t) => {
                assert!(
                    t.contains("did not finish within 1 s and was stopped"),
                    "{t}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = fs::read_to_string(&pidfile).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // Gone, or a zombie waiting for a parent that reaps (killed all the same).
        let alive = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        assert!(!alive, "the agent's child {pid} outlived the deadline");
        // An agent that exits but leaves a child holding its output is done at once.
        let started = std::time::Instant::now();
        assert_eq!(
            run("sleep 5 & exit 0", DEFAULT_TIMEOUT, &dir),
            Delivery::Delivered
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        fs::remove_dir_all(dir).unwrap();
    }
}
